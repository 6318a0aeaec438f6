// Test helpers: a real gateway process on a loopback port, the Python peer, WAV files.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
export const PYTHON = process.env.PYTHON ?? join(ROOT, '.venv', 'bin', 'python');
export const DEMO_WAV = join(ROOT, 'gateway', 'assets', 'demo_speech.wav');
const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peer.py');

/** A fresh local room URL. */
export function freshRoom(prefix = 'js') {
  return `local://${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Start `python -m gateway --port <port> ...` (with `env` added to the environment) and resolve once it prints its
 * listening line.
 * Resolves to {url, httpUrl, port, process, logPath, stop(signal)}.
 */
export async function startGateway({ port = 0, args = ['--demo'], name = 'js-gateway', env = {} } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = join(ARTIFACTS, `${name}-${randomBytes(3).toString('hex')}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(
    PYTHON,
    ['-m', 'gateway', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'debug', ...args],
    { cwd: ROOT, env: { ...process.env, PYTHONUNBUFFERED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.pipe(log);
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 30 s; see ${logPath}`)), 30_000);
    lines.on('line', (line) => {
      const match = /listening on (ws:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening; see ${logPath}`));
    });
  });
  const actualPort = Number(new URL(url).port);
  return {
    url,
    port: actualPort,
    httpUrl: `http://127.0.0.1:${actualPort}`,
    process: child,
    logPath,
    log: () => readFileSync(logPath, 'utf8'),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Run the Python peer (a gateway_client participant, `peer.py`); resolves to a handle
 * with `next()` for its JSON lines and `done` for its exit.
 */
export function startPeer(args) {
  return startPython(PEER, args);
}

/**
 * Run a Python script of the checkout (the project's Python client and tests importable); resolves
 * to the same handle as `startPeer`: its JSON lines one by one with `next()`.
 */
export function startPython(script, args) {
  const child = spawn(PYTHON, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: ROOT, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const queue = [];
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const done = new Promise((resolveDone) => child.once('exit', (code) => resolveDone(code)));
  return {
    process: child,
    done,
    stderr: () => stderr,
    /** The next JSON line the peer prints (within `timeoutMs`). */
    next(timeoutMs = 20_000) {
      if (queue.length) return Promise.resolve(queue.shift());
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer printed nothing in ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        waiting.push((message) => {
          clearTimeout(timer);
          resolveLine(message);
        });
        done.then((code) => {
          clearTimeout(timer);
          reject(new Error(`peer exited with ${code}; stderr:\n${stderr}`));
        });
      });
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** Run `peer.py compare`: correlation of received PCM16 (a file) against a reference WAV. */
export async function compareWithReference(pcmPath, sampleRate, referenceWav = DEMO_WAV) {
  const peer = startPeer(['compare', '--received', pcmPath, '--rate', String(sampleRate), '--reference', referenceWav]);
  const result = await peer.next(60_000);
  await peer.done;
  return result;
}

/** PCM16 samples, rate and channels of a PCM16 WAV file. */
export function readWav(path) {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let offset = 12;
  let format = null;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      format = { channels: view.getUint16(offset + 10, true), sampleRate: view.getUint32(offset + 12, true), bits: view.getUint16(offset + 22, true) };
    } else if (id === 'data') {
      if (!format || format.bits !== 16) throw new Error(`${path}: only PCM16 WAV files`);
      const data = bytes.subarray(offset + 8, offset + 8 + size);
      const samples = new Int16Array(data.length >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(2 * i);
      return { samples, sampleRate: format.sampleRate, channels: format.channels };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Resolve after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
