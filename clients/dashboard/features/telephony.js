// Telephony in the watched room: the dial-out and dial-in events (what a bot's session is told, so
// seen when watching the bot) kept per call in state.calls by the call's sessionId, which is the
// phone participant's id; room-view.js shows each call on that participant's card, and the event
// log has every event (an error in red; a normal hang-up is no error).

import { Change } from '../lib/store.js';

/** What each telephony event makes of its call's state (warnings keep the state and add a note). */
const NEXT = {
  'dialout-connected': 'ringing', 'dialout-answered': 'answered', 'dialout-stopped': 'ended', 'dialout-error': 'failed',
  'dialin-connected': 'answered', 'dialin-stopped': 'ended', 'dialin-error': 'failed',
  'dialout-warning': null, 'dialin-warning': null,
};

/** Follows the watched room's events (the store's ROOM_EVENT). */
export function createTelephony(store) {
  const { calls } = store.state;

  store.on(Change.ROOM_EVENT, ({ event, data }) => {
    if (!(event in NEXT)) return;
    const info = data.data ?? {};
    const id = info.sessionId ?? 'unknown';
    const call = calls.get(id) ?? { id, state: 'ringing', number: null, error: null, warning: null };
    call.number = info.phoneNumber ?? info.sipUri ?? info.sipFrom ?? call.number;
    if (NEXT[event]) call.state = NEXT[event];
    if (event.endsWith('-error')) call.error = info.errorMsg ?? 'failed';
    if (event.endsWith('-warning')) call.warning = info.errorMsg ?? 'warning';
    calls.set(id, call);
    store.emit(Change.CALL, call);
  });
}
