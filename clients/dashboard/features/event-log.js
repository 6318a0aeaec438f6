// The Events tab: the watched room's live event log (one line per event, summarized), with a
// filter, pause, clear, and audio-levels lines on demand; the page's own notes go in it too.

import { $, clock, el } from '../lib/dom.js';

/** Lines kept in the list; older ones are dropped. */
const LOG_LIMIT = 400;

/** The colour group of an event's line (data-kind); anything else is "other". */
const KINDS = {
  'speech-started': 'speech', 'speech-stopped': 'speech', 'active-speaker-changed': 'speech',
  'participant-joined': 'people', 'participant-left': 'people', 'participant-updated': 'people',
  'app-message': 'message', 'transcription-message': 'message', error: 'error',
  'transcription-error': 'error', 'recording-error': 'error',
};

/** Binds the log's controls; returns serverEvent(event, data) and note(text) to write lines. */
export function createEventLog(store, { nameOf }) {
  const { state } = store;

  function line(event, detail, kind = KINDS[event] ?? 'other') {
    state.counters.events += 1;
    $('log-count').textContent = String(state.counters.events);
    if (state.log.paused) return;
    const row = el('li', { 'data-event': event, 'data-kind': kind },
      el('span', { class: 't', text: clock() }),
      el('span', { class: 'e', text: event }),
      el('span', { class: 'd', text: detail, title: detail }));
    if (state.log.filter && !`${event} ${detail}`.toLowerCase().includes(state.log.filter)) row.hidden = true;
    const list = $('log');
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
    list.append(row);
    while (list.children.length > LOG_LIMIT) list.firstElementChild.remove();
    if (stick) list.scrollTop = list.scrollHeight;
  }

  /** An event of the watched room; audio-levels lines only when "levels" is ticked. */
  function serverEvent(event, data) {
    if (event === 'audio-levels') {
      state.counters.levels += 1;
      if (!state.log.levels) return;
    }
    line(event, summarize(event, data, nameOf));
  }

  /** A line from the page itself (watching, joining, reconnecting...). */
  function note(text) {
    line('· dashboard', text, 'client');
  }

  $('log-filter').addEventListener('input', (event) => {
    state.log.filter = event.target.value.trim().toLowerCase();
    for (const row of $('log').children) row.hidden = !!state.log.filter && !row.textContent.toLowerCase().includes(state.log.filter);
  });
  $('log-levels').addEventListener('change', (event) => (state.log.levels = event.target.checked));
  $('log-pause').addEventListener('click', () => {
    state.log.paused = !state.log.paused;
    $('log-pause').textContent = state.log.paused ? 'Resume' : 'Pause';
    $('log-pause').classList.toggle('on', state.log.paused);
  });
  $('log-clear').addEventListener('click', () => $('log').replaceChildren());

  return { serverEvent, note };
}

/** One line of text for an event's data. */
export function summarize(event, data, nameOf) {
  switch (event) {
    case 'participant-joined':
    case 'participant-updated':
      return `${data.participant?.info?.userName ?? ''} ${data.participant?.id?.slice(0, 8) ?? ''}`;
    case 'participant-left':
      return `${data.participant?.info?.userName ?? ''} (${data.cause ?? data.reason})`;
    case 'speech-started':
    case 'speech-stopped':
      return `${nameOf(data.participant_id)} · track ${data.track}${data.offset_ms != null ? ` · ${data.offset_ms} ms` : ''}`;
    case 'active-speaker-changed':
      return data.participant ? data.participant.info?.userName ?? data.participant.id : 'nobody';
    case 'app-message':
      return `${nameOf(data.sender)}${data.to ? ` → ${nameOf(data.to)}` : ''}: ${JSON.stringify(data.message)}`;
    case 'track-started':
    case 'track-stopped':
      return `${nameOf(data.participant_id)} · ${data.source} · track ${data.track} · ${data.sample_rate ?? ''} Hz`;
    case 'transcription-message':
      return `${nameOf(data.message?.participantId)}: ${data.message?.text ?? ''}${data.message?.rawResponse?.is_final === false ? ' …' : ''}`;
    case 'audio-levels':
      return data.levels.map((l) => `${nameOf(l.participant_id)} ${l.level.toFixed(3)}${l.speaking ? ' ●' : ''}`).join('  ');
    default:
      return JSON.stringify(data);
  }
}
