// The conversation timeline: one lane per participant showing when they spoke over the last
// 60 s, from the gateway's voice activity detection; overlapping bars are barge-ins. A participant
// who leaves keeps their lane (marked "left") while their speech is in view; watching another room
// starts afresh. The gateway's turns (turns.js) are drawn on the lane of whoever took the turn: a
// response's gap as a cyan line with its length, a barge-in's overlap in amber. The canvas has a
// text alternative (#timeline-text), rewritten once a second.

import { $, el } from '../lib/dom.js';
import { describeTurn, formatMs } from './turns.js';
import { displayName, hue } from '../lib/people.js';
import { Change } from '../lib/store.js';

const TIMELINE_MS = 60_000;
const LABEL_WIDTH = 120;
const TEXT_EVERY_MS = 1000;

/** Turns told in words under the timeline. */
const TURNS_IN_TEXT = 3;

/** Keeps each participant's speech segments; returns draw(now) for the canvas. */
export function createTimeline(store, { nameOf }) {
  const { state } = store;
  const lanes = new Map(); // participant id -> {name, speaking, left, segments: [{start, end|null}]}
  let textAt = -Infinity;

  store.on(Change.PARTICIPANT_ADDED, (entry) => {
    const lane = lanes.get(entry.id); // someone back (or the observer reloading after a reconnect)
    if (lane) Object.assign(lane, { name: displayName(entry.participant), left: false });
    else lanes.set(entry.id, { name: displayName(entry.participant), speaking: entry.speaking, left: false, segments: [] });
  });
  store.on(Change.PARTICIPANT_UPDATED, (entry) => {
    lanes.get(entry.id).name = displayName(entry.participant);
  });
  store.on(Change.PARTICIPANT_LEFT, (entry) => {
    const lane = lanes.get(entry.id);
    if (!lane) return;
    markSpeech(lane, false, performance.now());
    lane.left = true;
  });
  store.on(Change.WATCHING, () => lanes.clear());
  store.on(Change.SPEAKING, (entry) => markSpeech(lanes.get(entry.id), entry.speaking, performance.now()));

  /** Forgets the lanes of those who left once their last speech is out of view. */
  function forgetGone(now) {
    for (const [id, lane] of lanes) {
      const last = lane.segments.at(-1);
      if (lane.left && (!last || now - last.end > TIMELINE_MS)) lanes.delete(id);
    }
  }

  /** The timeline in words, for screen readers and anyone who prefers text. */
  function writeText(now) {
    const lines = [...lanes.values()].map((lane) => {
      const shown = lane.segments.filter((seg) => now - (seg.end ?? now) <= TIMELINE_MS);
      const seconds = shown.reduce((sum, seg) => sum + ((seg.end ?? now) - Math.max(seg.start, now - TIMELINE_MS)), 0) / 1000;
      const state = lane.left ? 'left the room' : lane.speaking ? 'speaking now' : 'silent now';
      return `${lane.name}: ${state}; spoke ${shown.length} time${shown.length === 1 ? '' : 's'} in the last 60 s (${seconds.toFixed(1)} s in all)`;
    });
    if (!lines.length) lines.push('Nobody in the watched room.');
    const stats = state.turnStats;
    if (stats?.responses.count) {
      lines.push(`Response time: p50 ${formatMs(stats.responses.p50_ms)}, p95 ${formatMs(stats.responses.p95_ms)} over ${stats.responses.count} responses; ${stats.overlaps.count} barge-ins.`);
    }
    for (const turn of state.turns.slice(-TURNS_IN_TEXT)) lines.push(`Turn: ${describeTurn(turn, nameOf)}.`);
    const list = $('timeline-text');
    if ([...list.children].map((li) => li.textContent).join('\n') !== lines.join('\n')) {
      list.replaceChildren(...lines.map((text) => el('li', { text })));
    }
  }

  function draw(now) {
    if (now - textAt >= TEXT_EVERY_MS) {
      textAt = now;
      forgetGone(now);
      writeText(now);
    }
    const canvas = $('timeline');
    const wanted = `${Math.max(1, lanes.size) * 26 + 32}px`;
    if (canvas.style.height !== wanted) canvas.style.height = wanted;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height) return;
    if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const w = width / ratio;
    const h = height / ratio;
    ctx.clearRect(0, 0, w, h);
    const right = w - 14;
    const plot = right - LABEL_WIDTH;
    const x = (time) => LABEL_WIDTH + plot * (1 - (now - time) / TIMELINE_MS);
    ctx.font = '11px ui-monospace, Menlo, monospace';
    ctx.textBaseline = 'middle';
    const lane = Math.min(26, (h - 30) / Math.max(1, lanes.size));
    drawGrid(ctx, plot, 8 + Math.max(1, lanes.size) * lane);
    [...lanes.values()].forEach((entry, i) => {
      const y = 8 + i * lane;
      const { name } = entry;
      ctx.textAlign = 'left';
      ctx.fillStyle = entry.speaking ? '#e6edf3' : '#a3aebd';
      const label = entry.left ? `${name} (left)` : name;
      ctx.fillText(label.length > 15 ? `${label.slice(0, 14)}…` : label, 14, y + lane / 2);
      ctx.fillStyle = 'rgba(24, 32, 43, 0.9)';
      ctx.fillRect(LABEL_WIDTH, y + lane * 0.2, plot, lane * 0.6);
      const color = `hsl(${hue(name)} 70% 62%)`;
      for (const seg of entry.segments) {
        const x0 = Math.max(LABEL_WIDTH, x(seg.start));
        const x1 = Math.min(right, x(seg.end ?? now));
        if (x1 <= LABEL_WIDTH) continue;
        ctx.fillStyle = color;
        ctx.globalAlpha = seg.end === null ? 1 : entry.left ? 0.4 : 0.75;
        ctx.beginPath();
        ctx.roundRect(x0, y + lane * 0.2, Math.max(2, x1 - x0), lane * 0.6, 4);
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });
    drawTurns(ctx, x, lane);
  }

  /** Each turn on the lane of whoever took it: a response's gap, or a barge-in's overlap, with its length. */
  function drawTurns(ctx, x, lane) {
    const rows = new Map([...lanes.keys()].map((id, i) => [id, i]));
    const toPageTime = performance.now() - Date.now(); // turn.at is Unix seconds
    ctx.font = '10px ui-monospace, Menlo, monospace';
    for (const turn of state.turns) {
      const row = rows.get(turn.participant_id);
      const start = turn.at * 1000 + toPageTime;
      if (row === undefined || x(start) < LABEL_WIDTH) continue;
      const y = 8 + row * lane + lane / 2;
      if (turn.kind === 'response') {
        const from = Math.max(LABEL_WIDTH, x(start - turn.gap_ms));
        ctx.strokeStyle = '#22d3ee';
        ctx.setLineDash([3, 2]);
        ctx.beginPath();
        ctx.moveTo(from, y);
        ctx.lineTo(x(start), y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#22d3ee';
        ctx.textAlign = 'right';
        ctx.fillText(formatMs(turn.gap_ms), x(start) - 3, y - lane * 0.28);
      } else {
        ctx.fillStyle = 'rgba(251, 191, 36, 0.55)';
        ctx.fillRect(x(start), y - lane * 0.3, Math.max(2, x(start + turn.overlap_ms) - x(start)), lane * 0.6);
        ctx.fillStyle = '#fbbf24';
        ctx.textAlign = 'left';
        ctx.fillText(`⚡ ${formatMs(turn.overlap_ms)}`, x(start) + 2, y - lane * 0.28);
      }
    }
  }

  return { draw };
}

/** Opens a segment when speech starts, closes it when it stops; forgets those older than the view. */
function markSpeech(lane, speaking, now) {
  lane.speaking = speaking;
  const open = lane.segments.at(-1);
  if (speaking && !(open && open.end === null)) lane.segments.push({ start: now, end: null });
  if (!speaking && open && open.end === null) open.end = now;
  while (lane.segments.length && lane.segments[0].end !== null && now - lane.segments[0].end > TIMELINE_MS) lane.segments.shift();
}

/** A line every 10 s over the lanes, labelled "now", "-10s" ... "-60s" below them. */
function drawGrid(ctx, plot, bottom) {
  for (let s = 0; s <= 60; s += 10) {
    const gx = LABEL_WIDTH + plot * (1 - s / 60);
    ctx.strokeStyle = 'rgba(34, 44, 57, 0.9)';
    ctx.beginPath();
    ctx.moveTo(gx, 4);
    ctx.lineTo(gx, bottom + 2);
    ctx.stroke();
    ctx.fillStyle = '#8792a3';
    ctx.textAlign = 'center';
    ctx.fillText(s ? `-${s}s` : 'now', gx, bottom + 12);
  }
}
