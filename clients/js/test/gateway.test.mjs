// The SDK against a real gateway process (python -m gateway) and a real Python client.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ConnectionError,
  ConnectionState,
  encodeAudioFrame,
  ErrorCode,
  exponentialBackoff,
  GatewayClient,
  GatewayError,
  ProtocolError,
  SessionState,
  SUBPROTOCOL,
} from '@daily-ws-gateway/client';
import { compareWithReference, DEMO_WAV, freshRoom, readWav, sleep, startGateway, startPeer } from './helpers/gateway.mjs';

let gateway;
const clients = [];

/** Kill the client's TCP connection without a close frame (1006), as a network failure would. */
function dropConnection(client) {
  client['session'].signal.rawSocket.terminate();
}

async function connect(options = {}) {
  const client = new GatewayClient({ url: gateway.url, reconnect: false, ...options });
  clients.push(client);
  await client.connect();
  return client;
}

before(async () => {
  gateway = await startGateway({ name: 'js-gateway' });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  const code = await gateway.stop();
  assert.ok(!gateway.log().includes('Traceback'), `the gateway logged a traceback; see ${gateway.logPath}`);
  assert.equal(code, 0, 'the gateway did not exit cleanly');
});

describe('connecting', () => {
  test('connect() resolves with the hello; the state goes connecting -> connected', async () => {
    const client = new GatewayClient({ url: gateway.url, reconnect: false });
    clients.push(client);
    const states = [];
    client.on('connection-state-changed', (s) => states.push(s));
    const hello = await client.connect();
    assert.equal(hello.protocol, SUBPROTOCOL);
    assert.equal(hello.seq, 1);
    assert.ok(hello.capabilities.requests.includes('observe') && hello.capabilities.requests.includes('list-rooms'));
    assert.deepEqual(states, [ConnectionState.CONNECTING, ConnectionState.CONNECTED]);
    assert.equal(typeof (await client.ping()), 'number');
  });

  test('connecting to a port nobody listens on rejects with connect_failed', async () => {
    const client = new GatewayClient({ url: 'ws://127.0.0.1:9/v1', reconnect: false, connectTimeoutMs: 3000 });
    await assert.rejects(client.connect(), (err) => err instanceof ConnectionError && err.code === 'connect_failed');
    assert.equal(client.state, ConnectionState.DISCONNECTED);
  });
});

describe('rooms with a Python client', () => {
  test('join a local room; participant events and app messages go both ways with a Python client', async () => {
    const room = freshRoom();
    const client = await connect();
    const joined = await client.join(room, { user_name: 'node' });
    assert.equal(joined.room_url, room);
    assert.equal(client.participantId, joined.participant_id);
    const peer = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'py', '--echo', '--linger', '10']);
    try {
      const ready = await peer.next();
      const arrived = await client.waitFor('participant-joined', (d) => d.participant.id === ready.participant_id);
      assert.equal(arrived.participant.info.userName, 'py');
      await client.sendAppMessage({ n: 1, text: 'hello from node' });
      const echoed = await peer.next();
      assert.deepEqual(echoed, { echoed: { n: 1, text: 'hello from node' }, from: joined.participant_id });
      const reply = await client.waitFor('app-message', (d) => d.sender === ready.participant_id);
      assert.deepEqual(reply.message, { echo: { n: 1, text: 'hello from node' } });
      const participants = await client.getParticipants();
      assert.deepEqual(new Set(Object.keys(participants)), new Set([joined.participant_id, ready.participant_id]));
    } finally {
      peer.kill();
      await peer.done;
    }
    const left = await client.waitFor('participant-left');
    assert.equal(left.participant.info.userName, 'py');
  });

  test('audio the SDK sends reaches the Python client intact (correlation with the WAV)', async () => {
    const room = freshRoom();
    const speech = readWav(DEMO_WAV);
    const client = await connect();
    const peer = startPeer([
      'join', '--url', gateway.url, '--room', room, '--name', 'py-listener',
      '--record-from', 'node-talker', '--seconds', '4', '--reference', DEMO_WAV,
    ]);
    try {
      await peer.next();
      await client.join(room, { user_name: 'node-talker', audio_out: { sample_rate: speech.sampleRate } });
      assert.ok(client.sendAudio(speech.samples));
      const result = await peer.next(30_000);
      assert.ok(result.peak > 0.9, `the Python client heard something else (correlation ${result.peak})`);
      assert.ok(result.seconds > 3, `only ${result.seconds} s of audio arrived`);
    } finally {
      peer.kill();
      await peer.done;
    }
  });

  test('audio a Python client sends reaches the SDK as PCM16 frames of that participant, intact', async () => {
    const room = freshRoom();
    const client = await connect();
    await client.join(room, { user_name: 'node-listener', audio_in: { sample_rate: 16000, frame_ms: 20 } });
    const peer = startPeer(['join', '--url', gateway.url, '--room', room, '--name', 'py-talker', '--send-wav', DEMO_WAV, '--linger', '12']);
    try {
      const ready = await peer.next();
      const track = await client.waitFor('track-started', (d) => d.participant_id === ready.participant_id);
      assert.equal(track.sample_rate, 16000);
      const pcm = await client.record(4000, { participantId: ready.participant_id });
      assert.ok(pcm.length > 16000 * 3, `only ${pcm.length} samples in 4 s`);
      const dir = mkdtempSync(join(tmpdir(), 'dwg-'));
      const path = join(dir, 'received.pcm');
      writeFileSync(path, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      const result = await compareWithReference(path, 16000);
      assert.ok(result.peak > 0.9, `received audio does not match the WAV (correlation ${result.peak})`);
      assert.ok(client.tracks.get(track.track)?.participant_id === ready.participant_id);
    } finally {
      peer.kill();
      await peer.done;
    }
  });

  test('VAD: speech-started then speech-stopped for the demo talker, with levels', async () => {
    const client = await connect();
    const joined = await client.join('local://demo', { audio_in: { sample_rate: 16000 }, levels_interval_ms: 100, vad: { stop_ms: 400 } });
    const demo = Object.values(joined.participants).find((p) => p.info.userName === 'Demo Talker');
    assert.ok(demo, 'the demo talker is not in local://demo');
    const started = await client.waitFor('speech-started', (d) => d.participant_id === demo.id, { timeoutMs: 12_000 });
    const stopped = await client.waitFor('speech-stopped', (d) => d.participant_id === demo.id, { timeoutMs: 12_000 });
    assert.equal(started.track, stopped.track);
    const levels = await client.waitFor('audio-levels', (d) => d.levels.some((l) => l.level > 0.01));
    assert.equal(levels.levels[0].participant_id, demo.id);
    const frame = await new Promise((resolve) => client.once('audio', resolve));
    assert.equal(frame.participantId, demo.id);
    assert.ok(frame.pcm instanceof Int16Array && frame.pcm.length === 320);
  });

  test('observe: the SDK watches a room read-only and lists rooms', async () => {
    const room = freshRoom();
    const watcher = await connect();
    const snapshot = await watcher.observe(room, { levels_interval_ms: 100 });
    assert.deepEqual(snapshot.participants, {});
    assert.equal(watcher.room.mode, 'observing');
    const talker = await connect();
    const speech = readWav(DEMO_WAV);
    const joined = await talker.join(room, { user_name: 'talker', audio_out: { sample_rate: speech.sampleRate } });
    talker.sendAudio(speech.samples.subarray(0, speech.sampleRate * 3));
    await watcher.waitFor('participant-joined', (d) => d.participant.id === joined.participant_id);
    await watcher.waitFor('speech-started', (d) => d.participant_id === joined.participant_id, { timeoutMs: 8000 });
    const rooms = await watcher.listRooms();
    const listed = rooms.find((r) => r.room_url === room);
    assert.ok(listed && listed.observers === 1 && joined.participant_id in listed.participants);
    await assert.rejects(watcher.sendAppMessage('x'), (err) => err instanceof ProtocolError && err.code === ErrorCode.NOT_ALLOWED);
  });

  test('turns and history: a response turn reaches the SDK typed, turnStats() sums it up, the session is listed and exported', async () => {
    const room = freshRoom();
    const speech = readWav(DEMO_WAV);
    const rate = speech.sampleRate;
    const watcher = await connect();
    await watcher.observe(room);
    const user = await connect();
    const bot = await connect();
    const u = await user.join(room, { user_name: 'user', audio_out: { sample_rate: rate } });
    const b = await bot.join(room, { user_name: 'bot', audio_out: { sample_rate: rate } });
    user.sendAudio(speech.samples.subarray(Math.round(rate * 0.3), Math.round(rate * 2.3)));
    await sleep(2800);
    bot.sendAudio(speech.samples.subarray(Math.round(rate * 3.18), Math.round(rate * 4.94)));
    const turn = await watcher.waitFor('turn', undefined, { timeoutMs: 10000 });
    assert.equal(turn.kind, 'response');
    assert.deepEqual([turn.participant_id, turn.previous_participant_id], [b.participant_id, u.participant_id]);
    assert.ok(turn.gap_ms > 400 && turn.gap_ms < 1400, `gap ${turn.gap_ms} ms`);
    const stats = await watcher.turnStats(5);
    assert.equal(stats.responses.count, 1);
    assert.equal(stats.responses.p50_ms, turn.gap_ms);
    assert.deepEqual(stats.recent, [turn]);
    const botId = (await bot.getStats()).session_id;
    await bot.leave();
    const listed = await watcher.listHistory({ roomUrl: room });
    const kept = listed.sessions.find((s) => s.session_id === botId);
    assert.ok(kept && kept.end_cause === 'left' && kept.user_name === 'bot', JSON.stringify(listed));
    const exported = await watcher.exportHistory(botId);
    assert.equal(exported.session.session_id, botId);
    assert.deepEqual([exported.events[0].event, exported.events.at(-1).event], ['joined', 'left']);
  });
});

describe('publishing', () => {
  test('barge-in: clearAudio drops buffered audio and a pending mark comes back cleared; a later mark plays', async () => {
    const room = freshRoom();
    const speech = readWav(DEMO_WAV);
    const client = await connect();
    await client.join(room, { audio_out: { sample_rate: speech.sampleRate } });
    client.sendAudio(speech.samples.subarray(0, speech.sampleRate * 3));
    await client.markAudio('after-3s');
    await sleep(300);
    const cleared = await client.clearAudio();
    assert.ok(cleared.dropped_ms > 1500, `only ${cleared.dropped_ms} ms dropped`);
    const mark = await client.waitFor('playout-mark', (d) => d.name === 'after-3s');
    assert.equal(mark.status, 'cleared');
    assert.ok(mark.played_ms < 1500);
    client.sendAudio(speech.samples.subarray(0, speech.sampleRate / 5));
    await client.markAudio('short');
    const played = await client.waitFor('playout-mark', (d) => d.name === 'short', { timeoutMs: 5000 });
    assert.equal(played.status, 'played');
  });

  test('sendVideo publishes a frame another participant can capture', async () => {
    const room = freshRoom();
    const camera = await connect();
    const viewer = await connect();
    const joined = await camera.join(room, { user_name: 'camera' });
    await viewer.join(room, { user_name: 'viewer' });
    const pixels = new Uint8Array(4 * 2 * 3).map((_, i) => (i * 37) % 256);
    assert.ok(camera.sendVideo(pixels, { width: 4, height: 2, colorFormat: 'RGB' }));
    await viewer.request('capture-participant-video', { participant_id: joined.participant_id, color_format: 'RGB' });
    const frame = await new Promise((resolve, reject) => {
      const timer = setInterval(() => camera.sendVideo(pixels, { width: 4, height: 2, colorFormat: 'RGB' }), 100);
      viewer.once('video', (f) => {
        clearInterval(timer);
        resolve(f);
      });
      setTimeout(() => {
        clearInterval(timer);
        reject(new Error('no video frame within 5 s'));
      }, 5000);
    });
    assert.equal(frame.participantId, joined.participant_id);
    assert.equal(frame.width, 4);
    assert.deepEqual([...frame.payload], [...pixels]);
  });
});

describe('room state', () => {
  test('getParticipantCounts, getActiveSpeaker and getNetworkStats answer in Daily\'s shapes', async () => {
    const room = freshRoom();
    const a = await connect();
    const b = await connect();
    await a.join(room, { user_name: 'a' });
    await b.join(room, { user_name: 'b' });
    assert.deepEqual(await a.getParticipantCounts(), { present: 2, hidden: 0 });
    await a.waitFor('participant-counts-updated', (d) => d.counts.present === 2);
    assert.equal(await a.getActiveSpeaker(), null);
    const stats = await a.getNetworkStats();
    assert.equal(typeof stats.quality, 'number');
    assert.ok(stats.stats && typeof stats.threshold === 'string');
  });
});

describe('telephony (local simulation)', () => {
  test('a bot dials a phone registered with the SDK: it rings, is answered, DTMF goes both ways, stopDialout ends it', async () => {
    const room = freshRoom('phone');
    const number = `+1212${String(Date.now()).slice(-7)}`;
    const phone = await connect();
    assert.equal(await phone.registerPhone(number, { audio_out: { sample_rate: 16000 } }), number);
    const bot = await connect();
    await bot.join(room, { user_name: 'bot' });
    const sessionId = await bot.startDialout({ phoneNumber: number, displayName: 'bot' });
    const ring = await phone.waitFor('phone-ringing');
    assert.equal(ring.room_url, room);
    const answered = await phone.answerCall(ring.call_id);
    assert.equal(answered.call_id, ring.call_id);
    assert.equal(phone.room?.url, room);
    assert.equal(phone.phone?.callId, ring.call_id);
    const { data } = await bot.waitFor('dialout-answered');
    assert.equal(data.sessionId, sessionId);
    // The phone's keypad reaches the bot, one dtmf-event per tone, in order.
    await phone.sendDtmf('12#', { digitDurationMs: 60 });
    const tones = [];
    for (let i = 0; i < 3; i++) tones.push((await bot.waitFor('dtmf-event')).data.tone);
    assert.deepEqual(tones, ['1', '2', '#']);
    // The bot's tones reach the phone (the call's session id filled in by the gateway).
    assert.equal(await bot.sendDtmf('9', { digitDurationMs: 50 }), sessionId);
    assert.equal((await phone.waitFor('dtmf-event')).data.tone, '9');
    await bot.stopDialout(sessionId);
    const ended = await phone.waitFor('call-ended');
    assert.equal(ended.call_id, ring.call_id);
    assert.equal(phone.phone?.callId, null);
    assert.equal(phone.phone?.number, number, 'the number stays registered after the call');
  });

  test('a phone can decline: the dialer gets dialout-error', async () => {
    const room = freshRoom('phone');
    const number = `+1646${String(Date.now()).slice(-7)}`;
    const phone = await connect();
    await phone.registerPhone(number);
    const bot = await connect();
    await bot.join(room, { user_name: 'bot' });
    await bot.startDialout({ phoneNumber: number });
    await phone.rejectCall((await phone.waitFor('phone-ringing')).call_id);
    await bot.waitFor('dialout-error');
  });
});

describe('session state', () => {
  test('after leave() the session is left: join() is refused locally with wrong_state, requests without a room still work', async () => {
    const room = freshRoom('left');
    const client = await connect();
    const states = [];
    client.on('session-state-changed', (s) => states.push(s));
    await client.join(room, { user_name: 'leaver' });
    await client.leave();
    assert.equal(client.sessionState, SessionState.LEFT);
    assert.equal(client.state, ConnectionState.CONNECTED, 'the connection stays open');
    const seq = client.lastSeq;
    await assert.rejects(client.join(room), (err) => {
      assert.ok(err instanceof GatewayError && !(err instanceof ProtocolError), 'refused by the gateway, not by the SDK');
      assert.equal(err.code, ErrorCode.WRONG_STATE);
      assert.match(err.message, /joins once/);
      return true;
    });
    await assert.rejects(client.observe(room), (err) => err.code === ErrorCode.WRONG_STATE);
    assert.equal(client.lastSeq, seq, 'a request went to the gateway');
    assert.ok((await client.ping()) > 0);
    assert.deepEqual(states, [SessionState.JOINED, SessionState.LEFT]);
  });

  test('a new connection after close() is a fresh session that may join again', async () => {
    const room = freshRoom('again');
    const client = await connect();
    await client.join(room, { user_name: 'twice' });
    await client.leave();
    await client.close();
    await client.connect();
    assert.equal(client.sessionState, SessionState.OPEN);
    const joined = await client.join(room, { user_name: 'twice' });
    assert.equal(client.participantId, joined.participant_id);
    assert.equal(client.sessionState, SessionState.JOINED);
  });
});

describe('errors', () => {
  test('bad requests reject with typed errors carrying the protocol codes; the session lives on', async () => {
    const client = await connect();
    await assert.rejects(client.request('no-such-request'), (err) => err instanceof ProtocolError && err.code === ErrorCode.UNKNOWN_TYPE);
    await assert.rejects(
      client.join(freshRoom(), { audio_in: { sample_rate: 7 } }),
      (err) => err instanceof ProtocolError && err.code === ErrorCode.UNSUPPORTED_FORMAT && err.details.field === 'audio_in.sample_rate',
    );
    await assert.rejects(client.join('ftp://x'), (err) => err.code === ErrorCode.UNKNOWN_BACKEND);
    await assert.rejects(client.sendAppMessage('x'), (err) => err.code === ErrorCode.NOT_JOINED);
    await assert.rejects(client.request('ping', { extra: 1 }), (err) => err.code === ErrorCode.INVALID_PARAMS && err.details.field === 'extra');
    assert.ok((await client.ping()) > 0, 'the session died after bad requests');
  });

  test('a bad binary frame comes back as a protocol-error event (bad_frame, unknown_track)', async () => {
    const client = await connect();
    const errors = [];
    client.on('protocol-error', (err) => errors.push(err));
    client.sendRaw(new Uint8Array(10));
    client.sendRaw(encodeAudioFrame({ track: 99, seq: 1, sampleRate: 16000, payload: new Int16Array(160) }));
    await client.ping();
    assert.deepEqual(errors.map((e) => e.code), [ErrorCode.BAD_FRAME, ErrorCode.UNKNOWN_TRACK]);
    assert.ok(errors.every((e) => e instanceof GatewayError && e.requestId === null));
  });

  test('sendAudio before joining is answered with not_joined; while disconnected it is dropped and counted', async () => {
    const client = await connect();
    const error = new Promise((resolve) => client.once('protocol-error', resolve));
    client.sendAudio(new Int16Array(2400));
    assert.equal((await error).code, ErrorCode.NOT_JOINED);
    await client.close();
    assert.equal(client.sendAudio(new Int16Array(2400)), false);
    assert.equal(client.stats.audioFramesDropped, 1);
  });
});

describe('reconnecting', () => {
  test('after the gateway restarts, the client reconnects, joins the room again and sends queued requests', async () => {
    const first = await startGateway({ args: [], name: 'js-reconnect' });
    const port = first.port;
    const room = freshRoom('rc');
    const client = new GatewayClient({ url: first.url, reconnect: exponentialBackoff({ initialMs: 100, maxMs: 300, maxAttempts: 100 }) });
    const states = [];
    client.on('connection-state-changed', (s) => states.push(s));
    let second;
    try {
      await client.connect();
      const joined = await client.join(room, { user_name: 'phoenix' });
      const oldSession = client.sessionId;
      const reconnecting = new Promise((resolve) => client.once('reconnecting', resolve));
      await first.stop('SIGTERM');
      const info = await reconnecting;
      assert.equal(info.closeCode, 1001, 'the gateway should close with going-away');
      assert.equal(client.state, ConnectionState.RECONNECTING);
      const queued = client.ping(); // queued while reconnecting
      const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
      await sleep(400);
      second = await startGateway({ port, args: [], name: 'js-reconnect-2' });
      const result = await reconnected;
      assert.equal(result.restored, 'joined');
      assert.ok((await queued) > 0, 'the queued ping was not answered');
      assert.notEqual(client.sessionId, oldSession);
      assert.ok(client.participantId && client.participantId !== joined.participant_id);
      const rooms = await client.listRooms();
      assert.ok(rooms.some((r) => r.room_url === room && client.participantId in r.participants), 'not in the room again');
      assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);
    } finally {
      await client.close();
      await first.stop();
      await second?.stop();
    }
  });

  test('when the policy gives up the client is disconnected and queued requests reject', async () => {
    const gw = await startGateway({ args: [], name: 'js-giveup' });
    const client = new GatewayClient({ url: gw.url, reconnect: exponentialBackoff({ initialMs: 50, maxAttempts: 2, jitter: 0 }) });
    try {
      await client.connect();
      const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
      await gw.stop('SIGKILL');
      await sleep(20);
      const queued = client.ping();
      const info = await disconnected;
      assert.ok(info.error instanceof ConnectionError);
      await assert.rejects(queued, (err) => err instanceof ConnectionError);
      assert.equal(client.state, ConnectionState.DISCONNECTED);
    } finally {
      await client.close();
    }
  });

  test('a dropped connection is resumed: same session, every event missed replayed once and in order', async () => {
    const room = freshRoom('resume');
    const client = await connect({ reconnect: exponentialBackoff({ initialMs: 50, maxMs: 200, maxAttempts: 50 }) });
    const other = await connect();
    const joined = await client.join(room, { user_name: 'resumer' });
    await other.join(room, { user_name: 'sender' });
    const numbers = [];
    client.on('app-message', (d) => numbers.push(d.message.n));
    await other.sendAppMessage({ n: 0 });
    await client.waitFor('app-message', (d) => d.message.n === 0);
    const sessionId = client.sessionId;
    const resumed = new Promise((resolve) => client.once('resumed', resolve));
    const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
    dropConnection(client); // the TCP connection dies: no close frame (1006)
    for (let n = 1; n <= 10; n += 1) await other.sendAppMessage({ n });
    const result = await resumed;
    assert.equal((await reconnected).restored, 'resumed');
    assert.equal(result.session_id, sessionId);
    assert.ok(result.replayed >= 10, `replayed ${result.replayed}`);
    for (let n = 11; n <= 15; n += 1) await other.sendAppMessage({ n });
    await client.waitFor('app-message', (d) => d.message.n === 15);
    assert.deepEqual(numbers, Array.from({ length: 16 }, (_, n) => n));
    assert.equal(client.sessionId, sessionId);
    assert.equal(client.participantId, joined.participant_id);
    assert.equal(client.stats.resumes, 1);
    const left = other.eventLog.filter((e) => e.event === 'participant-left');
    assert.deepEqual(left, [], 'the room saw the resumed participant leave');
  });

  test('a request written as the connection dies is sent again after the resume, and runs once', async () => {
    const room = freshRoom('resend');
    const client = await connect({ reconnect: exponentialBackoff({ initialMs: 50, maxMs: 200, maxAttempts: 50 }), requestTimeoutMs: 8000 });
    const other = await connect();
    await client.join(room, { user_name: 'resender' });
    await other.join(room, { user_name: 'receiver' });
    const resumed = client.waitFor('resumed');
    dropConnection(client); // the socket is dead, and the client has not noticed yet
    assert.equal(client.state, ConnectionState.CONNECTED);
    const sent = client.sendAppMessage({ n: 'written-to-a-dead-socket' }); // never reaches the gateway
    await resumed;
    await sent; // answered: sent again with its id once the replay was read
    assert.equal(client.stats.resent, 1);
    await other.waitFor('app-message', (d) => d.message.n === 'written-to-a-dead-socket');
    await other.ping();
    const copies = other.eventLog.filter((e) => e.event === 'app-message' && e.data.message.n === 'written-to-a-dead-socket');
    assert.equal(copies.length, 1, 'the request ran twice');
  });

  test('when the gateway cannot resume (replay buffer exceeded), the client joins the room again', async () => {
    const gw = await startGateway({ args: ['--replay-buffer-events', '5'], name: 'js-resume-gap' });
    const room = freshRoom('gap');
    const client = new GatewayClient({ url: gw.url, reconnect: exponentialBackoff({ initialMs: 600, maxMs: 600, jitter: 0, maxAttempts: 20 }) });
    const other = new GatewayClient({ url: gw.url, reconnect: false });
    try {
      await client.connect();
      await other.connect();
      const joined = await client.join(room, { user_name: 'gap' });
      await other.join(room, { user_name: 'sender' });
      const errors = [];
      client.on('protocol-error', (e) => errors.push(e));
      const reconnected = new Promise((resolve) => client.once('reconnected', resolve));
      dropConnection(client);
      for (let n = 0; n < 20; n += 1) await other.sendAppMessage({ n });
      const result = await reconnected;
      assert.equal(result.restored, 'joined');
      assert.ok(errors.some((e) => e.code === ErrorCode.RESUME_FAILED && e.details?.reason === 'replay_gap'), 'no resume_failed replay_gap');
      assert.notEqual(client.participantId, joined.participant_id);
      assert.equal(client.stats.resumes, 0);
    } finally {
      await client.close();
      await other.close();
      await gw.stop();
    }
  });

  test('a connection closed by the client is not reopened', async () => {
    const client = await connect({ reconnect: exponentialBackoff({ initialMs: 10 }) });
    await client.close();
    await sleep(200);
    assert.equal(client.state, ConnectionState.DISCONNECTED);
  });
});

describe('bot helpers', () => {
  test('waitForPlayout resolves once the audio sent has played into the room', async () => {
    const client = await connect();
    await client.join(freshRoom('playout'), { audio_out: { sample_rate: 16000 } });
    const started = Date.now();
    client.sendAudio(new Int16Array(8000).fill(1000)); // 500 ms
    const played = await client.waitForPlayout();
    assert.equal(played.status, 'played');
    assert.ok(played.played_ms >= 480, `played ${played.played_ms} ms`);
    assert.ok(Date.now() - started >= 400, 'resolved before the audio could have played');
  });

  for (const sampleRate of [8000, 48000]) {
    test(`audioStream({participantId}) carries that participant's frames only, at ${sampleRate} Hz`, async () => {
      const room = freshRoom('stream');
      const listener = await connect();
      const talker = await connect();
      const other = await connect();
      await listener.join(room, { audio_in: { sample_rate: sampleRate, frame_ms: 20 } });
      const joined = await talker.join(room, { user_name: 'talker', audio_out: { sample_rate: 16000 } });
      await other.join(room, { user_name: 'other', audio_out: { sample_rate: 16000 } });
      const stream = listener.audioStream({ participantId: joined.participant_id });
      const tone = Int16Array.from({ length: 16000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
      talker.sendAudio(tone);
      other.sendAudio(tone);
      const frames = [];
      for await (const frame of stream) {
        frames.push(frame);
        if (frames.length === 10) break; // stops the stream
      }
      assert.ok(frames.every((f) => f.participantId === joined.participant_id && f.sampleRate === sampleRate));
      assert.ok(frames.every((f) => f.pcm.length === sampleRate / 50));
      assert.equal(listener['audioSinks'].size, 0, 'the stream still listens after the reader stopped');
    });
  }

  test('events() iterates protocol events, narrowed by name, until the reader stops or the signal aborts', async () => {
    const room = freshRoom('events');
    const client = await connect();
    const other = await connect();
    await client.join(room, { user_name: 'iterating' });
    const seen = [];
    const controller = new AbortController();
    const reading = (async () => {
      for await (const event of client.events({ signal: controller.signal })) {
        seen.push(event.event);
        if (event.event === 'app-message' && event.data.message === 'last') break;
      }
    })();
    const joined = await other.join(room, { user_name: 'other' });
    await other.sendAppMessage('first');
    await other.sendAppMessage('last');
    await reading;
    assert.deepEqual(seen.filter((e) => e === 'participant-joined' || e === 'app-message'), ['participant-joined', 'app-message', 'app-message']);
    assert.equal(client.listenerCount('server-event'), 0, 'the iterator still listens after the reader stopped');
    const aborted = (async () => {
      const events = [];
      for await (const event of client.events({ signal: controller.signal })) events.push(event);
      return events;
    })();
    controller.abort();
    assert.deepEqual(await aborted, []);
    void joined;
  });

  test('Symbol.asyncDispose (`await using`) closes the client: the participant leaves at once', async () => {
    const room = freshRoom('dispose');
    const watcher = await connect();
    await watcher.observe(room);
    const client = await GatewayClient.connect(gateway.url, { reconnect: false });
    const joined = await client.join(room, { user_name: 'disposable' });
    await client[Symbol.asyncDispose]();
    assert.equal(client.state, ConnectionState.DISCONNECTED);
    await watcher.waitFor('participant-left', (d) => d.participant.id === joined.participant_id, { timeoutMs: 3000 });
  });
});

describe('served at /sdk/', () => {
  test('every module the gateway serves has a source map that carries its TypeScript source', async () => {
    const { readdirSync } = await import('node:fs');
    const modules = readdirSync(new URL('../dist/', import.meta.url)).filter((f) => f.endsWith('.js'));
    assert.ok(modules.includes('index.js') && modules.includes('client.js'));
    for (const name of modules) {
      const js = await (await fetch(`${gateway.httpUrl}/sdk/${name}`)).text();
      const link = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js);
      assert.ok(link, `${name} has no sourceMappingURL`);
      const response = await fetch(new URL(link[1], `${gateway.httpUrl}/sdk/${name}`));
      assert.equal(response.status, 200, `${name}: its map does not load`);
      const map = await response.json();
      assert.equal(map.sources.length, map.sourcesContent?.length, `${name}: the map does not carry its sources`);
      assert.ok(map.sourcesContent.every((text) => typeof text === 'string' && text.includes('*/')), `${name}: empty source in its map`);
    }
  });
});

describe('README', () => {
  test('the ten-line Node script of clients/js/README.md joins the demo room and hears the talker', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const match = /<!-- ten-lines -->\s*```(?:js|ts)\n([\s\S]*?)```/.exec(readme);
    assert.ok(match, 'no ten-line script in the README');
    const script = match[1];
    assert.ok(script.trim().split('\n').length <= 10, 'the README script is longer than ten lines');
    const dir = new URL('../', import.meta.url);
    const path = new URL('readme-script.test-tmp.mjs', dir);
    writeFileSync(path, script);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.pathname], { env: { ...process.env, GATEWAY_URL: gateway.url } });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    const { unlinkSync } = await import('node:fs');
    unlinkSync(path);
    assert.equal(code, 0, out);
    assert.match(out, /Demo Talker/);
    assert.match(out, /speech-started/);
  });
});
