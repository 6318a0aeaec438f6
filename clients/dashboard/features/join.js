// You in a room: "Join with microphone" in the top bar joins the room as a participant (join:
// your microphone out at 48 kHz, the room's audio in, played), with Mute, the room's volume and
// Leave. Your session is its own; the observer keeps watching beside it.

import { $, describeError, toast } from '../lib/dom.js';
import { PeakMeter, startAudio, stopAudio } from '../lib/audio.js';
import { newClient } from '../lib/settings.js';
import { Change } from '../lib/store.js';

const SAMPLE_RATE = 48000;

/** Binds the join bar; `watch` is watch.js's, `note` the event log's. Returns draw(now) for your meter. */
export function createJoin(store, settings, { watch, note }) {
  const { state } = store;
  const meter = new PeakMeter($('me-level'));

  async function join(roomUrl, userName) {
    const button = $('join-btn');
    button.disabled = true;
    let audio;
    let me;
    try {
      audio = await startAudio({ sampleRate: SAMPLE_RATE, voiceProcessing: settings.voiceProcessing, volume: Number($('volume').value) });
      const { context, mic, player } = audio;
      me = newClient(settings);
      me.on('protocol-error', (err) => note(`your session: ${describeError(err)}`));
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
      me.on('joined', () => store.emit(Change.YOU));
      note(`you joined ${roomUrl} as ${userName} (${joined.participant_id.slice(0, 8)})`);
      showJoined(true);
      if (state.selected !== roomUrl) await watch(roomUrl);
      store.emit(Change.YOU);
      toast(`You are live in ${roomUrl}`, true);
    } catch (err) {
      toast(`cannot join ${roomUrl}: ${describeError(err)}`);
      await me?.close().catch(() => {});
      await stopAudio(audio);
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
    showJoined(false);
    $('mute-btn').textContent = 'Mute';
    $('mute-btn').classList.remove('on');
    store.emit(Change.YOU);
    note('you left');
  }

  /** Joined: your meter, Mute, volume and Leave instead of the join button. */
  function showJoined(joined) {
    $('join-form').classList.toggle('joined', joined);
    $('me').hidden = !joined;
    $('join-btn').hidden = joined;
    $('join-room').disabled = $('join-name').disabled = joined;
  }

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
  store.on(Change.WATCHING, (roomUrl) => ($('join-room').placeholder = roomUrl));

  function draw() {
    if (state.mic) meter.update(state.mic.level);
  }

  return { draw };
}
