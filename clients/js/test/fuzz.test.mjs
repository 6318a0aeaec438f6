// Randomized tests of the JS codec with a fixed seed (reproducible): random and mutated frames
// decode or throw a CodecError with a documented code, never anything else; valid frames round-trip.
// The Python codec gets the same treatment with hypothesis (tests/fuzz/test_fuzz_codecs.py).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { CodecError, ColorFormat, ErrorCode } from '@daily-ws-gateway/client';
import {
  decodeFrame, decodeRequest, decodeServerMessage, encodeAudioFrame, encodeRequest, encodeVideoFrame, videoFrameSize,
} from '@daily-ws-gateway/client/codec';
import { ROOT } from './helpers/gateway.mjs';

const VECTORS = join(ROOT, 'protocol', 'vectors');
const json = JSON.parse(readFileSync(join(VECTORS, 'json.json'), 'utf8'));
const binary = JSON.parse(readFileSync(join(VECTORS, 'binary.json'), 'utf8'));
const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const VALID_FRAMES = binary.decode.filter((v) => v.expect).map((v) => hex(v.hex));
const CODES = new Set(Object.values(ErrorCode));
const ROUNDS = 3000;

/** mulberry32: a small seeded PRNG, so a failure repeats on the next run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tools(seed) {
  const random = rng(seed);
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const bytes = (n) => Uint8Array.from({ length: n }, () => int(0, 255));
  const pick = (list) => list[int(0, list.length - 1)];
  const mutate = (data) => {
    const out = Uint8Array.from(data);
    for (let i = int(1, 4); i > 0 && out.length; i--) out[int(0, out.length - 1)] = int(0, 255);
    return random() < 0.3 ? out.slice(0, int(0, out.length)) : out;
  };
  const text = (n) => {
    const alphabet = '{}[]":,0123456789.-+eEtrufalsn \\/abcxyz\u00e9\u4e2d\ud83d\ude00';
    return Array.from({ length: n }, () => pick([...alphabet])).join('');
  };
  return { random, int, bytes, pick, mutate, text };
}

/** Run `fn`; it may return or throw a CodecError with a documented code, nothing else. */
function decodesOrCodecError(fn, input) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `input ${JSON.stringify(Array.from(input).slice(0, 40))} threw ${err?.stack ?? err}`);
    assert.ok(CODES.has(err.code), `undocumented code ${err.code}`);
    assert.ok(typeof err.message === 'string' && err.message.length > 0);
  }
}

describe('binary frames', () => {
  test('random bytes decode or throw a CodecError', () => {
    const { int, bytes } = tools(1);
    for (let i = 0; i < ROUNDS; i++) {
      const data = bytes(int(0, 80));
      decodesOrCodecError(() => decodeFrame(data), data);
    }
  });

  test('mutated vectors decode or throw a CodecError', () => {
    const { pick, mutate } = tools(2);
    for (let i = 0; i < ROUNDS; i++) {
      const data = mutate(pick(VALID_FRAMES));
      decodesOrCodecError(() => decodeFrame(data), data);
    }
  });

  test('audio frames round-trip', () => {
    const { int, bytes, pick } = tools(3);
    for (let i = 0; i < 500; i++) {
      const channels = pick([1, 2]);
      const init = {
        track: int(0, 0xffff), seq: int(0, 2 ** 32 - 1), timestampUs: int(0, 2 ** 52), sampleRate: int(8000, 48000),
        channels, flags: int(0, 0xffff), payload: bytes(2 * channels * int(0, 100)),
      };
      const frame = decodeFrame(encodeAudioFrame(init));
      assert.equal(frame.kind, 'audio');
      for (const key of ['track', 'seq', 'timestampUs', 'sampleRate', 'channels', 'flags']) assert.equal(frame[key], init[key], key);
      assert.deepEqual(Array.from(frame.payload), Array.from(init.payload));
    }
  });

  test('video frames round-trip', () => {
    const { int, bytes, pick } = tools(4);
    for (let i = 0; i < 300; i++) {
      const colorFormat = pick(Object.values(ColorFormat));
      let width = int(1, 16);
      let height = int(1, 16);
      if (colorFormat === ColorFormat.I420) [width, height] = [width + (width % 2), height + (height % 2)];
      const init = {
        track: int(0, 0xffff), seq: int(0, 2 ** 32 - 1), timestampUs: int(0, 2 ** 52), width, height, colorFormat,
        flags: int(0, 0xffff), payload: bytes(videoFrameSize(width, height, colorFormat)),
      };
      const frame = decodeFrame(encodeVideoFrame(init));
      assert.equal(frame.kind, 'video');
      for (const key of ['track', 'seq', 'timestampUs', 'width', 'height', 'colorFormat', 'flags']) assert.equal(frame[key], init[key], key);
      assert.deepEqual(Array.from(frame.payload), Array.from(init.payload));
    }
  });
});

describe('text frames', () => {
  const texts = [...json.requests, ...json.server_messages].map((v) => new TextEncoder().encode(v.text));

  test('random text and bytes decode or throw a CodecError', () => {
    const { int, bytes, text, random } = tools(5);
    for (let i = 0; i < ROUNDS; i++) {
      const data = random() < 0.5 ? text(int(0, 60)) : bytes(int(0, 60));
      decodesOrCodecError(() => decodeRequest(data, { maxBytes: 4096 }), data);
      decodesOrCodecError(() => decodeServerMessage(data), data);
    }
  });

  test('mutated vectors decode or throw a CodecError', () => {
    const { pick, mutate } = tools(6);
    for (let i = 0; i < ROUNDS; i++) {
      const data = mutate(pick(texts));
      decodesOrCodecError(() => decodeRequest(data), data);
      decodesOrCodecError(() => decodeServerMessage(data), data);
    }
  });

  test('requests round-trip', () => {
    const { int, text } = tools(7);
    for (let i = 0; i < 500; i++) {
      const id = `r${int(0, 1e9)}`;
      const params = { a: text(int(0, 10)), n: int(-1e9, 1e9), nested: { list: [int(0, 9), null, true] } };
      const request = decodeRequest(encodeRequest('send-app-message', id, params));
      assert.equal(request.type, 'send-app-message');
      assert.equal(request.id, id);
      assert.deepEqual(request.params, params);
    }
  });
});
