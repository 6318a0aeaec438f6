// Watching a room: the observer session (observe: read-only, nobody in the room sees it) of the
// selected room, or of one of the gateway's sessions in it (a bot: `watchSession`, the room as that
// bot sees it); its events routed to the room model, the event log, transcripts and messages. A
// Daily room is watched through one of the gateway's sessions in it (the reply says which). A
// session observes once, so watching another room or bot opens a new observer.

import { $, describeError, toast } from '../lib/dom.js';
import { newClient, showRoomInUrl } from '../lib/settings.js';
import { Change } from '../lib/store.js';

/** What the observer asks for: everyone's VAD and levels every 100 ms, no audio. */
const OBSERVE_OPTIONS = { audio: 'analysis', levels_interval_ms: 100, vad: { start_ms: 150, stop_ms: 600 } };

/** Returns watch(roomUrl, {sessionId}): the room, or the gateway's session sessionId in it. */
export function createWatcher(store, settings, { room, log, transcript, messages }) {
  const { state } = store;

  async function watch(roomUrl, { sessionId = null } = {}) {
    if (state.selected === roomUrl && state.selectedSession === sessionId && state.observer) return;
    const previous = state.observer;
    state.observer = null;
    state.observing = false;
    state.calls.clear();
    if (previous) previous.close().catch(() => {});
    room.clear();
    room.setActiveSpeaker(null);
    $('room-note').textContent = '';
    state.selected = roomUrl;
    state.selectedSession = sessionId;
    state.watchedSession = sessionId ? botOf(roomUrl, sessionId) : null;
    showRoomInUrl(settings, roomUrl, sessionId);
    store.emit(Change.WATCHING, roomUrl);

    const observer = newClient(settings);
    state.observer = observer;
    follow(observer);
    try {
      await observer.connect();
      const snapshot = sessionId
        ? await observer.watchSession(sessionId, OBSERVE_OPTIONS)
        : await observer.observe(roomUrl, OBSERVE_OPTIONS);
      if (state.observer !== observer) return;
      if (snapshot.session_id) {
        // Watching a bot, or a Daily room through one: which one, and its participant.
        state.watchedSession = { ...botOf(snapshot.room_url, snapshot.session_id), participantId: snapshot.participant_id ?? null };
      }
      state.observing = true; // from now on the room's watchers count this page (room-list.js leaves it out)
      store.emit(Change.WATCHING, snapshot.room_url ?? roomUrl);
      for (const participant of Object.values(snapshot.participants)) room.upsert(participant);
      const through = state.watchedSession ? ` through ${state.watchedSession.userName}` : '';
      const count = Object.keys(snapshot.participants).length;
      log.note(`watching ${roomUrl}${through} (${count} in room)`);
      // Observing a local room that nobody is in makes it; nobody else is shown it (room-list.js).
      $('room-note').textContent = count ? '' : `Nobody is in ${roomUrl} yet: people appear here as they join.`;
    } catch (err) {
      if (state.observer === observer) toast(`cannot watch ${sessionId ? `session ${sessionId.slice(0, 8)}` : roomUrl}: ${describeError(err)}`);
    }
  }

  /** What the room list says of one of the gateway's sessions. */
  function botOf(roomUrl, sessionId) {
    const listed = state.rooms.find((r) => r.room_url === roomUrl)?.sessions?.find((s) => s.session_id === sessionId);
    return { id: sessionId, participantId: listed?.participant_id ?? null, userName: listed?.user_name || sessionId.slice(0, 8) };
  }

  /** Routes the observer's events while it is the one watching (a replaced one goes quiet). */
  function follow(observer) {
    const current = (fn) => (payload) => {
      if (state.observer === observer) fn(payload);
    };
    observer.on('server-event', current(({ event, data }) => {
      log.serverEvent(event, data);
      store.emit(Change.ROOM_EVENT, { event, data });
    }));
    observer.on('participant-joined', current(({ participant }) => {
      $('room-note').textContent = '';
      room.upsert(participant);
    }));
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
    observer.on('left', current(({ reason }) => {
      // The bot watched (or watched through) left its room: so did the observer.
      if (state.watchedSession) log.note(`${state.watchedSession.userName} left the room (${reason}): pick a room or a bot to watch`);
      room.clear();
    }));
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
