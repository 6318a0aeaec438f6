// The conversation timeline: one lane per participant showing when they spoke over the last
// 60 s, from the gateway's voice activity detection; overlapping bars are barge-ins.

import { $ } from '../lib/dom.js';
import { displayName, hue } from '../lib/people.js';
import { Change } from '../lib/store.js';

const TIMELINE_MS = 60_000;
const LABEL_WIDTH = 120;

/** Keeps each participant's speech segments; returns draw(now) for the canvas. */
export function createTimeline(store) {
  const lanes = new Map(); // participant id -> {name, speaking, segments: [{start, end|null}]}

  store.on(Change.PARTICIPANT_ADDED, (entry) => {
    lanes.set(entry.id, { name: displayName(entry.participant), speaking: entry.speaking, segments: [] });
  });
  store.on(Change.PARTICIPANT_UPDATED, (entry) => {
    lanes.get(entry.id).name = displayName(entry.participant);
  });
  store.on(Change.PARTICIPANT_LEFT, (entry) => lanes.delete(entry.id));
  store.on(Change.SPEAKING, (entry) => markSpeech(lanes.get(entry.id), entry.speaking, performance.now()));

  function draw(now) {
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
      ctx.fillStyle = entry.speaking ? '#e6edf3' : '#8b98a9';
      ctx.fillText(name.length > 15 ? `${name.slice(0, 14)}…` : name, 14, y + lane / 2);
      ctx.fillStyle = 'rgba(24, 32, 43, 0.9)';
      ctx.fillRect(LABEL_WIDTH, y + lane * 0.2, plot, lane * 0.6);
      const color = `hsl(${hue(name)} 70% 62%)`;
      for (const seg of entry.segments) {
        const x0 = Math.max(LABEL_WIDTH, x(seg.start));
        const x1 = Math.min(right, x(seg.end ?? now));
        if (x1 <= LABEL_WIDTH) continue;
        ctx.fillStyle = color;
        ctx.globalAlpha = seg.end === null ? 1 : 0.75;
        ctx.beginPath();
        ctx.roundRect(x0, y + lane * 0.2, Math.max(2, x1 - x0), lane * 0.6, 4);
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    });
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
    ctx.fillStyle = '#5b6878';
    ctx.textAlign = 'center';
    ctx.fillText(s ? `-${s}s` : 'now', gx, bottom + 12);
  }
}
