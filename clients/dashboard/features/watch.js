// Watching a room: the observer session (observe: read-only, nobody in the room sees it) of the
// selected room, its events routed to the room model, the event log, transcripts and messages.
// A session observes once, so watching another room opens a new observer.

import { describeError, toast } from '../lib/dom.js';
import { newClient, showRoomInUrl } from '../lib/settings.js';
import { Change } from '../lib/store.js';

/** What the observer asks for: everyone's VAD and levels every 100 ms, no audio. */
const OBSERVE_OPTIONS = { audio: 'analysis', levels_interval_ms: 100, vad: { start_ms: 150, stop_ms: 600 } };

/** Returns watch(roomUrl). */
export function createWatcher(store, settings, { room, log, transcript, messages }) {
  const { state } = store;

  async function watch(roomUrl) {
    if (state.selected === roomUrl && state.observer) return;
    const previous = state.observer;
    state.observer = null;
    if (previous) previous.close().catch(() => {});
    room.clear();
    room.setActiveSpeaker(null);
    state.selected = roomUrl;
    showRoomInUrl(settings, roomUrl);
    store.emit(Change.WATCHING, roomUrl);

    const observer = newClient(settings);
    state.observer = observer;
    follow(observer);
    try {
      await observer.connect();
      const snapshot = await observer.observe(roomUrl, OBSERVE_OPTIONS);
      if (state.observer !== observer) return;
      for (const participant of Object.values(snapshot.participants)) room.upsert(participant);
      log.note(`watching ${roomUrl} (${Object.keys(snapshot.participants).length} in room)`);
    } catch (err) {
      if (state.observer === observer) toast(`cannot watch ${roomUrl}: ${describeError(err)}`);
    }
  }

  /** Routes the observer's events while it is the one watching (a replaced one goes quiet). */
  function follow(observer) {
    const current = (fn) => (payload) => {
      if (state.observer === observer) fn(payload);
    };
    observer.on('server-event', current(({ event, data }) => log.serverEvent(event, data)));
    observer.on('participant-joined', current(({ participant }) => room.upsert(participant)));
    observer.on('participant-updated', current(({ participant }) => room.upsert(participant)));
    observer.on('participant-left', current(({ participant }) => room.remove(participant.id)));
    observer.on('audio-levels', current(({ levels }) => room.setLevels(levels)));
    observer.on('speech-started', current(({ participant_id: id }) => {
      state.counters.speechStarted += 1;
      room.setSpeaking(id, true);
    }));
    observer.on('speech-stopped', current(({ participant_id: id }) => {
      state.counters.speechStopped += 1;
      room.setSpeaking(id, false);
    }));
    observer.on('active-speaker-changed', current(({ participant }) => room.setActiveSpeaker(participant?.id ?? null)));
    observer.on('app-message', current(messages.add));
    observer.on('transcription-message', current(transcript.add));
    observer.on('transcription-started', current(() => transcript.setRunning(true)));
    observer.on('transcription-stopped', current(() => transcript.setRunning(false)));
    observer.on('reconnecting', current(({ attempt, delayMs }) => log.note(`connection lost; retry ${attempt} in ${delayMs} ms`)));
    observer.on('reconnected', current(async () => {
      log.note('reconnected; watching again');
      try {
        const participants = await observer.getParticipants();
        if (state.observer === observer) room.replaceAll(Object.values(participants));
      } catch (err) {
        toast(describeError(err));
      }
    }));
  }

  return { watch };
}
