// Unit tests of the SDK without a gateway: codec, errors, PCM helpers, reconnect policy, wire lists.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  CloseCode,
  CodecError,
  decodeWav,
  encodeWav,
  ColorFormat,
  ConnectionError,
  decodeFrame,
  decodeServerMessage,
  encodeAudioFrame,
  encodeRequest,
  encodeVideoFrame,
  ErrorCode,
  exponentialBackoff,
  float32ToPcm16,
  GatewayClient,
  GatewayError,
  HEADER_SIZE,
  KNOWN_EVENTS,
  KNOWN_REQUESTS,
  pcm16Samples,
  pcm16ToFloat32,
  ProtocolError,
  resampleLinear,
  rmsLevel,
  SUBPROTOCOL,
  TimeoutError,
} from '@daily-ws-gateway/client';
import { decodeRequest, encodeEvent, encodeFailure } from '@daily-ws-gateway/client/codec';
import { DEMO_WAV, PYTHON, readWav, ROOT } from './helpers/gateway.mjs';

const SCHEMA = join(ROOT, 'protocol', 'schema');

function codeOf(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CodecError, `expected a CodecError, got ${err}`);
    assert.ok(err instanceof GatewayError);
    return err.code;
  }
  assert.fail('no error thrown');
}

describe('binary frames', () => {
  test('an audio frame round-trips with a 28-byte little-endian header', () => {
    const pcm = new Int16Array([0, 1, -1, 32767, -32768]);
    const bytes = encodeAudioFrame({ track: 1, seq: 7, timestampUs: 1_700_000_000_123_456, sampleRate: 16000, channels: 1, payload: pcm });
    assert.equal(bytes.length, HEADER_SIZE + 10);
    assert.deepEqual([...bytes.subarray(0, 4)], [1, 1, 1, 0]);
    const frame = decodeFrame(bytes);
    assert.equal(frame.kind, 'audio');
    assert.equal(frame.seq, 7);
    assert.equal(frame.timestampUs, 1_700_000_000_123_456);
    assert.equal(frame.sampleRate, 16000);
    assert.deepEqual([...pcm16Samples(frame)], [...pcm]);
  });

  test('sequence numbers wrap at 2**32', () => {
    const frame = decodeFrame(encodeAudioFrame({ track: 1, seq: 2 ** 32 + 5, sampleRate: 8000, payload: new Int16Array(2) }));
    assert.equal(frame.seq, 5);
  });

  test('a video frame round-trips and its size is checked per colour format', () => {
    const bytes = encodeVideoFrame({ track: 2, seq: 1, timestampUs: 0, width: 4, height: 2, colorFormat: ColorFormat.I420, payload: new Uint8Array(12) });
    const frame = decodeFrame(bytes);
    assert.equal(frame.kind, 'video');
    assert.equal(frame.width, 4);
    assert.equal(frame.colorFormat, ColorFormat.I420);
    const wrong = encodeVideoFrame({ track: 2, seq: 1, width: 4, height: 2, colorFormat: ColorFormat.RGB, payload: new Uint8Array(12) });
    assert.equal(codeOf(() => decodeFrame(wrong)), ErrorCode.BAD_PAYLOAD);
  });

  test('bad frames fail with the protocol codes the Python codec uses', () => {
    const good = encodeAudioFrame({ track: 1, seq: 1, sampleRate: 16000, payload: new Int16Array(4) });
    assert.equal(codeOf(() => decodeFrame(good.subarray(0, 27))), ErrorCode.BAD_FRAME);
    const version = good.slice();
    version[0] = 2;
    assert.equal(codeOf(() => decodeFrame(version)), ErrorCode.BAD_FRAME);
    const kind = good.slice();
    kind[1] = 9;
    assert.equal(codeOf(() => decodeFrame(kind)), ErrorCode.UNKNOWN_KIND);
    assert.equal(codeOf(() => decodeFrame(good.subarray(0, good.length - 2))), ErrorCode.BAD_PAYLOAD);
    const rate = encodeAudioFrame({ track: 1, seq: 1, sampleRate: 4000, payload: new Int16Array(4) });
    assert.equal(codeOf(() => decodeFrame(rate)), ErrorCode.UNSUPPORTED_FORMAT);
    const odd = encodeAudioFrame({ track: 1, seq: 1, sampleRate: 16000, channels: 2, payload: new Uint8Array(6) });
    assert.equal(codeOf(() => decodeFrame(odd)), ErrorCode.BAD_PAYLOAD);
    const encoding = good.slice();
    encoding[25] = 3;
    assert.equal(codeOf(() => decodeFrame(encoding)), ErrorCode.UNSUPPORTED_FORMAT);
  });
});

describe('text frames', () => {
  test('requests encode as {type, id, ...params} and decode back', () => {
    const text = encodeRequest('join', 'r1', { room_url: 'local://x', audio_in: { sample_rate: 16000 } });
    assert.deepEqual(JSON.parse(text), { type: 'join', id: 'r1', room_url: 'local://x', audio_in: { sample_rate: 16000 } });
    assert.deepEqual(decodeRequest(text), { type: 'join', id: 'r1', params: { room_url: 'local://x', audio_in: { sample_rate: 16000 } } });
    assert.equal(decodeRequest('{"type":"ping","id":5}').id, '5');
  });

  test('bad requests fail with bad_json, bad_message, invalid_params and too_large', () => {
    assert.equal(codeOf(() => decodeRequest('{')), ErrorCode.BAD_JSON);
    assert.equal(codeOf(() => decodeRequest('[1]')), ErrorCode.BAD_MESSAGE);
    assert.equal(codeOf(() => decodeRequest('{"id":"1"}')), ErrorCode.BAD_MESSAGE);
    assert.equal(codeOf(() => decodeRequest('{"type":"ping"}')), ErrorCode.INVALID_PARAMS);
    assert.equal(codeOf(() => decodeRequest(`{"type":"ping","id":"${'x'.repeat(129)}"}`)), ErrorCode.INVALID_PARAMS);
    assert.equal(codeOf(() => decodeRequest('{"type":"ping","id":"1"}', { maxBytes: 10 })), ErrorCode.TOO_LARGE);
  });

  test('server messages decode by type; unknown or seq-less ones are bad_message', () => {
    const event = decodeServerMessage(encodeEvent(3, 'app-message', { message: 'hi', sender: 'p' }));
    assert.deepEqual(event, { type: 'event', seq: 3, event: 'app-message', data: { message: 'hi', sender: 'p' } });
    const failure = decodeServerMessage(encodeFailure(4, 'r1', { code: 'not_found', message: 'no' }));
    assert.equal(failure.ok, false);
    assert.equal(failure.error.code, 'not_found');
    const hello = decodeServerMessage(JSON.stringify({ type: 'hello', seq: 1, protocol: SUBPROTOCOL, version: 1, session_id: 's', server: {}, limits: {}, capabilities: {}, resume: 'x' }));
    assert.equal(hello.type, 'hello');
    assert.deepEqual(hello.extra, { resume: 'x' });
    assert.equal(codeOf(() => decodeServerMessage('{"type":"event","event":"x"}')), ErrorCode.BAD_MESSAGE);
    assert.equal(codeOf(() => decodeServerMessage('{"type":"nope","seq":1}')), ErrorCode.BAD_MESSAGE);
    assert.equal(codeOf(() => decodeServerMessage('nope')), ErrorCode.BAD_JSON);
  });
});

describe('audio helpers', () => {
  test('PCM16 -> Float32 -> PCM16 is lossless and the extremes map to +-1', () => {
    const pcm = new Int16Array([-32768, -16384, -1, 0, 1, 16384, 32767]);
    const floats = pcm16ToFloat32(pcm);
    assert.equal(floats[0], -1);
    assert.ok(Math.abs(floats[6] - 1) < 1e-4);
    assert.deepEqual([...float32ToPcm16(floats)], [...pcm]);
  });

  test('Float32 -> PCM16 clamps out-of-range values and NaN', () => {
    assert.deepEqual([...float32ToPcm16(new Float32Array([2, -2, NaN, 0.5]))], [32767, -32768, 0, 16384]);
  });

  test('linear resampling keeps the duration and a tone its level', () => {
    const rate = 48000;
    const tone = new Float32Array(rate).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate));
    const out = resampleLinear(tone, 48000, 16000);
    assert.equal(out.length, 16000);
    assert.ok(Math.abs(rmsLevel(out) - rmsLevel(tone)) < 0.01);
  });
});

describe('errors and policy', () => {
  test('errors form one tree with stable codes', () => {
    const err = new ProtocolError({ code: 'not_joined', message: 'join first', fatal: false }, 'r9');
    assert.ok(err instanceof GatewayError && err instanceof Error);
    assert.equal(err.code, ErrorCode.NOT_JOINED);
    assert.equal(err.requestId, 'r9');
    assert.equal(err.name, 'ProtocolError');
    assert.ok(new ConnectionError('connection_closed', 'x') instanceof GatewayError);
    assert.ok(new TimeoutError('request_timeout', 'x') instanceof GatewayError);
  });

  test('the SDK error codes are exactly the protocol schema codes', () => {
    const common = JSON.parse(readFileSync(join(SCHEMA, 'common.json'), 'utf8'));
    assert.deepEqual(Object.values(ErrorCode).sort(), [...common.$defs.error_code.enum].sort());
  });

  test('the SDK close codes are the Python protocol package\'s (plus 1006, which only clients see)', () => {
    const script = 'import json; from protocol.constants import CloseCode; print(json.dumps({c.name: c.value for c in CloseCode}))';
    const python = JSON.parse(execFileSync(PYTHON, ['-c', script], { cwd: ROOT, encoding: 'utf8' }));
    const { ABNORMAL, ...ours } = CloseCode;
    assert.equal(ABNORMAL, 1006);
    assert.deepEqual(ours, python);
  });

  test('src/wire.ts is what protocol/schema/ generates (run `make js-types` after changing a schema)', async () => {
    const { generate, OUTPUT } = await import('../scripts/generate-wire.mjs');
    const current = readFileSync(OUTPUT, 'utf8');
    const fresh = await generate();
    const stale = current !== fresh;
    assert.ok(!stale, 'clients/js/src/wire.ts is stale: it is not what protocol/schema/ generates. '
      + 'Run `make js-types` (or `npm run generate` in clients/js), rebuild, and commit src/wire.ts.');
  });

  // The schema directory is read now, not copied into the test, so that a request or event
  // added to the protocol fails here until wire.ts is generated again (KNOWN_REQUESTS and
  // KNOWN_EVENTS come from the generated file).
  const schemaNames = (dir) => readdirSync(join(SCHEMA, dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

  test('the SDK types every request of protocol/schema/requests/, and no other', () => {
    const schema = schemaNames('requests');
    const missing = schema.filter((name) => !KNOWN_REQUESTS.includes(name));
    const extra = KNOWN_REQUESTS.filter((name) => !schema.includes(name));
    assert.deepEqual(missing, [], `requests in the schema the SDK does not type (run make js-types): ${missing.join(', ')}`);
    assert.deepEqual(extra, [], `requests the SDK types that have no schema: ${extra.join(', ')}`);
  });

  test('the SDK types every event of protocol/schema/events/, and no other', () => {
    const schema = schemaNames('events');
    const missing = schema.filter((name) => !KNOWN_EVENTS.includes(name));
    const extra = KNOWN_EVENTS.filter((name) => !schema.includes(name));
    assert.deepEqual(missing, [], `events in the schema the SDK does not type (run make js-types): ${missing.join(', ')}`);
    assert.deepEqual(extra, [], `events the SDK types that have no schema: ${extra.join(', ')}`);
  });

  test('backoff grows to its cap, stops after maxAttempts and on fatal close codes', () => {
    const policy = exponentialBackoff({ initialMs: 100, factor: 2, maxMs: 1000, jitter: 0, maxAttempts: 6 });
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => policy.nextDelayMs({ attempt, elapsedMs: 0, closeCode: 1006 }));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(policy.nextDelayMs({ attempt: 7, elapsedMs: 0, closeCode: 1006 }), null);
    assert.equal(policy.nextDelayMs({ attempt: 1, elapsedMs: 0, closeCode: 4001 }), null);
    const jittered = exponentialBackoff({ initialMs: 1000, jitter: 0.5 }).nextDelayMs({ attempt: 1, elapsedMs: 0, closeCode: null });
    assert.ok(jittered >= 500 && jittered <= 1000);
  });
});

describe('client with an injected WebSocket', () => {
  /** A fake WebSocket that says hello and answers ping, to test the client without a server. */
  class FakeSocket {
    static last = null;
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.protocol = '';
      this.bufferedAmount = 0;
      this.sent = [];
      FakeSocket.last = this;
      setTimeout(() => {
        this.readyState = 1;
        this.protocol = protocols[0];
        this.onopen?.({});
        this.onmessage?.({ data: JSON.stringify({ type: 'hello', seq: 1, protocol: SUBPROTOCOL, version: 1, session_id: 'fake', server: { name: 'fake', version: '0' }, limits: {}, capabilities: {} }) });
      }, 1);
    }
    send(data) {
      this.sent.push(data);
      const request = JSON.parse(data);
      setTimeout(() => this.onmessage?.({ data: JSON.stringify({ type: 'reply', seq: 2, id: request.id, ok: true, result: { time_ms: 42 } }) }), 1);
    }
    close(code = 1000, reason = '') {
      this.readyState = 3;
      setTimeout(() => this.onclose?.({ code, reason }), 1);
    }
  }

  test('the WebSocket class can be injected; the subprotocol is offered; states go connecting -> connected -> disconnected', async () => {
    const client = new GatewayClient({ url: 'ws://fake/v1', WebSocket: FakeSocket });
    const states = [];
    client.on('connection-state-changed', (s) => states.push(s));
    await client.connect();
    assert.deepEqual(FakeSocket.last.protocols, [SUBPROTOCOL]);
    assert.equal(await client.ping(), 42);
    await client.close();
    assert.deepEqual(states, ['connecting', 'connected', 'disconnected']);
  });

  test('a request made while connecting is queued and sent once the hello arrives', async () => {
    const client = new GatewayClient({ url: 'ws://fake/v1', WebSocket: FakeSocket });
    const connecting = client.connect();
    assert.equal(client.state, 'connecting');
    const pong = client.ping();
    await connecting;
    assert.equal(await pong, 42);
    await client.close();
  });

  test('a request while disconnected rejects with not_connected', async () => {
    const client = new GatewayClient({ url: 'ws://fake/v1', WebSocket: FakeSocket });
    await assert.rejects(client.ping(), (err) => err instanceof ConnectionError && err.code === 'not_connected');
  });
});

describe('WAV files', () => {
  for (const sampleRate of [8000, 16000, 24000, 48000]) {
    for (const channels of [1, 2]) {
      test(`PCM16 at ${sampleRate} Hz, ${channels} channel(s) round-trips through encodeWav / decodeWav`, () => {
        const samples = Int16Array.from({ length: sampleRate / 50 * channels }, (_, i) => ((i * 7919) % 65536) - 32768);
        const bytes = encodeWav(samples, { sampleRate, channels });
        assert.equal(bytes.length, 44 + samples.length * 2);
        const wav = decodeWav(bytes);
        assert.equal(wav.sampleRate, sampleRate);
        assert.equal(wav.channels, channels);
        assert.deepEqual([...wav.samples], [...samples]);
      });
    }
  }

  test('decodeWav reads a real WAV file (the demo speech) as the test helper does', () => {
    const wav = decodeWav(readFileSync(DEMO_WAV));
    const reference = readWav(DEMO_WAV);
    assert.equal(wav.sampleRate, reference.sampleRate);
    assert.deepEqual(wav.samples, reference.samples);
  });

  test('decodeWav says what is wrong with what is not PCM16 WAV', () => {
    assert.throws(() => decodeWav(new Uint8Array(10)), /not a WAV file/);
    const float = encodeWav(new Int16Array(4), { sampleRate: 8000 });
    new DataView(float.buffer).setUint16(34, 32, true);
    assert.throws(() => decodeWav(float), /only 16-bit PCM/);
    assert.throws(() => decodeWav(encodeWav(new Int16Array(0), { sampleRate: 8000 }).subarray(0, 36)), /without a data chunk/);
  });
});

describe('waits and aborts', () => {
  /** Says hello and never answers: requests stay in flight. */
  class SilentSocket {
    constructor(url, protocols) {
      this.readyState = 0;
      this.protocol = '';
      this.bufferedAmount = 0;
      this.sent = [];
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
        this.onmessage?.({ data: JSON.stringify({ type: 'hello', seq: 1, protocol: SUBPROTOCOL, version: 1, session_id: 's', server: { name: 'x', version: '0' }, limits: {}, capabilities: {} }) });
      }, 1);
      void url;
      void protocols;
    }
    send(data) {
      this.sent.push(data);
    }
    close(code = 1000, reason = '') {
      this.readyState = 3;
      setTimeout(() => this.onclose?.({ code, reason }), 1);
    }
  }

  test('an aborted request rejects with the signal\'s reason at once, and a late reply settles nothing', async () => {
    const client = new GatewayClient({ url: 'ws://fake/v1', WebSocket: SilentSocket, reconnect: false });
    await client.connect();
    const controller = new AbortController();
    const pending = client.request('ping', {}, { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    await assert.rejects(pending, /changed my mind/);
    await assert.rejects(client.request('ping', {}, { signal: AbortSignal.abort() }), (err) => err.name === 'AbortError');
    await client.close();
  });

  test('waitFor takes the SDK\'s own events (the next one), with a timeout and an abort signal', async () => {
    const client = new GatewayClient({ url: 'ws://fake/v1', WebSocket: SilentSocket, reconnect: false });
    const hello = client.waitFor('hello');
    const state = client.waitFor('connection-state-changed', (s) => s === 'connected');
    await client.connect();
    assert.equal((await hello).session_id, 's');
    assert.equal(await state, 'connected');
    await assert.rejects(client.waitFor('reconnected', undefined, { timeoutMs: 20 }), (err) => err instanceof TimeoutError && err.code === 'wait_timeout');
    const controller = new AbortController();
    const waiting = client.waitFor('joined', undefined, { signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await assert.rejects(waiting, /stop waiting/);
    await client.close();
  });
});
