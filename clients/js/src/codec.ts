/**
 * The daily-gateway.v1 codec, sans-I/O: text frames (JSON) and binary media frames.
 * It never touches a socket, so it runs the same in browsers, Node and tests, and
 * passes the test vectors in `protocol/vectors/` like the Python codec does.
 *
 * Binary frame layout (PROTOCOL.md, "Binary media frames"), little-endian:
 *
 * ```
 * offset size  audio                     video
 * 0      u8    version (=1)              version (=1)
 * 1      u8    kind (1 = audio)          kind (2 = video)
 * 2      u16   track                     track
 * 4      u32   seq                       seq
 * 8      u64   timestamp_us              timestamp_us
 * 16     u32   payload_len               payload_len
 * 20     u32   sample_rate               u16 width, u16 height
 * 24     u8    channels                  color format
 * 25     u8    encoding (1 = PCM16)      0
 * 26     u16   flags (0)                 flags (0)
 * 28     ...   PCM16 LE interleaved      pixels
 * ```
 */

import { AudioEncoding, CHANNELS, ColorFormat, MAX_SAMPLE_RATE, MediaKind, MIN_SAMPLE_RATE } from './constants.js';
import { CodecError, ErrorCode, type ErrorObject } from './errors.js';
import type { Capabilities, Limits } from './wire.js';

export const FRAME_VERSION = 1;
export const HEADER_SIZE = 28;
/** Longest request id the gateway accepts. */
export const MAX_ID_LENGTH = 128;

// ---------------------------------------------------------------- text frames

/** A request as the gateway reads it: `params` holds every field but `type` and `id`. */
export interface Request {
  type: string;
  id: string;
  params: Record<string, unknown>;
}

/** The first message of every connection (seq 1). */
export interface Hello {
  type: 'hello';
  seq: number;
  protocol: string;
  version: number;
  session_id: string;
  /** Secret for `resume` (PROTOCOL.md, "Resume"); empty if the hello had none. */
  resume_token: string;
  server: { name: string; version: string; [key: string]: unknown };
  limits: Limits;
  capabilities: Capabilities;
  /** Fields this SDK version does not know, kept for forward compatibility. */
  extra: Record<string, unknown>;
}

/** The one reply to a request. */
export interface Reply {
  type: 'reply';
  seq: number;
  id: string | null;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: ErrorObject;
}

/** Something that happened (room events, tracks, VAD...). */
export interface EventMessage {
  type: 'event';
  seq: number;
  event: string;
  data: Record<string, unknown>;
}

/** An error not tied to a request (bad binary frame, unreadable JSON). */
export interface ErrorMessage {
  type: 'error';
  seq: number;
  error: ErrorObject;
}

export type ServerMessage = Hello | Reply | EventMessage | ErrorMessage;

const encoder = new TextEncoder();

function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

function parseJSON(data: string | Uint8Array, maxBytes: number | null): unknown {
  const size = typeof data === 'string' ? utf8Length(data) : data.length;
  if (maxBytes != null && size > maxBytes) {
    throw new CodecError(ErrorCode.TOO_LARGE, `text frame of ${size} bytes exceeds max_message_bytes ${maxBytes}`);
  }
  let text: string;
  try {
    text = typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new CodecError(ErrorCode.BAD_JSON, 'text frame is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CodecError(ErrorCode.BAD_JSON, `text frame is not valid JSON: ${(err as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Serialize a request: `{"type", "id", ...params}`. */
export function encodeRequest(type: string, id: string, params?: Record<string, unknown> | null): string {
  return JSON.stringify({ type, id, ...(params ?? {}) });
}

/**
 * Parse a client text frame into a {@link Request} (envelope only; the gateway then
 * validates `params` against the request's JSON Schema).
 *
 * @throws CodecError too_large, bad_json, bad_message; invalid_params for a missing or bad `id`.
 */
export function decodeRequest(data: string | Uint8Array, options: { maxBytes?: number | null } = {}): Request {
  const obj = parseJSON(data, options.maxBytes ?? null);
  if (!isObject(obj)) {
    throw new CodecError(ErrorCode.BAD_MESSAGE, `a request must be a JSON object, got ${jsonTypeName(obj)}`);
  }
  const { type, id: rawId, ...params } = obj;
  let id = rawId;
  if (typeof id === 'number' && Number.isInteger(id)) id = String(id);
  const validId = typeof id === 'string' && id.length > 0 && [...id].length <= MAX_ID_LENGTH;
  if (typeof type !== 'string' || !type) {
    // A gateway answers with a reply only when the id is one the client could have sent validly.
    throw new CodecError(ErrorCode.BAD_MESSAGE, "a request needs a non-empty string 'type'", undefined, validId ? (id as string) : null);
  }
  if (!validId) {
    throw new CodecError(
      ErrorCode.INVALID_PARAMS,
      `request '${type}' needs an 'id': a non-empty string of at most ${MAX_ID_LENGTH} characters`,
      { field: 'id' },
    );
  }
  return { type, id: id as string, params };
}

/**
 * Parse a gateway text frame.
 *
 * @throws CodecError bad_json (not JSON), bad_message (not an object with an integer
 *   `seq`, or an unknown message type).
 */
export function decodeServerMessage(data: string | Uint8Array): ServerMessage {
  const obj = parseJSON(data, null);
  if (!isObject(obj) || !Number.isInteger(obj.seq)) {
    throw new CodecError(ErrorCode.BAD_MESSAGE, "a server message must be an object with an integer 'seq'");
  }
  const seq = obj.seq as number;
  const kind = obj.type;
  if (kind === 'event' && typeof obj.event === 'string') {
    return { type: 'event', seq, event: obj.event, data: isObject(obj.data) ? obj.data : {} };
  }
  if (kind === 'reply' && typeof obj.ok === 'boolean') {
    const reply: Reply = { type: 'reply', seq, id: typeof obj.id === 'string' ? obj.id : null, ok: obj.ok };
    if (obj.ok) reply.result = isObject(obj.result) ? obj.result : {};
    else reply.error = (isObject(obj.error) ? obj.error : {}) as unknown as ErrorObject;
    return reply;
  }
  if (kind === 'error' && isObject(obj.error)) {
    return { type: 'error', seq, error: obj.error as unknown as ErrorObject };
  }
  if (kind === 'hello') {
    const known = new Set(['type', 'seq', 'protocol', 'version', 'session_id', 'resume_token', 'server', 'limits', 'capabilities']);
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(obj)) if (!known.has(key)) extra[key] = value;
    return {
      type: 'hello',
      seq,
      protocol: typeof obj.protocol === 'string' ? obj.protocol : '',
      version: typeof obj.version === 'number' ? obj.version : 0,
      session_id: typeof obj.session_id === 'string' ? obj.session_id : '',
      resume_token: typeof obj.resume_token === 'string' ? obj.resume_token : '',
      server: (isObject(obj.server) ? obj.server : {}) as Hello['server'],
      limits: (isObject(obj.limits) ? obj.limits : {}) as unknown as Limits,
      capabilities: (isObject(obj.capabilities) ? obj.capabilities : {}) as unknown as Capabilities,
      extra,
    };
  }
  throw new CodecError(ErrorCode.BAD_MESSAGE, `unknown server message type ${JSON.stringify(kind ?? null)}`);
}

/** Serialize a hello (servers and test doubles). */
export function encodeHello(seq: number, fields: Omit<Hello, 'type' | 'seq' | 'extra'> & { extra?: Record<string, unknown> }): string {
  const { extra, ...rest } = fields;
  return JSON.stringify({ type: 'hello', seq, ...rest, ...(extra ?? {}) });
}

/** Serialize a successful reply. */
export function encodeResult(seq: number, id: string, result?: Record<string, unknown> | null): string {
  return JSON.stringify({ type: 'reply', seq, id, ok: true, result: result ?? {} });
}

/** Serialize an error reply. */
export function encodeFailure(seq: number, id: string | null, error: ErrorObject): string {
  return JSON.stringify({ type: 'reply', seq, id, ok: false, error: errorToWire(error) });
}

/** Serialize an event. */
export function encodeEvent(seq: number, event: string, data?: Record<string, unknown> | null): string {
  return JSON.stringify({ type: 'event', seq, event, data: data ?? {} });
}

/** Serialize an error message not tied to a request. */
export function encodeError(seq: number, error: ErrorObject): string {
  return JSON.stringify({ type: 'error', seq, error: errorToWire(error) });
}

function errorToWire(error: ErrorObject): ErrorObject {
  const out: ErrorObject = { code: error.code, message: error.message };
  if (error.details && Object.keys(error.details).length) out.details = error.details;
  if (error.fatal) out.fatal = true;
  return out;
}

function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

// ---------------------------------------------------------------- binary frames

/** One chunk of PCM16 audio on a track. `payload` is a view into the frame's bytes (no copy). */
export interface AudioFrame {
  kind: 'audio';
  track: number;
  seq: number;
  /** Capture or send time in microseconds since the Unix epoch (u64 on the wire). */
  timestampUs: number;
  sampleRate: number;
  channels: number;
  flags: number;
  payload: Uint8Array;
}

/** One raw video frame on a track. */
export interface VideoFrame {
  kind: 'video';
  track: number;
  seq: number;
  timestampUs: number;
  width: number;
  height: number;
  colorFormat: ColorFormat;
  flags: number;
  payload: Uint8Array;
}

export type MediaFrame = AudioFrame | VideoFrame;

/** What {@link encodeAudioFrame} needs; `payload` may be PCM16 samples or their bytes. */
export interface AudioFrameInit {
  track: number;
  seq: number;
  timestampUs?: number;
  sampleRate: number;
  channels?: number;
  flags?: number;
  payload: Int16Array | Uint8Array | ArrayBuffer;
}

export interface VideoFrameInit {
  track: number;
  seq: number;
  timestampUs?: number;
  width: number;
  height: number;
  colorFormat: ColorFormat;
  flags?: number;
  payload: Uint8Array | ArrayBuffer;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesOf(payload: Int16Array | Uint8Array | ArrayBuffer): Uint8Array {
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (payload instanceof Uint8Array) return payload;
  const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    swapped[i] = bytes[i + 1];
    swapped[i + 1] = bytes[i];
  }
  return swapped;
}

function nowUs(): number {
  return Math.round((globalThis.performance?.timeOrigin ?? Date.now()) * 1000 + (globalThis.performance?.now() ?? 0) * 1000);
}

function writeTimestamp(view: DataView, value: number): void {
  view.setBigUint64(8, BigInt(Math.max(0, Math.trunc(value))), true);
}

/** Serialize an audio frame (PCM16). Sequence numbers wrap at 2**32. */
export function encodeAudioFrame(frame: AudioFrameInit): Uint8Array {
  const payload = bytesOf(frame.payload);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_VERSION);
  view.setUint8(1, MediaKind.AUDIO);
  view.setUint16(2, frame.track, true);
  view.setUint32(4, frame.seq >>> 0, true);
  writeTimestamp(view, frame.timestampUs ?? nowUs());
  view.setUint32(16, payload.length, true);
  view.setUint32(20, frame.sampleRate, true);
  view.setUint8(24, frame.channels ?? 1);
  view.setUint8(25, AudioEncoding.PCM16);
  view.setUint16(26, frame.flags ?? 0, true);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Serialize a video frame. */
export function encodeVideoFrame(frame: VideoFrameInit): Uint8Array {
  const payload = bytesOf(frame.payload);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_VERSION);
  view.setUint8(1, MediaKind.VIDEO);
  view.setUint16(2, frame.track, true);
  view.setUint32(4, frame.seq >>> 0, true);
  writeTimestamp(view, frame.timestampUs ?? nowUs());
  view.setUint32(16, payload.length, true);
  view.setUint16(20, frame.width, true);
  view.setUint16(22, frame.height, true);
  view.setUint8(24, frame.colorFormat);
  view.setUint8(25, 0);
  view.setUint16(26, frame.flags ?? 0, true);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Bytes of one video frame; I420 is 4:2:0. */
export function videoFrameSize(width: number, height: number, colorFormat: ColorFormat): number {
  if (colorFormat === ColorFormat.I420) return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  if (colorFormat === ColorFormat.RGB || colorFormat === ColorFormat.BGR) return width * height * 3;
  return width * height * 4;
}

const COLOR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ColorFormat).map(([k, v]) => [v, k]));

/**
 * Parse a binary frame. The payload is a zero-copy view of `data`.
 *
 * @throws CodecError bad_frame (short or wrong version), unknown_kind, bad_payload
 *   (length or alignment), unsupported_format (encoding, rate, channels, color format).
 *   Every error but a short frame's has `details.track` and `details.seq`.
 */
export function decodeFrame(data: ArrayBuffer | ArrayBufferView): MediaFrame {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < HEADER_SIZE) {
    throw new CodecError(ErrorCode.BAD_FRAME, `binary frame of ${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[0];
  const kind = bytes[1];
  // Every error about a frame of 28 bytes or more quotes its track and seq (PROTOCOL.md, "Bad input").
  const track = view.getUint16(2, true);
  const seq = view.getUint32(4, true);
  const where = { track, seq };
  if (version !== FRAME_VERSION) {
    throw new CodecError(ErrorCode.BAD_FRAME, `binary frame version ${version} is not supported (expected ${FRAME_VERSION})`, where);
  }
  const payload = bytes.subarray(HEADER_SIZE);
  const timestamp = view.getBigUint64(8, true);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
    // A u64 on the wire; a JS number holds 2^53 us exactly (until the year 2255).
    throw new CodecError(ErrorCode.BAD_FRAME, `timestamp_us ${timestamp} is beyond 2^53 and cannot be read exactly`, where);
  }
  const timestampUs = Number(timestamp);
  const length = view.getUint32(16, true);
  const flags = view.getUint16(26, true);
  const checkLength = () => {
    if (length !== payload.length) {
      throw new CodecError(ErrorCode.BAD_PAYLOAD, `header says ${length} payload bytes but the frame carries ${payload.length}`, where);
    }
  };
  if (kind === MediaKind.AUDIO) {
    const sampleRate = view.getUint32(20, true);
    const channels = bytes[24];
    const encoding = bytes[25];
    checkLength();
    if (encoding !== AudioEncoding.PCM16) {
      throw new CodecError(ErrorCode.UNSUPPORTED_FORMAT, `audio encoding ${encoding} is not supported (1 = PCM16)`, where);
    }
    if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
      throw new CodecError(ErrorCode.UNSUPPORTED_FORMAT, `sample rate ${sampleRate} Hz is outside ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE}`, where);
    }
    if (!CHANNELS.includes(channels)) {
      throw new CodecError(ErrorCode.UNSUPPORTED_FORMAT, `${channels} channels is not supported (1 or 2)`, where);
    }
    if (length % (2 * channels)) {
      throw new CodecError(
        ErrorCode.BAD_PAYLOAD,
        `PCM16 payload of ${length} bytes is not a whole number of ${channels}-channel samples`,
        where,
      );
    }
    return { kind: 'audio', track, seq, timestampUs, sampleRate, channels, flags, payload };
  }
  if (kind === MediaKind.VIDEO) {
    const width = view.getUint16(20, true);
    const height = view.getUint16(22, true);
    const format = bytes[24];
    checkLength();
    if (!(format in COLOR_NAMES)) {
      throw new CodecError(ErrorCode.UNSUPPORTED_FORMAT, `color format ${format} is not supported`, where);
    }
    if (width === 0 || height === 0) {
      throw new CodecError(ErrorCode.BAD_PAYLOAD, 'video frame has zero width or height', where);
    }
    if (format === ColorFormat.I420 && (width % 2 || height % 2)) {
      throw new CodecError(ErrorCode.UNSUPPORTED_FORMAT, 'I420 frames need even width and height', where);
    }
    const expected = videoFrameSize(width, height, format as ColorFormat);
    if (length !== expected) {
      throw new CodecError(
        ErrorCode.BAD_PAYLOAD,
        `${COLOR_NAMES[format]} ${width}x${height} needs ${expected} payload bytes, got ${length}`,
        where,
      );
    }
    return { kind: 'video', track, seq, timestampUs, width, height, colorFormat: format as ColorFormat, flags, payload };
  }
  throw new CodecError(ErrorCode.UNKNOWN_KIND, `media kind ${kind} is not known (1 = audio, 2 = video)`, where);
}

/**
 * PCM16 samples of an audio frame's payload. A view when the payload is 2-byte aligned
 * (it is for frames decoded from a whole WebSocket message), a copy otherwise.
 */
export function pcm16Samples(frame: AudioFrame): Int16Array {
  const p = frame.payload;
  if (LITTLE_ENDIAN && p.byteOffset % 2 === 0) return new Int16Array(p.buffer, p.byteOffset, p.byteLength >> 1);
  const out = new Int16Array(p.byteLength >> 1);
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}
