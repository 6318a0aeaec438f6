/**
 * Typed errors. Every error the SDK throws or rejects with is a {@link GatewayError}
 * with a stable `code`:
 *
 * ```
 * GatewayError            base: code, message, details, cause
 * ├── ProtocolError       the gateway answered with an error (code from ErrorCode): fatal, requestId
 * ├── CodecError          bytes this codec cannot read (bad_json, bad_frame, ...: the protocol's codes)
 * ├── ConnectionError     connect_failed / connection_closed / not_connected / queue_full: closeCode, closeReason
 * └── TimeoutError        request_timeout / wait_timeout
 * ```
 *
 * The protocol's codes are documented once in PROTOCOL.md ("Error codes") and mirrored here.
 */

import type { ErrorObject } from './wire.js';

/** The gateway's stable error codes (PROTOCOL.md, "Error codes"; `protocol/errors.py`). */
export const ErrorCode = {
  BAD_JSON: 'bad_json',
  BAD_MESSAGE: 'bad_message',
  UNKNOWN_TYPE: 'unknown_type',
  INVALID_PARAMS: 'invalid_params',
  UNSUPPORTED_FORMAT: 'unsupported_format',
  TOO_LARGE: 'too_large',
  BAD_FRAME: 'bad_frame',
  BAD_PAYLOAD: 'bad_payload',
  UNKNOWN_KIND: 'unknown_kind',
  UNKNOWN_TRACK: 'unknown_track',
  FORMAT_MISMATCH: 'format_mismatch',
  NOT_JOINED: 'not_joined',
  ALREADY_JOINED: 'already_joined',
  WRONG_STATE: 'wrong_state',
  UNKNOWN_BACKEND: 'unknown_backend',
  BAD_ROOM_URL: 'bad_room_url',
  NOT_FOUND: 'not_found',
  NOT_ALLOWED: 'not_allowed',
  NOT_SUPPORTED: 'not_supported',
  UNAUTHORIZED: 'unauthorized',
  RATE_LIMITED: 'rate_limited',
  LIMIT_REACHED: 'limit_reached',
  RESUME_FAILED: 'resume_failed',
  /** A cluster node cannot place the room or session now (its directory unreachable or settling); try again later. */
  UNAVAILABLE: 'unavailable',
  BUFFER_FULL: 'buffer_full',
  TIMEOUT: 'timeout',
  BACKEND_ERROR: 'backend_error',
  INTERNAL: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes the SDK itself uses for what happens on the client's side of the wire. */
export const ClientErrorCode = {
  /** The WebSocket could not be opened, or the gateway did not say hello. */
  CONNECT_FAILED: 'connect_failed',
  /** The connection closed while a request was in flight. */
  CONNECTION_CLOSED: 'connection_closed',
  /** A request was made while disconnected (not while reconnecting: those are queued). */
  NOT_CONNECTED: 'not_connected',
  /** Too many requests were queued while reconnecting. */
  QUEUE_FULL: 'queue_full',
  /** No reply within the request timeout. */
  REQUEST_TIMEOUT: 'request_timeout',
  /** `waitFor` saw no matching event in time. */
  WAIT_TIMEOUT: 'wait_timeout',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** The wire form of an error object (generated from `common.json#/$defs/error_object`). */
export type { ErrorObject };

/**
 * A code from a newer gateway that this SDK does not list yet (PROTOCOL.md 1.2: a gateway may add
 * codes; clients handle unknown ones as generic errors). `string & {}` keeps the known codes'
 * completion in editors.
 */
export type UnknownErrorCode = string & {};

/** Base of every SDK error. */
export class GatewayError extends Error {
  /** Stable code: one of {@link ErrorCode} or {@link ClientErrorCode} (or a newer gateway's code). */
  readonly code: ErrorCode | ClientErrorCode | UnknownErrorCode;
  /** Structured context, e.g. `{field: "audio_in.sample_rate"}`. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode | ClientErrorCode | UnknownErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** The gateway answered a request with an error, or sent an error message. */
export class ProtocolError extends GatewayError {
  declare readonly code: ErrorCode | UnknownErrorCode;
  /** True when the gateway will close the session. */
  readonly fatal: boolean;
  /** The request this answers; null for an error not tied to a request (bad frame, bad JSON). */
  readonly requestId: string | null;

  constructor(error: ErrorObject, requestId: string | null = null) {
    super(error.code, error.message, { details: error.details });
    this.fatal = error.fatal ?? false;
    this.requestId = requestId;
  }
}

/** Bytes that this codec cannot read; the code is the protocol's (`bad_json`, `bad_frame`, ...). */
export class CodecError extends GatewayError {
  declare readonly code: ErrorCode;
  /**
   * For a request that could not be decoded: the id a gateway echoes in its error reply
   * (null: it answers with an `error` message instead, as the id itself is unusable).
   */
  readonly requestId: string | null;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, requestId: string | null = null) {
    super(code, message, { details });
    this.requestId = requestId;
  }
}

/** The connection could not be opened, was lost, or is not there. */
export class ConnectionError extends GatewayError {
  readonly closeCode: number | null;
  readonly closeReason: string;
  constructor(code: ClientErrorCode, message: string, options: { closeCode?: number | null; closeReason?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.closeCode = options.closeCode ?? null;
    this.closeReason = options.closeReason ?? '';
  }
}

/** A request or a wait ran out of time. */
export class TimeoutError extends GatewayError {}
