/**
 * The Node entry point: everything of `index.ts`, and a WebSocket where the runtime has
 * none (Node 20 has no global WebSocket without a flag; Node 22 has one, used as is).
 * `ws` is loaded only when needed, so browsers never see it.
 */

import { setDefaultWebSocket, type WebSocketConstructor } from './client.js';

export * from './index.js';

if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined') {
  const specifier = 'ws';
  const mod = (await import(specifier)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
  setDefaultWebSocket(mod.WebSocket ?? mod.default);
}
