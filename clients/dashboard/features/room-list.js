// The Rooms panel: the gateway's live rooms, local and Daily (who is in each, how many watch), and
// under each room the gateway's sessions in it (bots, list-rooms' `sessions`). A click on a room
// watches the room; a click on a session watches that bot, seeing the room as it does. The Watch
// form takes a room URL; which room to watch first is decided here too.

import { $, el } from '../lib/dom.js';
import { Change } from '../lib/store.js';

/** A room's short name: a local room's name, a Daily room's host and path. */
export function roomLabel(roomUrl) {
  if (roomUrl.startsWith('local://')) return roomUrl.slice('local://'.length);
  try {
    const url = new URL(roomUrl);
    return `${url.host}${url.pathname}`;
  } catch {
    return roomUrl;
  }
}

/** Follows the directory's refreshes; `watch(roomUrl, {sessionId})` is watch.js's. */
export function createRoomList(store, settings, { watch }) {
  const { state } = store;

  function sessionItem(room, bot) {
    const picked = state.selectedSession === bot.session_id;
    const through = !picked && state.watchedSession?.id === bot.session_id; // the room is watched through it
    const item = el('li', { class: `session${picked ? ' selected' : ''}${through ? ' through' : ''}`, 'data-session': bot.session_id, title: `session ${bot.session_id}` },
      el('span', { class: 'bot-icon', text: '◆' }),
      el('span', { class: 'bot-name', text: bot.user_name || (bot.participant_id ?? bot.session_id).slice(0, 8) }),
      el('span', { class: 'bot-sub', text: `${bot.detached ? 'detached · ' : ''}${bot.watchers ? `${bot.watchers} watching` : 'bot'}` }));
    item.addEventListener('click', (event) => {
      event.stopPropagation();
      watch(room.room_url, { sessionId: bot.session_id });
    });
    return item;
  }

  function render() {
    $('room-list').replaceChildren(...state.rooms.map((room) => {
      const people = Object.values(room.participants);
      const names = people.map((p) => p.info?.userName ?? p.id.slice(0, 6)).join(', ');
      const selected = room.room_url === state.selected && !state.selectedSession;
      const bots = room.sessions ?? [];
      const item = el('li', { class: `room${selected ? ' selected' : ''}`, 'data-room': room.room_url, 'data-backend': room.backend },
        el('span', { class: 'name', text: roomLabel(room.room_url), title: room.room_url }),
        el('span', { class: `live${people.length ? '' : ' idle'}` }),
        el('span', { class: 'sub', text: `${room.backend} · ${people.length} in room${room.observers ? ` · ${room.observers} watching` : ''}${names ? ` · ${names}` : ''}` }));
      if (bots.length) item.append(el('ul', { class: 'sessions' }, ...bots.map((bot) => sessionItem(room, bot))));
      item.addEventListener('click', () => watch(room.room_url));
      return item;
    }));
    $('room-count').textContent = String(state.rooms.length);
  }

  /** Until a room is watched: the URL's ?session= or ?room=, else the demo room, else the first room listed. */
  function watchFirstRoom() {
    if (state.selected) return;
    if (settings.session) {
      const room = state.rooms.find((r) => (r.sessions ?? []).some((s) => s.session_id === settings.session));
      if (room) watch(room.room_url, { sessionId: settings.session });
      return;
    }
    const demo = state.rooms.find((r) => r.room_url === 'local://demo');
    const pick = settings.room ?? demo?.room_url ?? state.rooms[0]?.room_url;
    if (pick) watch(pick);
  }

  store.on(Change.ROOMS, () => {
    render();
    watchFirstRoom();
  });
  store.on(Change.WATCHING, render);

  $('watch-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const room = $('watch-room').value.trim();
    if (room) watch(room.includes('://') ? room : `local://${room}`);
    $('watch-room').value = '';
  });
}
