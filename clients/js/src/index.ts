/**
 * JavaScript SDK of daily-ws-gateway (protocol daily-gateway.v1), for browsers and Node.
 *
 * The browser entry point has no dependencies; the Node entry point (`node.ts`) adds
 * the `ws` package where the runtime has no global WebSocket.
 */

export * from './audio.js';
export * from './browser-audio.js';
export * from './client.js';
export * from './codec.js';
export * from './constants.js';
export * from './errors.js';
export * from './reconnect.js';
export * from './wire.js';
export { TypedEmitter } from './emitter.js';
