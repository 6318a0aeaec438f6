/**
 * The Node entry point: everything of `index.ts`, plus
 * - `ws` as the WebSocket (on every Node version, so `webSocketOptions.headers` work and
 *   behaviour does not change with Node 22's global WebSocket; pass `WebSocket` to choose),
 * - closing open clients when the process exits without `close()` (`closeOnExit`), so the
 *   participant does not stay in the room for the gateway's resume grace,
 * - `readWavFile` / `writeWavFile`.
 *
 * No top-level await: the same file loads with `import` and, built as CommonJS, `require`.
 */

import { readFileSync, writeFileSync } from 'node:fs';

import { WebSocket as NodeWebSocket } from 'ws';

import { setExitWatcher } from './client.js';
import { setDefaultWebSocket, type WebSocketConstructor } from './socket.js';
import { decodeWav, encodeWav, type WavAudio } from './wav.js';

export * from './index.js';

setDefaultWebSocket(NodeWebSocket as unknown as WebSocketConstructor);

const closers = new Set<() => void>();
let watching = false;

/** Close what is still open: a close frame goes out synchronously, so the gateway ends the session now. */
function closeAll(): void {
  for (const close of [...closers]) close();
  closers.clear();
}

setExitWatcher((close) => {
  if (!watching) {
    watching = true;
    process.on('beforeExit', closeAll);
    process.on('exit', closeAll);
  }
  closers.add(close);
  return () => closers.delete(close);
});

/** Read a PCM16 WAV file. */
export function readWavFile(path: string): WavAudio {
  return decodeWav(readFileSync(path));
}

/** Write PCM16 samples as a WAV file. */
export function writeWavFile(path: string, samples: Int16Array, format: { sampleRate: number; channels?: number }): void {
  writeFileSync(path, encodeWav(samples, format));
}
