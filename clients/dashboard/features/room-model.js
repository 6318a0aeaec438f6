// The watched room's participants as data (no DOM): who is in it, their levels, who speaks.
// The views (room-view.js, timeline.js) follow it through the store's changes.

import { displayName } from '../lib/people.js';
import { Change } from '../lib/store.js';

/** Level samples kept per participant (~9 s at the observer's 100 ms interval). */
export const LEVEL_HISTORY = 90;

/** The room model over store.state.participants; watch.js feeds it from the observer's events. */
export function createRoomModel(store) {
  const { state } = store;

  /** A participant's name for the log, transcripts and messages. */
  function nameOf(id) {
    if (!id) return 'someone';
    const entry = state.participants.get(id);
    return entry ? displayName(entry.participant) : id.slice(0, 8);
  }

  /** Adds the participant, or updates the one with the same id. */
  function upsert(participant) {
    let entry = state.participants.get(participant.id);
    if (entry) {
      entry.participant = participant;
      store.emit(Change.PARTICIPANT_UPDATED, entry);
      return;
    }
    entry = { id: participant.id, participant, level: 0, speaking: false, history: [], updatedAt: 0 };
    state.participants.set(participant.id, entry);
    store.emit(Change.PARTICIPANT_ADDED, entry);
  }

  function remove(id) {
    const entry = state.participants.get(id);
    if (!entry) return;
    state.participants.delete(id);
    store.emit(Change.PARTICIPANT_LEFT, entry);
  }

  /** Everyone out (another room is watched, or the observer reconnected and reloads). */
  function clear() {
    for (const id of [...state.participants.keys()]) remove(id);
  }

  /** The participants now in the room, replacing whoever was known. */
  function replaceAll(participants) {
    clear();
    for (const participant of participants) upsert(participant);
  }

  function setSpeaking(id, speaking) {
    const entry = state.participants.get(id);
    if (!entry || entry.speaking === speaking) return;
    entry.speaking = speaking;
    store.emit(Change.SPEAKING, entry);
  }

  /** An audio-levels event: each participant's level (RMS 0..1) and speaking flag. */
  function setLevels(levels, now = performance.now()) {
    for (const { participant_id: id, level, speaking } of levels) {
      const entry = state.participants.get(id);
      if (!entry) continue;
      entry.level = level;
      entry.updatedAt = now;
      entry.history.push(level);
      if (entry.history.length > LEVEL_HISTORY) entry.history.shift();
      setSpeaking(id, speaking);
    }
  }

  function setActiveSpeaker(id) {
    state.activeSpeaker = id;
    store.emit(Change.ACTIVE_SPEAKER, id);
  }

  return { nameOf, upsert, remove, clear, replaceAll, setSpeaking, setLevels, setActiveSpeaker };
}
