/**
 * Protocol constants of daily-gateway.v1, mirrored from `protocol/constants.py`
 * (PROTOCOL.md, "Versions", "Close codes", "Binary media frames").
 */

/** The wire version. */
export const PROTOCOL_VERSION = 1;
/** The WebSocket subprotocol a client offers (`Sec-WebSocket-Protocol`). */
export const SUBPROTOCOL = `daily-gateway.v${PROTOCOL_VERSION}`;
/** Prefix of the subprotocol entry carrying an access token (browsers; PROTOCOL.md, "Authentication"). */
export const TOKEN_SUBPROTOCOL_PREFIX = 'daily-gateway.token.';
/** Path of the WebSocket endpoint. */
export const WS_PATH = '/v1';

/** WebSocket close codes the gateway sends. */
export const CloseCode = {
  /** The client asked to close, or left and closed. */
  NORMAL: 1000,
  /** The gateway is shutting down; the room session was left. */
  GOING_AWAY: 1001,
  /** A framing violation (unmasked or reserved-bit frame, bad opcode or continuation); the gateway's WebSocket layer. */
  PROTOCOL_ERROR: 1002,
  /** No close frame was received (the connection dropped); set by WebSocket implementations. */
  ABNORMAL: 1006,
  /** A text frame was not valid UTF-8 (the gateway's WebSocket layer). */
  INVALID_DATA: 1007,
  /** A frame exceeded the hard size limit. */
  MESSAGE_TOO_BIG: 1009,
  /** Unexpected server failure; reconnect. */
  INTERNAL_ERROR: 1011,
  /** A cluster node is draining or being recycled: resume now, on any node. */
  SERVICE_RESTART: 1012,
  /** The gateway's receive budget is spent (many large frames at once); reconnect after a delay. */
  TRY_AGAIN_LATER: 1013,
  /** The client offered no supported subprotocol (version mismatch). */
  BAD_SUBPROTOCOL: 4000,
  /** No valid credential at the handshake (missing, unknown key, bad or expired token). */
  UNAUTHORIZED: 4001,
  /** Too many consecutive protocol errors; the client is broken. */
  PROTOCOL_VIOLATION: 4002,
  /** The browser Origin is not on the allow-list. */
  FORBIDDEN_ORIGIN: 4003,
  /** The session's credentials expired. */
  SESSION_EXPIRED: 4008,
  /** Nothing received (no message, no pong) for `limits.idle_timeout_ms`. */
  IDLE_TIMEOUT: 4009,
  /** The client did not read its events fast enough; it may resume. */
  SLOW_CONSUMER: 4010,
  /** The session was resumed on another connection. */
  REPLACED: 4011,
  /** The room session ended on the backend and the client did not leave itself. */
  ROOM_CLOSED: 4012,
  /** The credential's key already has `limits.max_sessions_per_key` connections. */
  RATE_LIMITED: 4029,
  /** A cluster node sends a client that opted in (`?redirect=1`) to another node; the reason is `redirect <url>`. */
  REDIRECT: 4307,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Close codes after which reconnecting cannot help (the same client would be refused
 * again); the default reconnect policy stops on them.
 */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.BAD_SUBPROTOCOL,
  CloseCode.UNAUTHORIZED,
  CloseCode.PROTOCOL_VIOLATION,
  CloseCode.FORBIDDEN_ORIGIN,
  CloseCode.SESSION_EXPIRED,
  CloseCode.REPLACED,
]);

/** `kind` byte of the binary frame header. */
export const MediaKind = { AUDIO: 1, VIDEO: 2 } as const;
export type MediaKind = (typeof MediaKind)[keyof typeof MediaKind];

/** `encoding` byte of an audio frame header. */
export const AudioEncoding = { PCM16: 1 } as const;

/** `format` byte of a video frame header (Daily's color formats). */
export const ColorFormat = { RGB: 1, RGBA: 2, BGRA: 3, ARGB: 4, ABGR: 5, BGR: 6, I420: 7 } as const;
export type ColorFormat = (typeof ColorFormat)[keyof typeof ColorFormat];

/** Fixed track ids a client uses for the media it publishes. */
export const OutboundTrack = { MICROPHONE: 1, CAMERA: 2, SCREEN_VIDEO: 3, SCREEN_AUDIO: 4 } as const;

/** Gateway-assigned (inbound) track ids start here. */
export const FIRST_INBOUND_TRACK = 16;

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48000;
export const CHANNELS: readonly number[] = [1, 2];
export const MIN_FRAME_MS = 10;
export const MAX_FRAME_MS = 100;
