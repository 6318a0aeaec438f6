// The middle column: the watched room's header (title, head count, active speaker) and one card
// per participant (avatar, name, id, badges, a level meter, a level sparkline, the microphone); the
// bot being watched (state.watchedSession) is marked. Plain words: the microphone's state in
// words (Daily's raw state on hover), a short id with a copy button; a phone participant's card
// says how its call goes (state.calls, telephony.js). A click on a card (or Enter) shows only that
// participant's events in the log (the store's FOCUS change).

import { $, el, shortId } from '../lib/dom.js';
import { dbfsText, meterPosition } from '../lib/audio.js';
import { displayName, hue, initials } from '../lib/people.js';
import { Change } from '../lib/store.js';
import { LEVEL_HISTORY } from './room-model.js';

/** Daily's microphone states (participant.media.microphone.state) in words. */
const MIC_WORDS = {
  playable: 'microphone on', sendable: 'microphone on', loading: 'microphone starting', interrupted: 'microphone interrupted',
  blocked: 'microphone blocked', off: 'microphone off',
};

/** A phone call's state (telephony.js) as its card's badge says it. */
const CALL_WORDS = { ringing: 'phone · ringing', answered: 'phone · in a call', ended: 'phone · hung up', failed: 'phone · call failed' };

/** A level older than this falls to silence on the card. */
const STALE_LEVEL_MS = 500;

/** Follows the room model; returns draw(now), which moves the meters and sparklines each frame. */
export function createRoomView(store) {
  const { state } = store;
  const cards = new Map(); // participant id -> the card's nodes and its meter's shown position

  function renderHeader() {
    const count = state.participants.size;
    $('cards-empty').hidden = count > 0 || !state.selected;
    const room = state.rooms.find((r) => r.room_url === state.selected);
    const others = (room?.observers ?? 0) - (state.observing ? 1 : 0); // not this page's own observer
    $('room-meta').textContent = state.selected
      ? `${count} participant${count === 1 ? '' : 's'}${others > 0 ? ` · ${others} other${others === 1 ? '' : 's'} watching` : ''}`
      : '';
  }

  function renderCard(entry) {
    const view = cards.get(entry.id);
    const { participant } = entry;
    const name = displayName(participant);
    view.card.dataset.name = name;
    view.nameNode.textContent = name;
    view.avatar.textContent = initials(name);
    view.avatar.style.background = `hsl(${hue(name)} 70% 62%)`;
    view.youBadge.hidden = state.me?.participantId !== participant.id;
    view.demoBadge.hidden = !participant.info?.userData?.demo;
    const watched = Boolean(state.watchedSession?.participantId) && state.watchedSession.participantId === participant.id;
    view.botBadge.hidden = !watched;
    view.card.classList.toggle('watched', watched);
    const mic = participant.media?.microphone?.state ?? 'off';
    view.micNode.textContent = MIC_WORDS[mic] ?? `microphone ${mic}`;
    view.micNode.title = `media.microphone.state: ${mic}`;
    renderCall(entry.id);
  }

  /** The phone badge of the participant a call is with (its sessionId), if any. */
  function renderCall(id) {
    const view = cards.get(id);
    const call = state.calls.get(id);
    if (!view) return;
    view.phoneBadge.hidden = !call;
    if (!call) return;
    view.phoneBadge.dataset.state = call.state === 'failed' ? 'error' : call.state;
    view.phoneBadge.textContent = call.error ? `${CALL_WORDS[call.state]}: ${call.error}` : CALL_WORDS[call.state];
    view.phoneBadge.title = `call ${call.id}${call.number ? ` with ${call.number}` : ''}`;
  }

  function addCard(entry) {
    const view = createCard(entry.id);
    const focus = () => store.emit(Change.FOCUS, state.log.participant === entry.id ? null : entry.id);
    view.card.addEventListener('click', (event) => {
      if (!event.target.closest('button') || event.target === view.focusButton) focus();
    });
    cards.set(entry.id, view);
    $('cards').append(view.card);
    renderCard(entry);
    renderHeader();
  }

  function removeCard(entry) {
    cards.get(entry.id)?.card.remove();
    cards.delete(entry.id);
    renderHeader();
  }

  function showSpeaking(entry) {
    const view = cards.get(entry.id);
    view.card.classList.toggle('speaking', entry.speaking);
    view.card.dataset.speaking = String(entry.speaking);
    view.talkBadge.hidden = !entry.speaking;
  }

  function showActiveSpeaker(id) {
    for (const [cardId, view] of cards) view.card.classList.toggle('active', cardId === id);
    $('active-speaker').textContent = id ? `active speaker: ${displayName(state.participants.get(id)?.participant ?? { id })}` : '';
  }

  store.on(Change.WATCHING, (roomUrl) => {
    const bot = state.watchedSession;
    $('room-title').textContent = bot ? `${roomUrl} · as ${bot.userName}` : roomUrl;
    $('room-title').dataset.session = bot?.id ?? '';
    renderHeader();
    state.participants.forEach(renderCard);
  });
  store.on(Change.ROOMS, renderHeader);
  store.on(Change.PARTICIPANT_ADDED, addCard);
  store.on(Change.PARTICIPANT_UPDATED, renderCard);
  store.on(Change.PARTICIPANT_LEFT, removeCard);
  store.on(Change.SPEAKING, showSpeaking);
  store.on(Change.ACTIVE_SPEAKER, showActiveSpeaker);
  store.on(Change.YOU, () => state.participants.forEach(renderCard));
  store.on(Change.CALL, (call) => renderCall(call.id));
  store.on(Change.FOCUS, (id) => {
    for (const [cardId, view] of cards) {
      view.card.classList.toggle('filtering', cardId === id);
      view.focusButton.setAttribute('aria-pressed', String(cardId === id));
    }
  });

  /** Meters ease toward the latest level; sparklines redraw the level history. */
  function draw(now) {
    for (const entry of state.participants.values()) {
      const view = cards.get(entry.id);
      const level = now - entry.updatedAt > STALE_LEVEL_MS ? 0 : entry.level;
      view.shown += (meterPosition(level) - view.shown) * 0.35;
      view.fill.style.width = `${(view.shown * 100).toFixed(1)}%`;
      view.card.dataset.level = level.toFixed(4);
      view.levelText.textContent = dbfsText(level);
      drawSparkline(view.spark, entry.history, entry.speaking);
    }
  }

  return { draw };
}

function createCard(id) {
  const avatar = el('div', { class: 'avatar' });
  const nameNode = el('div', { class: 'name' });
  const youBadge = el('span', { class: 'badge you', text: 'you', hidden: true });
  const demoBadge = el('span', { class: 'badge demo', text: 'demo', hidden: true });
  const talkBadge = el('span', { class: 'badge talk', text: 'speaking', hidden: true });
  const botBadge = el('span', { class: 'badge bot', text: 'watched bot', hidden: true });
  const phoneBadge = el('span', { class: 'badge phone', hidden: true });
  const fill = el('div', { class: 'fill' });
  const spark = el('canvas', { class: 'spark', width: 400, height: 60 });
  const levelText = el('span', { text: '-∞ dB' });
  const micNode = el('span', { text: 'mic' });
  // A click on the card toggles the log's participant filter; its "events" button does the same by keyboard.
  const focusButton = el('button', { class: 'copy', type: 'button', text: 'events', title: 'show only this participant\'s events in the log' });
  focusButton.setAttribute('aria-pressed', 'false');
  const card = el('article', { class: 'card', 'data-participant-id': id, 'data-level': '0', 'data-speaking': 'false', title: 'click: only this participant\'s events in the log' },
    el('div', { class: 'avatar-wrap', ariaHidden: 'true' }, avatar),
    el('div', { class: 'who' }, nameNode, el('div', { class: 'id' }, shortId(id, 'participant id'), focusButton), el('div', { class: 'badges' }, youBadge, demoBadge, botBadge, phoneBadge, talkBadge)),
    el('div', { class: 'levels' }, el('div', { class: 'meter', ariaHidden: 'true' }, fill), el('div', { ariaHidden: 'true' }, spark), el('div', { class: 'stat' }, micNode, levelText)));
  return { card, focusButton, avatar, nameNode, youBadge, demoBadge, botBadge, phoneBadge, talkBadge, fill, spark, levelText, micNode, shown: 0 };
}

/** The last ~9 s of levels as a filled line, green while the participant speaks. */
function drawSparkline(canvas, values, speaking) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (!values.length) return;
  const step = width / (LEVEL_HISTORY - 1);
  const x0 = width - (values.length - 1) * step;
  const y = (v) => height - meterPosition(v) * (height - 4);
  const gradient = ctx.createLinearGradient(0, height, 0, 0);
  gradient.addColorStop(0, 'rgba(52, 211, 153, 0.05)');
  gradient.addColorStop(1, speaking ? 'rgba(52, 211, 153, 0.55)' : 'rgba(34, 211, 238, 0.35)');
  ctx.beginPath();
  ctx.moveTo(x0, height);
  values.forEach((v, i) => ctx.lineTo(x0 + i * step, y(v)));
  ctx.lineTo(width, height);
  ctx.closePath();
  ctx.fillStyle = gradient;
  ctx.fill();
  ctx.beginPath();
  values.forEach((v, i) => {
    if (i) ctx.lineTo(x0 + i * step, y(v));
    else ctx.moveTo(x0, y(v));
  });
  ctx.strokeStyle = speaking ? '#34d399' : '#22d3ee';
  ctx.lineWidth = 2;
  ctx.stroke();
}
