// The Rooms panel: the gateway's live rooms (who is in each, how many watch), the one being
// watched highlighted, a click or the Watch form to watch another; and which room to watch first.

import { $, el } from '../lib/dom.js';
import { Change } from '../lib/store.js';

/** Follows the directory's refreshes; `watch(roomUrl)` is watch.js's. */
export function createRoomList(store, settings, { watch }) {
  const { state } = store;

  function render() {
    $('room-list').replaceChildren(...state.rooms.map((room) => {
      const people = Object.values(room.participants);
      const names = people.map((p) => p.info?.userName ?? p.id.slice(0, 6)).join(', ');
      const item = el('li', { class: `room${room.room_url === state.selected ? ' selected' : ''}`, 'data-room': room.room_url },
        el('span', { class: 'name', text: room.room_url.replace(/^local:\/\//, ''), title: room.room_url }),
        el('span', { class: `live${people.length ? '' : ' idle'}` }),
        el('span', { class: 'sub', text: `${room.backend} · ${people.length} in room${room.observers ? ` · ${room.observers} watching` : ''}${names ? ` · ${names}` : ''}` }));
      item.addEventListener('click', () => watch(room.room_url));
      return item;
    }));
    $('room-count').textContent = String(state.rooms.length);
  }

  /** Until a room is watched: the URL's ?room=, else the demo room, else the first room listed. */
  function watchFirstRoom() {
    if (state.selected) return;
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
