// What the page's URL asks for, read once, and the SDK client every session of the page uses.
//
// ?ws=ws://host:port/v1 another gateway · ?token=<daily-gateway mint-token ...> a gateway with API
// keys · ?room=local://x the room to watch first · ?session=<id> the gateway session (bot) to watch
// first · ?processing=0 no echo cancellation, noise
// suppression or gain control on the microphone · ?phone=+1... pre-fills the Phone tab's number.

import { exponentialBackoff, GatewayClient } from '/sdk/index.js';

/** Every session of the page reconnects on its own, without a limit. */
const RETRY_FOREVER = exponentialBackoff({ maxAttempts: Infinity, maxMs: 3000 });

/** The page's settings from its location (frozen: nothing changes them after load). */
export function readSettings(location) {
  const query = new URLSearchParams(location.search);
  return Object.freeze({
    /** The page's own parameters, kept when the watched room is written back to the URL. */
    query,
    wsUrl: query.get('ws') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1`,
    token: query.get('token') ?? undefined,
    room: query.get('room'),
    session: query.get('session'),
    voiceProcessing: query.get('processing') !== '0',
    phoneNumber: query.get('phone'),
  });
}

/** A new GatewayClient (not connected) to the page's gateway, with its token and retry policy. */
export function newClient(settings) {
  return new GatewayClient({ url: settings.wsUrl, reconnect: RETRY_FOREVER, token: settings.token });
}

/** Puts the watched room (and session, when watching a bot) in the address bar, so a reload watches it again. */
export function showRoomInUrl(settings, roomUrl, sessionId = null) {
  const params = { ...Object.fromEntries(settings.query), room: roomUrl };
  delete params.session;
  if (sessionId) params.session = sessionId;
  history.replaceState(null, '', `?${new URLSearchParams(params)}`);
}
