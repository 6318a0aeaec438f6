// Type test of the SDK's public API (`tsc --noEmit`, run by test/types.test.mjs): every line
// compiles, and each line under `@ts-expect-error` must NOT compile (tsc fails on an unused one).

import {
  decodeWav,
  encodeWav,
  GatewayClient,
  type RequestType,
  type ResultMap,
  type ServerEvent,
} from '@daily-ws-gateway/client';

declare const client: GatewayClient;

// ---------------------------------------------------------------- requests: names and parameters

const pong: number = (await client.request('ping')).time_ms;
await client.join('local://room', { user_name: 'bot', audio_in: { sample_rate: 16000 }, vad: { stop_ms: 400 } });
await client.request('join', { room_url: 'local://room' });
await client.request('send-dtmf', { settings: { tones: '12#' } });
await client.requestUntyped('a-newer-request', { any: 1 });

// @ts-expect-error a request type that does not exist
await client.request('jion');
// @ts-expect-error a misspelt join option (join options are closed: no index signature)
await client.join('local://room', { user_nmae: 'bot' });
// @ts-expect-error join without its room
await client.request('join', {});
// @ts-expect-error ping takes no parameters
await client.request('ping', { extra: 1 });
// @ts-expect-error send-dtmf needs its tones
await client.request('send-dtmf', { settings: {} });
// @ts-expect-error a sample rate is a number
await client.join('local://room', { audio_in: { sample_rate: '16000' } });

// ---------------------------------------------------------------- results

const buffer = await client.getAudioBuffer();
const buffered: number = buffer.buffered_ms + buffer.pending_marks;
const stats = await client.getStats();
const counted: number = stats.requests + stats.media_dropped;
const tracks: number[] = stats.tracks.map((t) => t.track);
// @ts-expect-error buffered_ms is a number
const wrong: string = buffer.buffered_ms;
// @ts-expect-error get-stats has no such field
stats.nothing.toString();

/** Every request of the protocol has a typed result (src/types.ts, ResultMap). */
type Untyped = Exclude<RequestType, keyof ResultMap>;
const everyResultTyped: [Untyped] extends [never] ? true : Untyped = true;

// ---------------------------------------------------------------- events

client.on('server-event', (e: ServerEvent) => {
  if (e.event === 'joined') {
    const id: string = e.data.participant_id;
    // @ts-expect-error after narrowing on `event`, data is joined's: no such field to call
    e.data.nope.toString();
  } else if (e.event === 'speech-started') {
    const track: number = e.data.track;
  }
});
client.on('participant-joined', ({ participant }) => participant.info?.userName);
const reconnected = await client.waitFor('reconnected', (d) => d.restored === 'resumed', { timeoutMs: 1000 });
const resumed = await client.waitFor('resumed');
const mark = await client.waitFor('playout-mark', (d) => d.status === 'played');
// @ts-expect-error no such event
await client.waitFor('not-an-event');
for await (const e of client.events({ signal: AbortSignal.timeout(1000) })) {
  if (e.event === 'app-message') console.log(e.data.sender);
}

// ---------------------------------------------------------------- abort, media, WAV, disposal

await client.request('get-stats', {}, { signal: AbortSignal.timeout(100), timeoutMs: 50 });
const played = await client.waitForPlayout({ timeoutMs: 5000 });
const status: string = played.status;
for await (const frame of client.audioStream({ participantId: 'p-1' })) {
  const pcm: Int16Array = frame.pcm;
}
const wav = decodeWav(encodeWav(new Int16Array(160), { sampleRate: 8000 }));
const rate: number = wav.sampleRate;
{
  await using scoped = await GatewayClient.connect('ws://127.0.0.1:8765/v1');
  await scoped.ping();
}

export { buffered, counted, everyResultTyped, mark, pong, rate, reconnected, resumed, status, tracks, wrong };
