// The page's state, one section per feature, and the changes features announce to each other.
//
// Features get the store passed in (main.js); none reaches for a global. window.dashboard is the
// same `state` object, for people and tests to inspect, never read by the page itself.

/** What a feature may announce with store.emit(); listeners get the detail shown. */
export const Change = Object.freeze({
  /** The gateway's room list was refreshed (state.rooms). */
  ROOMS: 'rooms',
  /** A room is being watched now (detail: its URL; state.watchedSession says through which bot, if any); its
   *  participants were cleared before. */
  WATCHING: 'watching',
  /** Someone is in the watched room (detail: the participant entry of room-model.js). */
  PARTICIPANT_ADDED: 'participant-added',
  /** A participant's name, badges or media changed (detail: the entry). */
  PARTICIPANT_UPDATED: 'participant-updated',
  /** Someone left, or the room was cleared (detail: the entry, already out of state.participants). */
  PARTICIPANT_LEFT: 'participant-left',
  /** A participant started or stopped speaking (detail: the entry; entry.speaking says which). */
  SPEAKING: 'speaking',
  /** The room's active speaker changed (detail: the participant id, or null). */
  ACTIVE_SPEAKER: 'active-speaker',
  /** You joined or left with the microphone (state.me), or your session joined again. */
  YOU: 'you',
  /** The page reached the gateway or lost it (state.online; state.lastSeen is when it last answered). */
  CONNECTION: 'connection',
  /** A card was clicked: the log shows only this participant (detail: the id, or null for everyone). */
  FOCUS: 'focus',
  /** A phone call in the watched room changed (detail: the call of state.calls: {id, state, number, error}). */
  CALL: 'call',
  /** An event of the watched room arrived (detail: {event, data}), for the features that follow a few of them. */
  ROOM_EVENT: 'room-event',
});

const KNOWN = new Set(Object.values(Change));

/** A new store: `state` (plain data) and on/emit for the changes listed in Change. */
export function createStore(settings) {
  const state = {
    wsUrl: settings.wsUrl,
    // The directory session and the gateway's rooms (features/directory.js, features/room-list.js).
    directory: null,
    rooms: [],
    // The watched room (features/watch.js, features/room-model.js): its observer session and
    // participants, id -> {id, participant, level, speaking, history, updatedAt}.
    selected: null,
    // The session (bot) picked to watch, or null for the room; and the one the observer watches through
    // (that bot, or for a Daily room the gateway's session it goes through): {id, participantId, userName}.
    selectedSession: null,
    watchedSession: null,
    observer: null,
    // True once the observer's observe was answered (it then counts among the room's watchers).
    observing: false,
    participants: new Map(),
    activeSpeaker: null,
    // You, joined with the microphone (features/join.js).
    me: null,
    mic: null,
    player: null,
    audioContext: null,
    // The Phone tab (features/phone.js): state is off | registered | ringing | in-call.
    phone: { client: null, number: null, state: 'off', ring: null, call: null, mic: null, player: null, context: null, sent: '', received: '' },
    // The event log's controls (features/event-log.js): participant is the id a card click picked, or null;
    // room is "all" or "watched".
    log: { paused: false, levels: false, filter: '', participant: null, room: 'all' },
    // Whether the directory session reaches the gateway now, and when it last answered (Date) (features/offline.js).
    online: false,
    lastSeen: null,
    // Phone calls of the watched room by sessionId (the phone participant's id): {id, state, number, error}
    // (features/telephony.js); state is ringing | answered | ended | failed.
    calls: new Map(),
    // The watched room's latest turn events (features/turns.js; drawn by timeline.js) and get-turn-stats' summary.
    turns: [],
    turnStats: null,
    counters: { events: 0, speechStarted: 0, speechStopped: 0, levels: 0, transcripts: 0, messages: 0 },
  };
  const listeners = new Map([...KNOWN].map((change) => [change, []]));
  const check = (change) => {
    if (!KNOWN.has(change)) throw new TypeError(`unknown store change ${change}`);
  };
  return {
    state,
    /** Calls `listener(detail)` on every `change` from now on. */
    on(change, listener) {
      check(change);
      listeners.get(change).push(listener);
    },
    /** Tells every listener of `change`, in the order they subscribed. */
    emit(change, detail) {
      check(change);
      for (const listener of listeners.get(change)) listener(detail);
    },
  };
}
