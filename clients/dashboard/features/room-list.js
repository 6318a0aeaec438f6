// The Rooms panel: the gateway's live rooms, local and Daily (who is in each, how many watch), and
// under each room the gateway's sessions in it (bots, list-rooms' `sessions`). A click on a room
// watches the room; a click on a session watches that bot, seeing the room as it does. The Watch
// form takes a room URL; which room to watch first is decided here too. Many rooms: a search (room,
// people, bots) and a sort; rooms nobody is in (only watched, e.g. a mistyped name someone watches)
// are left out, so that watching a name creates no room for others to see. "N watching" never
// counts this page's own observer. Rooms and bots are operable by keyboard (Tab, Enter, Space).

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

  /** Watchers of a bot, or of a room, other than this page's observer. */
  const othersWatchingBot = (bot) => bot.watchers - (state.observing && state.watchedSession?.id === bot.session_id ? 1 : 0);
  const othersWatchingRoom = (room) => (room.observers ?? 0) - (state.observing && state.selected === room.room_url ? 1 : 0);

  function sessionItem(room, bot) {
    const picked = state.selectedSession === bot.session_id;
    const through = !picked && state.watchedSession?.id === bot.session_id; // the room is watched through it
    const others = othersWatchingBot(bot);
    const name = bot.user_name || (bot.participant_id ?? bot.session_id).slice(0, 8);
    const item = el('li', { class: `session${picked ? ' selected' : ''}${through ? ' through' : ''}`, 'data-session': bot.session_id, title: `session ${bot.session_id}`, tabIndex: 0 },
      el('span', { class: 'bot-icon', text: '◆', ariaHidden: 'true' }),
      el('span', { class: 'bot-name', text: name }),
      el('span', { class: 'bot-sub', text: `${bot.detached ? 'detached · ' : ''}${others > 0 ? `${others} watching` : 'bot'}` }));
    item.setAttribute('aria-label', `bot ${name}${picked ? ', watched' : ''}: press Enter to watch the room as it hears it`);
    activate(item, () => watch(room.room_url, { sessionId: bot.session_id }));
    return item;
  }

  /** Click, Enter or Space runs `action` (and not the room's, for a bot inside it). */
  function activate(item, action) {
    item.addEventListener('click', (event) => {
      event.stopPropagation();
      action();
    });
    item.addEventListener('keydown', (event) => {
      if (event.target !== item || (event.key !== 'Enter' && event.key !== ' ')) return;
      event.preventDefault();
      event.stopPropagation();
      action();
    });
  }

  /** The rooms to show: searched, sorted, without the empty ones others merely watch. */
  function shownRooms() {
    const query = $('room-search').value.trim().toLowerCase();
    const rooms = state.rooms.filter((room) => room.room_url === state.selected || Object.keys(room.participants).length || (room.sessions ?? []).length);
    const hidden = state.rooms.length - rooms.length;
    const text = (room) => [room.room_url, ...Object.values(room.participants).map((p) => p.info?.userName ?? p.id),
      ...(room.sessions ?? []).map((s) => s.user_name ?? s.session_id)].join(' ').toLowerCase();
    const matching = query ? rooms.filter((room) => text(room).includes(query)) : rooms;
    const sort = $('room-sort').value;
    const by = {
      name: (a, b) => a.room_url.localeCompare(b.room_url),
      busiest: (a, b) => Object.keys(b.participants).length - Object.keys(a.participants).length || a.room_url.localeCompare(b.room_url),
      newest: (a, b) => (b.created_at ?? 0) - (a.created_at ?? 0) || a.room_url.localeCompare(b.room_url),
    }[sort] ?? (() => 0);
    return { rooms: [...matching].sort(by), hidden, unmatched: rooms.length - matching.length };
  }

  function render() {
    const focused = document.activeElement?.closest?.('#room-list [data-session], #room-list [data-room]');
    const focusKey = focused ? (focused.dataset.session ? `[data-session="${CSS.escape(focused.dataset.session)}"]` : `[data-room="${CSS.escape(focused.dataset.room)}"]`) : null;
    const { rooms, hidden, unmatched } = shownRooms();
    $('room-list').replaceChildren(...rooms.map((room) => {
      const people = Object.values(room.participants);
      const names = people.map((p) => p.info?.userName ?? p.id.slice(0, 6)).join(', ');
      const selected = room.room_url === state.selected && !state.selectedSession;
      const bots = room.sessions ?? [];
      const others = othersWatchingRoom(room);
      const item = el('li', { class: `room${selected ? ' selected' : ''}`, 'data-room': room.room_url, 'data-backend': room.backend, tabIndex: 0 },
        el('span', { class: 'name', text: roomLabel(room.room_url), title: room.room_url }),
        el('span', { class: `live${people.length ? '' : ' idle'}`, ariaHidden: 'true' }),
        el('span', { class: 'sub', text: `${room.backend} · ${people.length} in room${others > 0 ? ` · ${others} watching` : ''}${names ? ` · ${names}` : ''}` }));
      if (selected) item.setAttribute('aria-current', 'true');
      if (bots.length) item.append(el('ul', { class: 'sessions', ariaLabel: 'bots in this room' }, ...bots.map((bot) => sessionItem(room, bot))));
      activate(item, () => watch(room.room_url));
      return item;
    }));
    $('room-count').textContent = String(rooms.length);
    const notes = [hidden ? `${hidden} empty room${hidden === 1 ? '' : 's'} (only watched) not shown` : '', unmatched ? `${unmatched} not matching the search` : ''].filter(Boolean);
    $('rooms-hidden').hidden = !notes.length;
    $('rooms-hidden').textContent = notes.join(' · ');
    if (focusKey) $('room-list').querySelector(focusKey)?.focus();
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
  $('room-search').addEventListener('input', render);
  $('room-sort').addEventListener('change', render);

  $('watch-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const room = $('watch-room').value.trim();
    if (room) watch(room.includes('://') ? room : `local://${room}`);
    $('watch-room').value = '';
  });
}
