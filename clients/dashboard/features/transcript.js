// The Transcript tab: transcription messages as they come (an interim one in grey, replaced by
// its final text), and the button that starts or stops the gateway transcribing the room. The
// button says what is true: "Starting…" / "Stopping…" until the gateway's transcription-started /
// -stopped, and a page opened while a transcription runs learns it from list-rooms' `transcriptions`.

import { $, clock, describeError, el, toast } from '../lib/dom.js';
import { Change } from '../lib/store.js';

const WORDS = {
  off: ['Start transcription', 'Not transcribing.'],
  starting: ['Starting…', 'Starting the speech recogniser (the first time takes a few seconds)…'],
  on: ['Stop transcription', 'Transcribing the room (offline speech recognition on the gateway).'],
  stopping: ['Stopping…', 'Stopping: the last words come first.'],
};

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

  /** off | starting | on | stopping: the button offers what can be done, the status line says what is. */
  function show(next) {
    const button = $('transcribe-btn');
    button.dataset.state = next;
    button.dataset.on = String(next === 'on' || next === 'stopping');
    button.textContent = WORDS[next][0];
    button.disabled = next === 'starting' || next === 'stopping';
    $('transcribe-state').textContent = WORDS[next][1];
  }

  /** transcription-started / -stopped. */
  function setRunning(on) {
    show(on ? 'on' : 'off');
  }

  const current = () => $('transcribe-btn').dataset.state;
  store.on(Change.ROOMS, () => {
    const listed = state.rooms.find((r) => r.room_url === state.selected)?.transcriptions;
    if (!listed || current() === 'starting' || current() === 'stopping') return;
    show(listed.length ? 'on' : 'off');
  });
  store.on(Change.WATCHING, () => show('off'));

  $('transcribe-btn').addEventListener('click', async () => {
    if (!state.me) {
      toast('join the room to start transcription (watching is read-only)');
      return;
    }
    const on = current() === 'on';
    show(on ? 'stopping' : 'starting');
    try {
      if (on) await state.me.request('stop-transcription');
      else await state.me.request('start-transcription', { settings: { extra: { interim_results: true } } });
    } catch (err) {
      show(on ? 'on' : 'off');
      toast(describeError(err));
    }
  });

  return { add, setRunning };
}
