// Turn latency in the watched room, from the gateway (PROTOCOL.md 5.12, 9.5): each `turn` event
// (a response: who answered whom after how long; an overlap: a barge-in) kept for the timeline
// (state.turns), and the room's summary from get-turn-stats in the header: response time p50 / p95
// and barge-ins. The observer asks, since turns are counted per session in its room.

import { $ } from '../lib/dom.js';
import { Change } from '../lib/store.js';

/** Turns kept for the timeline (a minute of a lively conversation and more). */
const KEPT = 200;
/** How often the summary is asked for while watching, besides after each turn. */
const REFRESH_MS = 3000;

/** "640 ms" or "1.2 s". */
export function formatMs(ms) {
  if (ms == null) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A turn event in words, with the names `nameOf` gives. */
export function describeTurn(turn, nameOf) {
  const who = nameOf(turn.participant_id);
  const before = nameOf(turn.previous_participant_id);
  if (turn.kind === 'response') return `${who} answered ${before} after ${formatMs(turn.gap_ms)}`;
  return `${who} barged in on ${before} (${formatMs(turn.overlap_ms)} overlap; ${turn.yielded ? `${before} stopped` : `${before} kept the turn`})`;
}

/** Follows the watched room's turn events; keeps state.turns and the header's summary. */
export function createTurns(store) {
  const { state } = store;
  let asking = false;
  let again = false;

  async function refresh() {
    const observer = state.observer;
    if (!observer || !state.observing) return;
    if (asking) {
      again = true;
      return;
    }
    asking = true;
    try {
      const stats = await observer.requestUntyped('get-turn-stats', { recent: 1 });
      if (observer === state.observer) render(stats);
    } catch {
      /* not joined yet, or reconnecting: the next refresh tells */
    } finally {
      asking = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function render(stats) {
    state.turnStats = stats;
    const { responses, overlaps } = stats;
    const node = $('turn-summary');
    node.hidden = !responses.count && !overlaps.count;
    node.dataset.responses = String(responses.count);
    node.dataset.overlaps = String(overlaps.count);
    $('turn-p50').textContent = formatMs(responses.p50_ms);
    $('turn-p95').textContent = formatMs(responses.p95_ms);
    $('turn-count').textContent = `${responses.count} response${responses.count === 1 ? '' : 's'}`;
    $('turn-overlaps').textContent = `${overlaps.count} barge-in${overlaps.count === 1 ? '' : 's'}`;
  }

  store.on(Change.ROOM_EVENT, ({ event, data }) => {
    if (event !== 'turn') return;
    state.turns.push(data);
    if (state.turns.length > KEPT) state.turns.shift();
    refresh();
  });
  store.on(Change.WATCHING, () => {
    state.turns.length = 0;
    state.turnStats = null;
    $('turn-summary').hidden = true;
    refresh();
  });
  setInterval(refresh, REFRESH_MS);
}
