// The History tab: sessions and rooms that ended stay inspectable (PROTOCOL.md 5.13). The gateway
// keeps each session's log in SQLite; this lists them (list-history: newest first, with room, name,
// when, how it ended and its response times), opens one (get-history: its events in plain words,
// each line opening to its data) and saves it as a JSON file (Export JSON). It asks through the
// directory session, when the tab is shown and on Refresh.

import { $, clock, describeError, el, toast } from '../lib/dom.js';
import { summarize } from './event-log.js';
import { roomLabel } from './room-list.js';
import { formatMs } from './turns.js';

const LIST_LIMIT = 100;
const EVENTS_LIMIT = 1000;

/** Binds the tab; returns show(), which lists the sessions kept. */
export function createHistory(store) {
  const { state } = store;
  let sessions = [];
  let opened = null; // {session, events, total}

  async function list() {
    const directory = state.directory;
    if (!directory) return;
    try {
      const result = await directory.requestUntyped('list-history', { limit: LIST_LIMIT });
      sessions = result.sessions;
      render();
    } catch (err) {
      $('history-list').replaceChildren();
      $('history-empty').hidden = false;
      $('history-empty').textContent = err?.code === 'not_supported'
        ? 'This gateway keeps no history (history_db is off).'
        : `cannot list the history: ${describeError(err)}`;
    }
  }

  function render() {
    const query = $('history-filter').value.trim().toLowerCase();
    const shown = sessions.filter((s) => !query || `${s.room_url} ${s.user_name ?? ''} ${s.role}`.toLowerCase().includes(query));
    $('history-empty').hidden = shown.length > 0;
    $('history-empty').textContent = sessions.length ? 'No session matches the filter.' : 'No session kept yet.';
    $('history-list').replaceChildren(...shown.map((s) => {
      const who = s.user_name || (s.role === 'observer' ? 'observer' : (s.participant_id ?? s.session_id).slice(0, 8));
      const started = clock(new Date(s.started_at * 1000)).slice(0, 8);
      const ended = s.ended_at == null ? 'running' : `ended ${clock(new Date(s.ended_at * 1000)).slice(0, 8)} (${s.end_cause ?? 'left'})`;
      const responses = s.turns?.responses;
      const turns = responses?.count ? ` · response p50 ${formatMs(responses.p50_ms)}, p95 ${formatMs(responses.p95_ms)}` : '';
      const button = el('button', { class: 'row-btn', type: 'button' },
        el('span', { text: `${who} in ${roomLabel(s.room_url)}` }),
        el('span', { class: `when${s.ended_at == null ? ' running' : ''}`, text: started }),
        el('span', { class: 'sub', text: `${s.role} · ${ended} · ${s.events} events${turns}` }));
      button.addEventListener('click', () => open(s.session_id));
      return el('li', { 'data-session': s.session_id, 'data-room': s.room_url }, button);
    }));
  }

  async function open(sessionId) {
    try {
      opened = await state.directory.requestUntyped('get-history', { session_id: sessionId, limit: EVENTS_LIMIT });
    } catch (err) {
      toast(`cannot open the session: ${describeError(err)}`);
      return;
    }
    const { session, events, total } = opened;
    const names = new Map();
    for (const { event, data } of events) {
      if (event === 'participant-joined' && data.participant?.id) names.set(data.participant.id, data.participant.info?.userName || data.participant.id.slice(0, 8));
    }
    if (session.participant_id) names.set(session.participant_id, session.user_name || session.participant_id.slice(0, 8));
    const nameOf = (id) => (id ? names.get(id) ?? id.slice(0, 8) : 'someone');
    $('history-title').textContent = `${session.user_name || session.role} in ${session.room_url} · ${total} events${total > events.length ? ` (first ${events.length})` : ''}`;
    $('history-events').replaceChildren(...events.map(({ at, event, data }) => {
      const detail = describe(event, data, nameOf);
      const row = el('li', { 'data-event': event },
        el('button', { class: 'row', type: 'button', title: 'show the whole event' },
          el('span', { class: 't', text: clock(new Date(at * 1000)) }),
          el('span', { class: 'r', text: '' }),
          el('span', { class: 'e', text: event }),
          el('span', { class: 'd', text: detail, title: detail })));
      row.firstChild.setAttribute('aria-expanded', 'false');
      row.firstChild.addEventListener('click', () => {
        const openNow = row.firstChild.getAttribute('aria-expanded') === 'true';
        row.firstChild.setAttribute('aria-expanded', String(!openNow));
        if (openNow) row.querySelector('.payload')?.remove();
        else row.append(el('pre', { class: 'payload', text: JSON.stringify(data, null, 2) }));
      });
      return row;
    }));
    $('history-open').hidden = false;
    $('history-list').hidden = $('history-tools').hidden = $('history-empty').hidden = true;
  }

  function back() {
    opened = null;
    $('history-open').hidden = true;
    $('history-list').hidden = $('history-tools').hidden = false;
    render();
  }

  /** The opened session as a JSON file: {session, events, total}, as get-history gave it. */
  function exportJson() {
    if (!opened) return;
    const blob = new Blob([JSON.stringify(opened, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: `session-${opened.session.session_id}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  $('history-refresh').addEventListener('click', list);
  $('history-filter').addEventListener('input', render);
  $('history-back').addEventListener('click', back);
  $('history-export').addEventListener('click', exportJson);
  document.querySelector('.side .tabs').addEventListener('tab-shown', (event) => {
    if (event.detail === 'history' && !opened) list();
  });

  return { show: list };
}

/** A kept event in words: the live log's words, and the history's own entries. */
function describe(event, data, nameOf) {
  switch (event) {
    case 'joined':
      return `joined ${data.room_url} as ${nameOf(data.participant_id)}`;
    case 'observing':
      return `started watching ${data.room_url}`;
    case 'left':
      return `left (${data.reason})`;
    case 'request-failed':
      return `${data.request} failed: ${data.code}: ${data.message}`;
    case 'network-stats-updated':
      return `network: ${JSON.stringify(data.stats?.latest ?? data.stats ?? data).slice(0, 120)}`;
    default:
      return summarize(event, data, nameOf);
  }
}
