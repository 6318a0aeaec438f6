/**
 * JavaScript SDK of daily-ws-gateway (protocol daily-gateway.v1), for browsers and Node.
 *
 * The browser entry point has no dependencies; the Node entry point (`node.ts`) adds `ws`
 * (headers, the same WebSocket on every Node version), WAV files and closing on exit.
 * Server-side codec functions (decoding requests, encoding replies) are not part of this
 * API: they live in `@daily-ws-gateway/client/codec` for gateways and test doubles.
 */

export * from './audio.js';
export * from './browser-audio.js';
export {
  type ClientEvents,
  ClientEvent,
  type ClientStats,
  ConnectionState,
  GatewayClient,
  type GatewayClientOptions,
  type LoggedEvent,
  type ReceivedAudio,
  type ReceivedVideo,
  type SdkEvents,
  type ServerEvent,
  setDefaultWebSocket,
  type UnknownServerEvent,
  type WaitOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './client.js';
export {
  type AudioFrame,
  type AudioFrameInit,
  decodeFrame,
  decodeServerMessage,
  encodeAudioFrame,
  encodeRequest,
  encodeVideoFrame,
  type ErrorMessage,
  type EventMessage,
  FRAME_VERSION,
  HEADER_SIZE,
  type Hello,
  type MediaFrame,
  pcm16Samples,
  type Reply,
  type ServerMessage,
  type VideoFrame,
  type VideoFrameInit,
  videoFrameSize,
} from './codec.js';
export * from './constants.js';
export { TypedEmitter, type Listener } from './emitter.js';
export * from './errors.js';
export { AudioStream, type AudioStreamOptions, type SendAudioOptions, type SendVideoOptions } from './media.js';
export * from './reconnect.js';
export { SessionState } from './room.js';
export type { Restored } from './session.js';
export * from './types.js';
export { decodeWav, encodeWav, type WavAudio } from './wav.js';
export * from './wire.js';
