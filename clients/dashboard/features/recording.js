// Recording the watched room: an indicator while any recording of it runs (recording-started /
// -stopped / -error, and list-rooms' `recordings` so that a page opened later knows too), and the
// Start / Stop recording button, which needs you joined (watching is read-only) with admin rights
// (local rooms: the dashboard joins as the owner; others get not_allowed, shown as a toast). Once
// a local recording stops, `recording-stopped` gives the URL the gateway serves its mix at (GET
// /recordings/..., with the page's token): the link to the finished WAV.

import { $, describeError, toast } from '../lib/dom.js';
import { Change } from '../lib/store.js';

/** What start-recording asks for: the room's mix (a WAV on local rooms). */
const SETTINGS = { type: 'cloud-audio-only' };

/** The gateway's HTTP URL of a recording (`url` is a path on the gateway's port), with the page's token. */
export function recordingHref(settings, url) {
  const ws = new URL(settings.wsUrl);
  const href = new URL(url, `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`);
  if (settings.token) href.searchParams.set('token', settings.token);
  return href.href;
}

/** Binds the button, the indicator and the link. */
export function createRecording(store, settings) {
  const { state } = store;
  const running = new Set(); // stream ids recording the watched room
  let busy = false;

  function render() {
    const on = running.size > 0;
    $('rec-indicator').hidden = !on;
    const button = $('rec-btn');
    button.dataset.state = busy ? (on ? 'stopping' : 'starting') : on ? 'on' : 'off';
    button.textContent = busy ? (on ? 'Stopping…' : 'Starting…') : on ? 'Stop recording' : 'Start recording';
    button.disabled = busy || !state.me;
    button.title = state.me ? 'needs admin rights in the room' : 'join the room to record it (admins only)';
  }

  store.on(Change.ROOM_EVENT, ({ event, data }) => {
    if (event === 'recording-started') running.add(data.status?.streamId ?? 'default');
    else if (event === 'recording-stopped' || event === 'recording-error') running.delete(data.stream_id ?? 'default');
    else return;
    if (event === 'recording-stopped' && data.url) showLink(data);
    busy = false;
    render();
  });
  store.on(Change.ROOMS, () => {
    const listed = state.rooms.find((r) => r.room_url === state.selected)?.recordings;
    if (!listed || busy) return;
    running.clear();
    for (const rec of listed) running.add(rec.stream_id);
    render();
  });
  store.on(Change.WATCHING, () => {
    running.clear();
    $('rec-link').hidden = true;
    render();
  });

  function showLink(data) {
    const link = $('rec-link');
    link.href = recordingHref(settings, data.url);
    link.download = `${(data.path ?? 'recording').replaceAll('/', '-')}-mix.wav`;
    link.textContent = 'the last recording (WAV)';
    link.title = data.path ?? data.url;
    link.hidden = false;
  }
  store.on(Change.YOU, render);

  $('rec-btn').addEventListener('click', async () => {
    if (!state.me || busy) return;
    const stop = running.size > 0;
    busy = true;
    render();
    try {
      if (stop) await state.me.request('stop-recording');
      else await state.me.request('start-recording', { streaming_settings: SETTINGS });
    } catch (err) {
      busy = false;
      render();
      toast(`cannot ${stop ? 'stop' : 'start'} recording: ${describeError(err)}`);
    }
  });
  render();
}
