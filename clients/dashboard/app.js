// The dashboard: watches live rooms through the JS SDK (observe: read-only), and lets
// you join one with your microphone (join: a participant) and hear it.
//
// Three connections, each a GatewayClient from /sdk/ (the built SDK, not a copy):
//   directory  lists rooms every 2 s (list-rooms needs no room of its own)
//   observer   observes the selected room: events, VAD and levels of every participant
//   me         your participant, when you join: microphone out, room audio in
//   phone      the Phone tab: a simulated phone (register-phone, PROTOCOL.md 5.9) that rings,
//              answers with the microphone, sends its keypad as DTMF, dials, hangs up
// A session either observes or joins, once, so switching rooms opens a new observer.

import { AudioPlayer, ConnectionState, exponentialBackoff, GatewayClient, MicrophoneCapture } from '/sdk/index.js';

const query = new URLSearchParams(location.search);
const WS_URL = query.get('ws') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1`;
// A gateway with API keys needs a token: open /dashboard/?token=<daily-gateway mint-token ...>.
const TOKEN = query.get('token') ?? undefined;
const RETRY_FOREVER = exponentialBackoff({ maxAttempts: Infinity, maxMs: 3000 });
const LOG_LIMIT = 400;
const HISTORY = 90; // level samples kept per participant (~9 s at 100 ms)

const $ = (id) => document.getElementById(id);

/** Everything the page knows; exposed as window.dashboard for people and tests to inspect. */
const state = {
  wsUrl: WS_URL,
  rooms: [],
  selected: null,
  participants: new Map(), // id -> {participant, level, shown, speaking, history, card, updatedAt}
  activeSpeaker: null,
  directory: null,
  observer: null,
  me: null,
  mic: null,
  player: null,
  audioContext: null,
  // The Phone tab: {client, number, state: off|registered|ringing|in-call, ring, call, mic, player, context, sent, received}
  phone: { client: null, number: null, state: 'off', ring: null, call: null, mic: null, player: null, context: null, sent: '', received: '' },
  log: { paused: false, levels: false, filter: '' },
  counters: { events: 0, speechStarted: 0, speechStopped: 0, levels: 0, transcripts: 0, messages: 0 },
};
window.dashboard = state;

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function clock(date = new Date()) {
  return date.toLocaleTimeString([], { hour12: false }) + '.' + String(date.getMilliseconds()).padStart(3, '0');
}

function nameOf(id) {
  if (!id) return 'someone';
  const entry = state.participants.get(id);
  return entry?.participant.info?.userName || id.slice(0, 8);
}

function hue(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

/** RMS (0..1) to a meter position: -60 dBFS .. 0 dBFS. */
function meterPosition(rms) {
  const db = 20 * Math.log10(Math.max(rms, 1e-6));
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

let toastTimer;
function toast(text, ok = false) {
  const node = $('toast');
  node.textContent = text;
  node.className = ok ? 'toast ok' : 'toast';
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 5000);
}

function describeError(err) {
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? err);
}

// ---------------------------------------------------------------- event log

const KINDS = {
  'speech-started': 'speech', 'speech-stopped': 'speech', 'active-speaker-changed': 'speech',
  'participant-joined': 'people', 'participant-left': 'people', 'participant-updated': 'people',
  'app-message': 'message', 'transcription-message': 'message', error: 'error',
  'transcription-error': 'error', 'recording-error': 'error',
};

function summarize(event, data) {
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

function logLine(event, detail, kind = KINDS[event] ?? 'other') {
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

function clientNote(text) {
  logLine('· dashboard', text, 'client');
}

// ---------------------------------------------------------------- rooms

async function startDirectory() {
  const directory = new GatewayClient({ url: WS_URL, reconnect: RETRY_FOREVER, token: TOKEN });
  state.directory = directory;
  directory.on('connection-state-changed', renderConnection);
  directory.on('hello', (hello) => {
    $('server-info').textContent = `${hello.server.name} ${hello.server.version} · ${hello.protocol}`;
  });
  try {
    await directory.connect();
  } catch (err) {
    renderConnection(directory.state);
    toast(`cannot reach the gateway at ${WS_URL}: ${describeError(err)}`);
    setTimeout(startDirectory, 2000);
    return;
  }
  await refreshRooms();
  setInterval(refreshRooms, 2000);
}

function renderConnection() {
  const s = state.directory?.state ?? ConnectionState.DISCONNECTED;
  $('conn').dataset.state = s;
  $('conn-text').textContent = s === 'connected' ? `connected · ${new URL(WS_URL).host}` : s;
}

async function refreshRooms() {
  const directory = state.directory;
  if (!directory || directory.state !== ConnectionState.CONNECTED) return;
  try {
    state.rooms = await directory.listRooms();
  } catch (err) {
    return;
  }
  renderRooms();
  if (!state.selected) {
    const wanted = query.get('room');
    const demo = state.rooms.find((r) => r.room_url === 'local://demo');
    const pick = wanted ?? demo?.room_url ?? state.rooms[0]?.room_url;
    if (pick) selectRoom(pick);
  }
}

function renderRooms() {
  const list = $('room-list');
  list.replaceChildren(
    ...state.rooms.map((room) => {
      const people = Object.values(room.participants);
      const names = people.map((p) => p.info?.userName ?? p.id.slice(0, 6)).join(', ');
      const item = el('li', { class: `room${room.room_url === state.selected ? ' selected' : ''}`, 'data-room': room.room_url },
        el('span', { class: 'name', text: room.room_url.replace(/^local:\/\//, ''), title: room.room_url }),
        el('span', { class: `live${people.length ? '' : ' idle'}` }),
        el('span', { class: 'sub', text: `${room.backend} · ${people.length} in room${room.observers ? ` · ${room.observers} watching` : ''}${names ? ` · ${names}` : ''}` }));
      item.addEventListener('click', () => selectRoom(room.room_url));
      return item;
    }),
  );
  $('room-count').textContent = String(state.rooms.length);
}

// ---------------------------------------------------------------- observing a room

async function selectRoom(roomUrl) {
  if (state.selected === roomUrl && state.observer) return;
  state.selected = roomUrl;
  const previous = state.observer;
  state.observer = null;
  if (previous) previous.close().catch(() => {});
  for (const entry of state.participants.values()) entry.card.remove();
  state.participants.clear();
  state.activeSpeaker = null;
  $('room-title').textContent = roomUrl;
  $('join-room').placeholder = roomUrl;
  history.replaceState(null, '', `?${new URLSearchParams({ ...Object.fromEntries(query), room: roomUrl })}`);
  renderRooms();
  renderStage();

  const observer = new GatewayClient({ url: WS_URL, reconnect: RETRY_FOREVER, token: TOKEN });
  state.observer = observer;
  wireObserver(observer);
  try {
    await observer.connect();
    const snapshot = await observer.observe(roomUrl, {
      audio: 'analysis',
      levels_interval_ms: 100,
      vad: { start_ms: 150, stop_ms: 600 },
    });
    if (state.observer !== observer) return;
    for (const participant of Object.values(snapshot.participants)) upsert(participant);
    clientNote(`watching ${roomUrl} (${Object.keys(snapshot.participants).length} in room)`);
    renderStage();
  } catch (err) {
    if (state.observer === observer) toast(`cannot watch ${roomUrl}: ${describeError(err)}`);
  }
}

function wireObserver(observer) {
  const mine = (fn) => (payload) => {
    if (state.observer === observer) fn(payload);
  };
  observer.on('server-event', mine(({ event, data }) => {
    if (event === 'audio-levels') {
      state.counters.levels += 1;
      if (!state.log.levels) return;
    }
    logLine(event, summarize(event, data));
  }));
  observer.on('participant-joined', mine(({ participant }) => {
    upsert(participant);
    renderStage();
  }));
  observer.on('participant-updated', mine(({ participant }) => upsert(participant)));
  observer.on('participant-left', mine(({ participant }) => {
    const entry = state.participants.get(participant.id);
    entry?.card.remove();
    state.participants.delete(participant.id);
    renderStage();
  }));
  observer.on('audio-levels', mine(({ levels }) => {
    const t = performance.now();
    for (const { participant_id: id, level, speaking } of levels) {
      const entry = state.participants.get(id);
      if (!entry) continue;
      entry.level = level;
      entry.updatedAt = t;
      entry.history.push(level);
      if (entry.history.length > HISTORY) entry.history.shift();
      if (speaking !== entry.speaking) setSpeaking(entry, speaking);
    }
  }));
  observer.on('speech-started', mine(({ participant_id: id }) => {
    state.counters.speechStarted += 1;
    const entry = state.participants.get(id);
    if (entry) setSpeaking(entry, true);
  }));
  observer.on('speech-stopped', mine(({ participant_id: id }) => {
    state.counters.speechStopped += 1;
    const entry = state.participants.get(id);
    if (entry) setSpeaking(entry, false);
  }));
  observer.on('active-speaker-changed', mine(({ participant }) => {
    state.activeSpeaker = participant?.id ?? null;
    for (const [id, entry] of state.participants) entry.card.classList.toggle('active', id === state.activeSpeaker);
    $('active-speaker').textContent = participant ? `active speaker: ${nameOf(participant.id)}` : '';
  }));
  observer.on('app-message', mine(addMessage));
  observer.on('transcription-message', mine(addTranscript));
  const transcribing = (on) => () => {
    $('transcribe-btn').dataset.on = String(on);
    $('transcribe-btn').textContent = on ? 'Stop transcription' : 'Start transcription';
  };
  observer.on('transcription-started', mine(transcribing(true)));
  observer.on('transcription-stopped', mine(transcribing(false)));
  observer.on('reconnecting', mine(({ attempt, delayMs }) => clientNote(`connection lost; retry ${attempt} in ${delayMs} ms`)));
  observer.on('reconnected', mine(async () => {
    clientNote('reconnected; watching again');
    try {
      const now = await observer.getParticipants();
      for (const entry of state.participants.values()) entry.card.remove();
      state.participants.clear();
      for (const participant of Object.values(now)) upsert(participant);
      renderStage();
    } catch (err) {
      toast(describeError(err));
    }
  }));
}

const TIMELINE_MS = 60_000;

/** Voice activity segments per participant, for the conversation timeline. */
function markSpeech(entry, speaking) {
  const t = performance.now();
  const open = entry.segments.at(-1);
  if (speaking && !(open && open.end === null)) entry.segments.push({ start: t, end: null });
  if (!speaking && open && open.end === null) open.end = t;
  while (entry.segments.length && entry.segments[0].end !== null && t - entry.segments[0].end > TIMELINE_MS) entry.segments.shift();
}

function setSpeaking(entry, speaking) {
  markSpeech(entry, speaking);
  entry.speaking = speaking;
  entry.card.classList.toggle('speaking', speaking);
  entry.card.dataset.speaking = String(speaking);
  entry.talkBadge.hidden = !speaking;
}

function upsert(participant) {
  let entry = state.participants.get(participant.id);
  if (!entry) {
    entry = createCard(participant);
    state.participants.set(participant.id, entry);
    $('cards').append(entry.card);
  }
  entry.participant = participant;
  const name = participant.info?.userName || participant.id.slice(0, 8);
  entry.card.dataset.name = name;
  entry.nameNode.textContent = name;
  entry.avatar.textContent = initials(name);
  entry.avatar.style.background = `hsl(${hue(name)} 70% 62%)`;
  const you = state.me?.participantId === participant.id;
  entry.youBadge.hidden = !you;
  entry.demoBadge.hidden = !participant.info?.userData?.demo;
  const mic = participant.media?.microphone?.state ?? 'off';
  entry.micNode.textContent = `mic ${mic}`;
  return entry;
}

function createCard(participant) {
  const avatar = el('div', { class: 'avatar' });
  const nameNode = el('div', { class: 'name' });
  const youBadge = el('span', { class: 'badge you', text: 'you', hidden: true });
  const demoBadge = el('span', { class: 'badge demo', text: 'demo', hidden: true });
  const talkBadge = el('span', { class: 'badge talk', text: 'speaking', hidden: true });
  const fill = el('div', { class: 'fill' });
  const spark = el('canvas', { class: 'spark', width: 400, height: 60 });
  const levelText = el('span', { text: '-∞ dB' });
  const micNode = el('span', { text: 'mic' });
  const card = el('article', { class: 'card', 'data-participant-id': participant.id, 'data-level': '0', 'data-speaking': 'false' },
    avatar,
    el('div', { class: 'who' }, nameNode, el('div', { class: 'id', text: participant.id }), el('div', { class: 'badges' }, youBadge, demoBadge, talkBadge)),
    el('div', { class: 'levels' }, el('div', { class: 'meter' }, fill), spark, el('div', { class: 'stat' }, micNode, levelText)));
  return {
    participant, card, avatar, nameNode, youBadge, demoBadge, talkBadge, fill, spark, levelText, micNode,
    level: 0, shown: 0, speaking: false, history: [], updatedAt: 0, segments: [],
  };
}

function renderStage() {
  const count = state.participants.size;
  $('cards-empty').hidden = count > 0 || !state.selected;
  const room = state.rooms.find((r) => r.room_url === state.selected);
  $('room-meta').textContent = state.selected
    ? `${count} participant${count === 1 ? '' : 's'}${room?.observers ? ` · ${room.observers} watching` : ''}`
    : '';
}

// ---------------------------------------------------------------- animation: meters and sparklines

function drawSpark(entry) {
  const canvas = entry.spark;
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const values = entry.history;
  if (!values.length) return;
  const step = width / (HISTORY - 1);
  const x0 = width - (values.length - 1) * step;
  const gradient = ctx.createLinearGradient(0, height, 0, 0);
  gradient.addColorStop(0, 'rgba(52, 211, 153, 0.05)');
  gradient.addColorStop(1, entry.speaking ? 'rgba(52, 211, 153, 0.55)' : 'rgba(34, 211, 238, 0.35)');
  ctx.beginPath();
  ctx.moveTo(x0, height);
  values.forEach((v, i) => ctx.lineTo(x0 + i * step, height - meterPosition(v) * (height - 4)));
  ctx.lineTo(width, height);
  ctx.closePath();
  ctx.fillStyle = gradient;
  ctx.fill();
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = x0 + i * step;
    const y = height - meterPosition(v) * (height - 4);
    if (i) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
  });
  ctx.strokeStyle = entry.speaking ? '#34d399' : '#22d3ee';
  ctx.lineWidth = 2;
  ctx.stroke();
}

function drawTimeline() {
  const canvas = $('timeline');
  const wanted = `${Math.max(1, state.participants.size) * 26 + 32}px`;
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
  const label = 120;
  const right = w - 14;
  const plot = right - label;
  const t = performance.now();
  const x = (time) => label + plot * (1 - (t - time) / TIMELINE_MS);
  ctx.font = '11px ui-monospace, Menlo, monospace';
  ctx.textBaseline = 'middle';
  const entries = [...state.participants.values()];
  const lane = Math.min(26, (h - 30) / Math.max(1, entries.length));
  const bottom = 8 + Math.max(1, entries.length) * lane;
  // time grid: a line every 10 s, over the lanes only
  for (let s = 0; s <= 60; s += 10) {
    const gx = label + plot * (1 - s / 60);
    ctx.strokeStyle = 'rgba(34, 44, 57, 0.9)';
    ctx.beginPath();
    ctx.moveTo(gx, 4);
    ctx.lineTo(gx, bottom + 2);
    ctx.stroke();
    ctx.fillStyle = '#5b6878';
    ctx.textAlign = 'center';
    ctx.fillText(s ? `-${s}s` : 'now', gx, bottom + 12);
  }
  entries.forEach((entry, i) => {
    const y = 8 + i * lane;
    const name = entry.card.dataset.name ?? '';
    ctx.textAlign = 'left';
    ctx.fillStyle = entry.speaking ? '#e6edf3' : '#8b98a9';
    ctx.fillText(name.length > 15 ? `${name.slice(0, 14)}…` : name, 14, y + lane / 2);
    ctx.fillStyle = 'rgba(24, 32, 43, 0.9)';
    ctx.fillRect(label, y + lane * 0.2, plot, lane * 0.6);
    const color = `hsl(${hue(name)} 70% 62%)`;
    for (const seg of entry.segments) {
      const x0 = Math.max(label, x(seg.start));
      const x1 = Math.min(right, x(seg.end ?? t));
      if (x1 <= label) continue;
      ctx.fillStyle = color;
      ctx.globalAlpha = seg.end === null ? 1 : 0.75;
      ctx.beginPath();
      ctx.roundRect(x0, y + lane * 0.2, Math.max(2, x1 - x0), lane * 0.6, 4);
      ctx.fill();
      ctx.globalAlpha = 1;
    }
  });
}

let meShown = 0;

let phoneShown = 0;

function animate() {
  const t = performance.now();
  for (const entry of state.participants.values()) {
    const target = t - entry.updatedAt > 500 ? 0 : entry.level; // stale levels fall to silence
    entry.shown += (meterPosition(target) - entry.shown) * 0.35;
    entry.fill.style.width = `${(entry.shown * 100).toFixed(1)}%`;
    entry.card.dataset.level = target.toFixed(4);
    const db = 20 * Math.log10(Math.max(target, 1e-6));
    entry.levelText.textContent = target > 1e-5 ? `${db.toFixed(0)} dBFS` : '-∞ dB';
    drawSpark(entry);
  }
  drawTimeline();
  if (state.mic) {
    // Peak with a slow fall, so short words stay visible on the small meter.
    meShown = Math.max(meterPosition(state.mic.level), meShown * 0.95);
    $('me-level').style.width = `${(meShown * 100).toFixed(1)}%`;
  }
  if (state.phone.mic) {
    phoneShown = Math.max(meterPosition(state.phone.mic.level), phoneShown * 0.95);
    $('phone-level').style.width = `${(phoneShown * 100).toFixed(1)}%`;
  }
  if (state.phone.call) $('phone-timer').textContent = duration(performance.now() - state.phone.call.startedAt);
  requestAnimationFrame(animate);
}

// ---------------------------------------------------------------- transcripts and messages

const interim = new Map(); // participant id -> li of the utterance in progress

function addTranscript(data) {
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

function addMessage(data) {
  state.counters.messages += 1;
  $('msg-count').textContent = String(state.counters.messages);
  const body = typeof data.message === 'string' ? data.message : JSON.stringify(data.message, null, 2);
  const who = el('div', { class: 'who' }, el('b', { text: nameOf(data.sender) }));
  if (data.to) who.append(el('span', { class: 'to', text: ` → ${nameOf(data.to)}` }));
  who.append(` · ${clock()}`);
  $('messages').append(el('li', { 'data-sender': data.sender }, who, el('pre', { text: body })));
  $('messages').scrollTop = $('messages').scrollHeight;
}

// ---------------------------------------------------------------- joining with the microphone

async function join(roomUrl, userName) {
  const button = $('join-btn');
  button.disabled = true;
  let context;
  let me;
  try {
    // Created in the click: browsers start audio only after a user gesture.
    context = new AudioContext({ sampleRate: 48000 });
    const mic = await MicrophoneCapture.start({ context, voiceProcessing: query.get('processing') !== '0' });
    const player = await AudioPlayer.start({ context });
    player.volume = Number($('volume').value);
    me = new GatewayClient({ url: WS_URL, reconnect: RETRY_FOREVER, token: TOKEN });
    me.on('protocol-error', (err) => clientNote(`your session: ${describeError(err)}`));
    await me.connect();
    const joined = await me.join(roomUrl, {
      // Local rooms: the dashboard's user is the owner (PROTOCOL.md 5.7), so "Start transcription"
      // (which needs admin rights, as on Daily) works; Daily rooms need a real meeting token.
      ...(roomUrl.startsWith('local://') ? { token: 'owner' } : {}),
      user_name: userName,
      user_data: { dashboard: true },
      audio_out: { sample_rate: mic.sampleRate },
      audio_in: { sample_rate: context.sampleRate, frame_ms: 20 },
      vad: { enabled: false },
    });
    Object.assign(state, { me, mic, player, audioContext: context });
    mic.pipeTo(me);
    player.attach(me);
    me.on('joined', () => state.participants.forEach((entry) => upsert(entry.participant)));
    clientNote(`you joined ${roomUrl} as ${userName} (${joined.participant_id.slice(0, 8)})`);
    $('join-form').classList.add('joined');
    $('me').hidden = false;
    button.hidden = true;
    $('join-room').disabled = $('join-name').disabled = true;
    if (state.selected !== roomUrl) await selectRoom(roomUrl);
    state.participants.forEach((entry) => upsert(entry.participant));
    toast(`You are live in ${roomUrl}`, true);
  } catch (err) {
    toast(`cannot join ${roomUrl}: ${describeError(err)}`);
    await me?.close().catch(() => {});
    await context?.close().catch(() => {});
  } finally {
    button.disabled = false;
  }
}

async function leave() {
  const { me, mic, player, audioContext } = state;
  Object.assign(state, { me: null, mic: null, player: null, audioContext: null });
  await mic?.stop().catch(() => {});
  await player?.close().catch(() => {});
  await me?.close().catch(() => {});
  await audioContext?.close().catch(() => {});
  $('me').hidden = true;
  $('join-btn').hidden = false;
  $('join-room').disabled = $('join-name').disabled = false;
  $('mute-btn').textContent = 'Mute';
  $('mute-btn').classList.remove('on');
  clientNote('you left');
}

// ---------------------------------------------------------------- the phone (a simulated phone of local rooms)
//
// Its own connection, registered with a number (register-phone). A call to it arrives as
// phone-ringing; answer-call joins its room with the media given at registration, so the
// microphone and player start in the Answer click, as "Join with microphone" does. In a
// call the keypad is send-dtmf (a phone needs no sessionId: everyone else in the call gets
// dtmf-event), and leave hangs up; call-ended returns the phone to "registered".

const PHONE_RATE = 48000;

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function phoneNote(text) {
  const row = el('li', {}, el('span', { class: 't', text: clock() }), text);
  $('phone-log').prepend(row);
  while ($('phone-log').children.length > 30) $('phone-log').lastElementChild.remove();
}

function setPhoneState(next, status) {
  const phone = state.phone;
  phone.state = next;
  $('phone').dataset.state = next;
  $('phone-dot').dataset.state = next;
  $('phone-incoming').hidden = next !== 'ringing';
  for (const key of document.querySelectorAll('#keypad .key')) key.disabled = next !== 'in-call';
  if (next !== 'in-call') $('phone-timer').textContent = '';
  if (status) $('phone-status').textContent = status;
}

function showDisplay() {
  const { sent, received } = state.phone;
  $('phone-display').textContent = sent || received ? `${sent}${received ? `  ← ${received}` : ''}` : '';
}

async function registerPhone(number) {
  const phone = state.phone;
  if (phone.client) return;
  $('phone-register').disabled = true;
  const client = new GatewayClient({ url: WS_URL, reconnect: RETRY_FOREVER, token: TOKEN });
  try {
    client.on('protocol-error', (err) => phoneNote(`error: ${describeError(err)}`));
    client.on('phone-ringing', onRinging);
    client.on('call-ended', ({ call_id: callId, reason }) => endCall(callId, reason));
    client.on('dtmf-event', ({ data }) => {
      phone.received = (phone.received + data.tone).slice(-24);
      showDisplay();
      phoneNote(`tone ${data.tone} from the call`);
    });
    client.on('reconnected', () => phoneNote('reconnected; the number is registered again'));
    await client.connect();
    // Every call uses these media: the page's 48 kHz microphone out, the call's audio in.
    const registered = await client.registerPhone(number, {
      audio_out: { sample_rate: PHONE_RATE },
      audio_in: { sample_rate: PHONE_RATE, frame_ms: 20 },
      vad: { enabled: false },
    });
    Object.assign(phone, { client, number: registered });
    $('phone-own-number').textContent = registered;
    setPhoneState('registered', 'registered · waiting for calls');
    phoneNote(`registered ${registered}`);
    clientNote(`phone ${registered} registered`);
  } catch (err) {
    toast(`cannot register ${number}: ${describeError(err)}`);
    await client.close().catch(() => {});
  } finally {
    $('phone-register').disabled = false;
  }
}

function onRinging(data) {
  const phone = state.phone;
  if (phone.state !== 'registered') return; // busy: the caller keeps ringing until it stops
  phone.ring = data;
  // `from` is the dialer's callerId, or the room when it gave none.
  $('phone-from').textContent = data.from || data.room_url;
  $('phone-room').textContent = data.from && data.from !== data.room_url ? `in ${data.room_url}` : '';
  setPhoneState('ringing', `ringing · ${data.direction ?? 'incoming'} call`);
  phoneNote(`ringing: ${data.from} in ${data.room_url}`);
  toast(`☎ ${phone.number} is ringing: ${data.from}`, true);
}

/** Start the microphone and player in the click (browsers start audio only after a gesture). */
async function startCallAudio() {
  const context = new AudioContext({ sampleRate: PHONE_RATE });
  try {
    const mic = await MicrophoneCapture.start({ context, voiceProcessing: query.get('processing') !== '0' });
    const player = await AudioPlayer.start({ context });
    player.volume = Number($('volume').value);
    return { context, mic, player };
  } catch (err) {
    await context.close().catch(() => {});
    throw err;
  }
}

/** In a call: publish the microphone, play the call, watch its room. */
async function inCall(audio, joined, label) {
  const phone = state.phone;
  const { context, mic, player } = audio;
  Object.assign(phone, { context, mic, player, sent: '', received: '' });
  phone.call = { id: joined.call_id, room: joined.room_url, participantId: joined.participant_id, startedAt: performance.now() };
  phone.unpipe = mic.pipeTo(phone.client);
  phone.detach = player.attach(phone.client);
  showDisplay();
  setPhoneState('in-call', `in a call · ${label}`);
  phoneNote(`in the call in ${joined.room_url}`);
  if (state.selected !== joined.room_url) await selectRoom(joined.room_url);
}

async function answerCall() {
  const phone = state.phone;
  const ring = phone.ring;
  if (!ring || phone.state !== 'ringing') return;
  $('phone-answer').disabled = true;
  let audio;
  try {
    audio = await startCallAudio();
    const joined = await phone.client.answerCall(ring.call_id);
    phone.ring = null;
    await inCall(audio, joined, ring.from);
  } catch (err) {
    await stopCallAudio(audio);
    toast(`cannot answer: ${describeError(err)}`);
    setPhoneState('registered', 'registered · waiting for calls');
  } finally {
    $('phone-answer').disabled = false;
  }
}

async function rejectCall() {
  const phone = state.phone;
  const ring = phone.ring;
  if (!ring) return;
  phone.ring = null;
  setPhoneState('registered', 'registered · waiting for calls');
  try {
    await phone.client.rejectCall(ring.call_id);
    phoneNote(`declined ${ring.from}`);
  } catch (err) {
    toast(describeError(err));
  }
}

async function dial(to) {
  const phone = state.phone;
  if (phone.state !== 'registered') return;
  $('phone-dial').disabled = true;
  let audio;
  try {
    audio = await startCallAudio();
    const joined = await phone.client.dial(to);
    await inCall(audio, joined, to);
  } catch (err) {
    await stopCallAudio(audio);
    toast(`cannot dial ${to}: ${describeError(err)}`);
  } finally {
    $('phone-dial').disabled = false;
  }
}

async function stopCallAudio(audio) {
  if (!audio) return;
  await audio.mic?.stop().catch(() => {});
  await audio.player?.close().catch(() => {});
  await audio.context?.close().catch(() => {});
}

/** The call ended (our hang-up, the bot's stop-dialout, a transfer): back to waiting. */
async function endCall(callId, reason) {
  const phone = state.phone;
  if (phone.ring?.call_id === callId) {
    phone.ring = null;
    phoneNote(`the caller gave up (${reason})`);
  } else if (phone.call && phone.call.id !== callId) return;
  const audio = { mic: phone.mic, player: phone.player, context: phone.context };
  const call = phone.call;
  phone.unpipe?.();
  phone.detach?.();
  Object.assign(phone, { call: null, mic: null, player: null, context: null, unpipe: null, detach: null });
  phoneShown = 0;
  $('phone-level').style.width = '0%';
  $('phone-mute').textContent = 'Mute';
  $('phone-mute').classList.remove('on');
  setPhoneState('registered', 'registered · waiting for calls');
  if (call) phoneNote(`call ended (${reason}) after ${duration(performance.now() - call.startedAt)}`);
  await stopCallAudio(audio);
}

async function pressKey(key) {
  const phone = state.phone;
  if (phone.state !== 'in-call') return;
  phone.sent = (phone.sent + key).slice(-24);
  showDisplay();
  // One request per key, each after the previous one's reply, so that fast presses arrive in order.
  const client = phone.client;
  phone.keys = (phone.keys ?? Promise.resolve()).then(() =>
    client.sendDtmf(key, { digitDurationMs: 100 }).catch((err) => toast(`DTMF ${key}: ${describeError(err)}`)));
  await phone.keys;
}

async function hangUp() {
  const phone = state.phone;
  if (phone.state !== 'in-call') return;
  try {
    await phone.client.leave(); // call-ended follows, and endCall tears the audio down
  } catch (err) {
    toast(`hang up: ${describeError(err)}`);
  }
}

$('phone-register-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const number = $('phone-number').value.trim();
  if (!number) {
    toast('type a number to register, e.g. +12125550123');
    return;
  }
  registerPhone(number);
});
$('phone-answer').addEventListener('click', answerCall);
$('phone-reject').addEventListener('click', rejectCall);
$('phone-hangup').addEventListener('click', hangUp);
$('phone-mute').addEventListener('click', () => {
  const mic = state.phone.mic;
  if (!mic) return;
  mic.muted = !mic.muted;
  $('phone-mute').textContent = mic.muted ? 'Unmute' : 'Mute';
  $('phone-mute').classList.toggle('on', mic.muted);
});
$('phone-dial-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const to = $('phone-dial-to').value.trim();
  if (to) dial(to);
});
for (const key of document.querySelectorAll('#keypad .key')) {
  key.disabled = true;
  key.addEventListener('click', () => pressKey(key.dataset.key));
}
document.addEventListener('keydown', (event) => {
  // Typing digits on the keyboard presses the keypad while in a call (not while typing in a field).
  if (state.phone.state !== 'in-call' || event.target.closest?.('input, textarea')) return;
  const key = document.querySelector(`#keypad .key[data-key="${CSS.escape(event.key)}"]`);
  if (!key) return;
  key.classList.add('pressed');
  setTimeout(() => key.classList.remove('pressed'), 150);
  pressKey(event.key);
});
if (query.get('phone')) $('phone-number').value = query.get('phone');

// ---------------------------------------------------------------- controls

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (state.me) return;
  const room = $('join-room').value.trim() || state.selected || 'local://demo';
  const name = $('join-name').value.trim() || 'browser';
  join(room.includes('://') ? room : `local://${room}`, name);
});
$('leave-btn').addEventListener('click', leave);
$('mute-btn').addEventListener('click', () => {
  if (!state.mic) return;
  state.mic.muted = !state.mic.muted;
  $('mute-btn').textContent = state.mic.muted ? 'Unmute' : 'Mute';
  $('mute-btn').classList.toggle('on', state.mic.muted);
});
$('volume').addEventListener('input', (event) => {
  if (state.player) state.player.volume = Number(event.target.value);
});
$('watch-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = $('watch-room').value.trim();
  if (room) selectRoom(room.includes('://') ? room : `local://${room}`);
  $('watch-room').value = '';
});
$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('send-text').value.trim();
  if (!text) return;
  if (!state.me) {
    toast('join the room to send app messages (watching is read-only)');
    return;
  }
  let message = text;
  try {
    message = JSON.parse(text);
  } catch {
    /* plain text */
  }
  try {
    await state.me.sendAppMessage(message);
    $('send-text').value = '';
  } catch (err) {
    toast(describeError(err));
  }
});
for (const tab of document.querySelectorAll('.tab')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('.tab')) other.classList.toggle('active', other === tab);
    for (const pane of document.querySelectorAll('.tabpane')) pane.classList.toggle('active', pane.dataset.pane === tab.dataset.tab);
  });
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

requestAnimationFrame(animate);
startDirectory();
