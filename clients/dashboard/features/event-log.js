// The Events tab: the live event log of the watched rooms (one line per event, in plain words), with
// a filter, a room column and room filter, a participant filter (a click on a card), pause, clear,
// and audio-levels lines on demand; the page's own notes go in it too.
//
// Following: the log keeps the newest line in view until the user scrolls up (wheel, keys, touch or
// the scrollbar); then "Jump to latest" appears and brings it back. Only the user's own scrolling
// changes that, so a burst of lines, a hidden tab or trimmed old lines never stop it following.
// A line (a button: click, Enter or Space) opens to its event's whole payload. Level lines (10 a second) have
// their own budget, so that turning them on does not push the other events out after 40 s.

import { $, clock, el } from '../lib/dom.js';
import { Change } from '../lib/store.js';
import { roomLabel } from './room-list.js';
import { describeTurn } from './turns.js';

/** Lines kept: audio-levels lines (2 min of them at 10 a second) and all the others, each on its own. */
export const LEVEL_LINES = 1200;
export const OTHER_LINES = 1000;
/** How close to the bottom (px) counts as "at the latest line". */
const AT_BOTTOM_PX = 30;
/** A scroll this soon (ms) after the user's wheel, key, touch or pointer is the user's. */
const USER_SCROLL_MS = 800;

/** The colour group of an event's line (data-kind); anything else is "other". */
const KINDS = {
  'speech-started': 'speech', 'speech-stopped': 'speech', turn: 'speech', 'active-speaker-changed': 'speech', 'audio-levels': 'levels',
  'participant-joined': 'people', 'participant-left': 'people', 'participant-updated': 'people',
  'app-message': 'message', 'transcription-message': 'message', error: 'error',
  'transcription-error': 'error', 'recording-error': 'error', 'dialout-error': 'error', 'dialin-error': 'error',
  'dialout-connected': 'phone', 'dialout-answered': 'phone', 'dialout-stopped': 'phone', 'dialout-warning': 'phone',
  'dialin-ready': 'phone', 'dialin-connected': 'phone', 'dialin-stopped': 'phone', 'dialin-warning': 'phone', 'dtmf-event': 'phone',
};

/** Binds the log's controls; returns serverEvent(event, data) and note(text) to write lines. */
export function createEventLog(store, { nameOf }) {
  const { state } = store;
  const list = $('log');
  const payloads = new WeakMap(); // line -> the event's data, shown when the line is opened
  let following = true;
  let userScrolledAt = -Infinity;
  let scrollPending = false;

  function line(event, detail, { kind = KINDS[event] ?? 'other', data = null, people = [] } = {}) {
    state.counters.events += 1;
    $('log-count').textContent = String(state.counters.events);
    if (state.log.paused) return;
    const room = state.selected ?? '';
    // A line with a payload is a button (aria-expanded) that opens it below; a note is plain text.
    const cells = el(data !== null ? 'button' : 'div', { class: 'row' },
      el('span', { class: 't', text: clock() }),
      el('span', { class: 'r', text: room ? roomLabel(room) : '', title: room }),
      el('span', { class: 'e', text: event }),
      el('span', { class: 'd', text: detail, title: detail }));
    const row = el('li', { 'data-event': event, 'data-kind': kind, 'data-room': room, 'data-people': people.join(' ') }, cells);
    if (data !== null) {
      cells.type = 'button';
      cells.setAttribute('aria-expanded', 'false');
      payloads.set(row, data);
    }
    row.hidden = !shows(row);
    list.append(row);
    trim(kind === 'levels');
    if (following) scrollToLatest();
  }

  /** Drops the oldest lines of the budget a new line went into. */
  function trim(levels) {
    const selector = levels ? ':scope > li[data-kind="levels"]' : ':scope > li:not([data-kind="levels"])';
    const rows = list.querySelectorAll(selector);
    const excess = rows.length - (levels ? LEVEL_LINES : OTHER_LINES);
    for (let i = 0; i < excess; i++) rows[i].remove();
  }

  /** Whether a line passes the text, room and participant filters. */
  function shows(row) {
    const { filter, participant, room } = state.log;
    if (filter && !row.textContent.toLowerCase().includes(filter)) return false;
    if (room === 'watched' && row.dataset.room !== (state.selected ?? '')) return false;
    if (participant && !row.dataset.people.split(' ').includes(participant)) return false;
    return true;
  }

  function refilter() {
    for (const row of list.children) row.hidden = !shows(row);
    if (following) scrollToLatest();
  }

  /** Scrolls to the newest line once per frame, however many lines came in it. */
  function scrollToLatest() {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      if (following) list.scrollTop = list.scrollHeight;
    });
  }

  function setFollowing(on) {
    following = on;
    $('log-jump').hidden = on;
    if (on) scrollToLatest();
  }

  /** An event of the watched room; audio-levels lines only when "levels" is ticked. */
  function serverEvent(event, data) {
    if (event === 'audio-levels') {
      state.counters.levels += 1;
      if (!state.log.levels) return;
    }
    line(event, summarize(event, data, nameOf), { data, people: participantsOf(event, data) });
  }

  /** A line from the page itself (watching, joining, reconnecting...). */
  function note(text) {
    line('· dashboard', text, { kind: 'client' });
  }

  function toggle(row) {
    if (!payloads.has(row)) return;
    const button = row.firstElementChild;
    const open = button.getAttribute('aria-expanded') === 'true';
    button.setAttribute('aria-expanded', String(!open));
    if (open) row.querySelector('.payload')?.remove();
    else row.append(el('pre', { class: 'payload', text: JSON.stringify(payloads.get(row), null, 2) }));
  }

  // Following is the user's choice: only a scroll right after their own input changes it.
  const userInput = () => (userScrolledAt = performance.now());
  for (const type of ['wheel', 'touchstart', 'pointerdown']) list.addEventListener(type, userInput, { passive: true });
  list.addEventListener('keydown', (event) => {
    if (['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End'].includes(event.key)) userInput();
  });
  list.addEventListener('scroll', () => {
    if (performance.now() - userScrolledAt > USER_SCROLL_MS || !list.clientHeight) return;
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - AT_BOTTOM_PX;
    if (atBottom !== following) setFollowing(atBottom);
  });
  // Shown again (a tab, a panel on a phone, a resize): back at the latest line if following.
  new ResizeObserver(() => following && scrollToLatest()).observe(list);
  $('log-jump').addEventListener('click', () => setFollowing(true));

  list.addEventListener('click', (event) => {
    const button = event.target.closest('button.row');
    if (button) toggle(button.parentElement);
  });

  $('log-filter').addEventListener('input', (event) => {
    state.log.filter = event.target.value.trim().toLowerCase();
    refilter();
  });
  $('log-room').addEventListener('change', (event) => {
    state.log.room = event.target.value;
    refilter();
  });
  store.on(Change.WATCHING, () => state.log.room === 'watched' && refilter());
  store.on(Change.FOCUS, (id) => {
    state.log.participant = id;
    $('log-who').hidden = !id;
    $('log-who-name').textContent = id ? nameOf(id) : '';
    refilter();
  });
  $('log-who-clear').addEventListener('click', () => store.emit(Change.FOCUS, null));
  $('log-levels').addEventListener('change', (event) => (state.log.levels = event.target.checked));
  $('log-pause').addEventListener('click', () => {
    state.log.paused = !state.log.paused;
    $('log-pause').textContent = state.log.paused ? 'Resume' : 'Pause';
    $('log-pause').classList.toggle('on', state.log.paused);
  });
  $('log-clear').addEventListener('click', () => list.replaceChildren());

  return { serverEvent, note };
}

/** The participant ids an event is about, for the participant filter. */
export function participantsOf(event, data) {
  const ids = [data.participant_id, data.previous_participant_id, data.participant?.id, data.sender, data.to, data.message?.participantId,
    data.data?.sessionId, ...(data.levels ?? []).map((l) => l.participant_id)];
  return [...new Set(ids.filter((id) => typeof id === 'string' && id))];
}

/** One line of plain words for an event's data (the whole payload is one click away). */
export function summarize(event, data, nameOf) {
  const call = data.data ?? {};
  const other = call.phoneNumber ?? call.sipUri ?? call.sipFrom ?? '';
  switch (event) {
    case 'participant-joined':
    case 'participant-updated':
      return `${data.participant?.info?.userName || nameOf(data.participant?.id)}`;
    case 'participant-left':
      return `${data.participant?.info?.userName || nameOf(data.participant?.id)} (${data.cause ?? data.reason})`;
    case 'speech-started':
      return `${nameOf(data.participant_id)} started speaking`;
    case 'speech-stopped':
      return `${nameOf(data.participant_id)} stopped speaking`;
    case 'turn':
      return describeTurn(data, nameOf);
    case 'active-speaker-changed':
      return data.participant ? data.participant.info?.userName ?? nameOf(data.participant.id) : 'nobody';
    case 'app-message':
      return `${nameOf(data.sender)}${data.to ? ` → ${nameOf(data.to)}` : ''}: ${JSON.stringify(data.message)}`;
    case 'track-started':
    case 'track-stopped':
      return `${nameOf(data.participant_id)}'s ${data.source ?? data.kind}${data.sample_rate ? ` (${data.sample_rate / 1000} kHz)` : ''}`;
    case 'transcription-message':
      return `${nameOf(data.message?.participantId)}: ${data.message?.text ?? ''}${data.message?.rawResponse?.is_final === false ? ' …' : ''}`;
    case 'audio-levels':
      return data.levels.map((l) => `${nameOf(l.participant_id)} ${l.level.toFixed(3)}${l.speaking ? ' ●' : ''}`).join('  ');
    case 'dialout-connected':
      return `calling ${other}: ringing`;
    case 'dialout-answered':
      return `${other} answered`;
    case 'dialout-stopped':
    case 'dialin-stopped':
      return `call with ${other || nameOf(call.sessionId)} ended`;
    case 'dialout-error':
    case 'dialin-error':
      return `call ${other ? `with ${other} ` : ''}failed: ${call.errorMsg ?? 'unknown error'}`;
    case 'dialout-warning':
    case 'dialin-warning':
      return `call ${other ? `with ${other}` : ''}: ${call.errorMsg ?? 'warning'}`;
    case 'dialin-ready':
      return `takes calls at ${data.sip_endpoint}`;
    case 'dialin-connected':
      return `${other || 'a phone'} called in`;
    case 'dtmf-event':
      return `key ${call.tone} from ${nameOf(call.sessionId)}`;
    case 'recording-started':
      return `recording started${data.status?.startedBy ? ` by ${nameOf(data.status.startedBy)}` : ''}`;
    case 'recording-stopped':
      return 'recording stopped';
    case 'transcription-started':
      return `transcription started${data.status?.startedBy ? ` by ${nameOf(data.status.startedBy)}` : ''}`;
    case 'transcription-stopped':
      return `transcription stopped${data.stopped_by ? ` by ${nameOf(data.stopped_by)}` : ''}${data.stopped_by_error ? ' (error)' : ''}`;
    default:
      return data.message && typeof data.message === 'string' ? data.message : JSON.stringify(data);
  }
}
