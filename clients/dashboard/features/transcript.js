// The Transcript tab: transcription messages as they come (an interim one in grey, replaced by
// its final text), and the button that starts or stops the gateway transcribing the room.

import { $, clock, describeError, el, toast } from '../lib/dom.js';

/** Binds the transcription button; returns add(data) for transcription-message and setRunning(on). */
export function createTranscript(store, { nameOf }) {
  const { state } = store;
  const interim = new Map(); // participant id -> the <li> of their utterance in progress

  function add(data) {
    const message = data.message ?? data; // Daily's transcription message
    const id = message.participantId ?? message.participant_id ?? '';
    const text = message.text ?? '';
    const final = message.rawResponse?.is_final ?? message.is_final ?? true;
    if (!text) return;
    let item = interim.get(id);
    if (!item) {
      item = el('li', {}, el('div', { class: 'who' }), el('div', { class: 'text' }));
      $('transcript').append(item);
    }
    item.className = final ? 'final' : 'interim';
    item.firstChild.replaceChildren(el('b', { text: nameOf(id) }), ` · ${clock()}`);
    item.lastChild.textContent = text;
    if (final) {
      interim.delete(id);
      state.counters.transcripts += 1;
      $('tr-count').textContent = String(state.counters.transcripts);
    } else interim.set(id, item);
    $('transcript-empty').hidden = true;
    $('transcript').scrollTop = $('transcript').scrollHeight;
  }

  /** transcription-started / -stopped: the button offers the opposite. */
  function setRunning(on) {
    $('transcribe-btn').dataset.on = String(on);
    $('transcribe-btn').textContent = on ? 'Stop transcription' : 'Start transcription';
  }

  $('transcribe-btn').addEventListener('click', async () => {
    if (!state.me) {
      toast('join the room to start transcription (watching is read-only)');
      return;
    }
    const on = $('transcribe-btn').dataset.on === 'true';
    try {
      if (on) await state.me.request('stop-transcription');
      else await state.me.request('start-transcription', { settings: { extra: { interim_results: true } } });
    } catch (err) {
      toast(describeError(err));
    }
  });

  return { add, setRunning };
}
