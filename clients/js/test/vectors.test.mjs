// The protocol's conformance vectors (protocol/vectors/, see its README) against this SDK's codec.
// This codec decodes envelopes only (the gateway validates params against the schema), so for
// request vectors it checks the envelope and that params are the frame minus type and id.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { CodecError } from '@daily-ws-gateway/client';
import { decodeFrame, decodeRequest, decodeServerMessage, encodeAudioFrame, encodeVideoFrame } from '@daily-ws-gateway/client/codec';
import { ROOT } from './helpers/gateway.mjs';

const VECTORS = join(ROOT, 'protocol', 'vectors');
const json = JSON.parse(readFileSync(join(VECTORS, 'json.json'), 'utf8'));
const binary = JSON.parse(readFileSync(join(VECTORS, 'binary.json'), 'utf8'));

const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function failure(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected a CodecError, got ${err}`);
    return err;
  }
  assert.fail('decoding succeeded but the vector expects an error');
}

describe('json.json requests', () => {
  for (const vector of json.requests) {
    test(`request ${vector.name}`, () => {
      const options = vector.max_bytes != null ? { maxBytes: vector.max_bytes } : {};
      if (vector.error?.layer === 'envelope') {
        const err = failure(() => decodeRequest(vector.text, options));
        assert.equal(err.code, vector.error.code);
        assert.equal(err.requestId, vector.error.request_id);
        if (vector.error.field) assert.equal(err.details.field, vector.error.field);
        return;
      }
      const request = decodeRequest(vector.text, options);
      const { type, id, ...rest } = JSON.parse(vector.text);
      assert.equal(request.type, vector.expect?.type ?? type);
      assert.equal(request.id, vector.expect?.id ?? vector.error.request_id);
      assert.deepEqual(request.params, rest);
      void id;
    });
  }
});

describe('json.json server messages', () => {
  for (const vector of json.server_messages) {
    test(`server message ${vector.name}`, () => {
      if (vector.error) {
        assert.equal(failure(() => decodeServerMessage(vector.text)).code, vector.error.code);
        return;
      }
      const message = decodeServerMessage(vector.text);
      const { kind, ...fields } = vector.expect;
      assert.equal(message.type, kind);
      for (const [key, value] of Object.entries(fields)) assert.deepEqual(message[key], value, `field ${key}`);
    });
  }
});

describe('binary.json decode', () => {
  for (const vector of binary.decode) {
    test(`decode ${vector.name}`, () => {
      const bytes = hex(vector.hex);
      if (vector.error) {
        const err = failure(() => decodeFrame(bytes));
        assert.equal(err.code, vector.error.code);
        assert.deepEqual(err.details, vector.error.details);
        return;
      }
      const frame = decodeFrame(bytes);
      const e = vector.expect;
      const got = { kind: frame.kind, track: frame.track, seq: frame.seq, timestamp_us: frame.timestampUs, flags: frame.flags, payload: toHex(frame.payload) };
      if (frame.kind === 'audio') Object.assign(got, { sample_rate: frame.sampleRate, channels: frame.channels });
      else Object.assign(got, { width: frame.width, height: frame.height, color_format: frame.colorFormat });
      assert.deepEqual(got, e);
    });
  }
});

describe('binary.json encode', () => {
  for (const vector of binary.encode) {
    test(`encode ${vector.name}`, () => {
      const f = vector.fields;
      const common = { track: f.track, seq: f.seq, timestampUs: f.timestamp_us, flags: f.flags, payload: hex(f.payload) };
      const bytes = f.kind === 'audio'
        ? encodeAudioFrame({ ...common, sampleRate: f.sample_rate, channels: f.channels })
        : encodeVideoFrame({ ...common, width: f.width, height: f.height, colorFormat: f.color_format });
      assert.equal(toHex(bytes), vector.hex);
    });
  }
});

test('a timestamp beyond 2^53 us is refused rather than read inexactly', () => {
  const bytes = encodeAudioFrame({ track: 1, seq: 1, timestampUs: 0, sampleRate: 16000, payload: new Int16Array(1) });
  new DataView(bytes.buffer).setBigUint64(8, 2n ** 53n + 1n, true);
  assert.equal(failure(() => decodeFrame(bytes)).code, 'bad_frame');
});
