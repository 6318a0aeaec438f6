// The directory session: the page's connection to the gateway (the badge in the top bar, the
// server's name and version) and the gateway's rooms, listed every 2 s (list-rooms). Whether the
// gateway answers is the store's CONNECTION change (state.online, state.lastSeen).

import { ConnectionState } from '/sdk/index.js';

import { $, clock, describeError, toast } from '../lib/dom.js';
import { newClient } from '../lib/settings.js';
import { Change } from '../lib/store.js';

const REFRESH_MS = 2000;

/** Returns start(), which connects (retrying every 2 s until the gateway answers) and lists rooms. */
export function createDirectory(store, settings) {
  const { state } = store;

  function renderConnection() {
    const s = state.directory?.state ?? ConnectionState.DISCONNECTED;
    $('conn').dataset.state = s;
    const online = s === ConnectionState.CONNECTED;
    if (online) state.lastSeen = new Date();
    $('conn-text').textContent = online ? `connected · ${new URL(settings.wsUrl).host}`
      : state.lastSeen ? `unreachable · last seen ${clock(state.lastSeen).slice(0, 8)} · ${s}` : s;
    if (online !== state.online) {
      state.online = online;
      store.emit(Change.CONNECTION, online);
    }
  }

  async function refresh() {
    const directory = state.directory;
    if (!directory || directory.state !== ConnectionState.CONNECTED) return;
    try {
      state.rooms = await directory.listRooms();
    } catch {
      return;
    }
    state.lastSeen = new Date();
    store.emit(Change.ROOMS, state.rooms);
  }

  async function start() {
    const directory = newClient(settings);
    state.directory = directory;
    directory.on('connection-state-changed', renderConnection);
    directory.on('hello', (hello) => {
      $('server-info').textContent = `${hello.server.name} ${hello.server.version} · ${hello.protocol}`;
    });
    try {
      await directory.connect();
    } catch (err) {
      renderConnection();
      toast(`cannot reach the gateway at ${settings.wsUrl}: ${describeError(err)}`);
      setTimeout(start, REFRESH_MS);
      return;
    }
    await refresh();
    setInterval(refresh, REFRESH_MS);
  }

  return { start };
}
