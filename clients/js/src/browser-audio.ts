/**
 * Browser audio: an AudioWorklet microphone capture that yields PCM16 frames, and an
 * AudioWorklet player that mixes every participant's PCM16 track with a small jitter
 * buffer. Both load their worklet code from a Blob URL, so the SDK needs no extra file
 * served. Nothing here runs at import time: importing the SDK in Node is safe.
 */

import { float32ToPcm16, pcm16ToFloat32, resampleLinear, rmsLevel, toMono } from './audio.js';
import type { GatewayClient, ReceivedAudio } from './client.js';

const CAPTURE_WORKLET = `
class DwgCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.buf = new Float32Array(this.size);
    this.n = 0;
  }
  process(inputs) {
    const input = inputs[0];
    if (input && input.length) {
      const a = input[0], b = input[1];
      for (let i = 0; i < a.length; i++) {
        this.buf[this.n++] = b ? (a[i] + b[i]) * 0.5 : a[i];
        if (this.n === this.size) {
          this.port.postMessage(this.buf, [this.buf.buffer]);
          this.buf = new Float32Array(this.size);
          this.n = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor('dwg-capture', DwgCapture);
`;

const PLAYER_WORKLET = `
class DwgPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.maxSamples = o.maxBufferSamples;
    this.startSamples = o.startSamples;
    this.tracks = new Map();
    this.played = 0; this.underruns = 0; this.dropped = 0; this.ticks = 0;
    this.port.onmessage = (e) => {
      const { key, samples, end } = e.data;
      if (end) { this.tracks.delete(key); return; }
      let t = this.tracks.get(key);
      if (!t) { t = { chunks: [], offset: 0, queued: 0, started: false }; this.tracks.set(key, t); }
      t.chunks.push(samples);
      t.queued += samples.length;
      while (t.queued > this.maxSamples && t.chunks.length > 1) {
        const c = t.chunks.shift();
        const lost = c.length - t.offset;
        t.queued -= lost; t.offset = 0; this.dropped += lost;
      }
    };
  }
  process(inputs, outputs) {
    const outs = outputs[0];
    const out = outs[0];
    for (const t of this.tracks.values()) {
      if (!t.started) { if (t.queued >= this.startSamples) t.started = true; else continue; }
      let i = 0;
      while (i < out.length && t.chunks.length) {
        const c = t.chunks[0];
        const n = Math.min(out.length - i, c.length - t.offset);
        for (let k = 0; k < n; k++) out[i + k] += c[t.offset + k];
        i += n; t.offset += n; t.queued -= n;
        if (t.offset === c.length) { t.chunks.shift(); t.offset = 0; }
      }
      this.played += i;
      if (i < out.length) { this.underruns++; t.started = false; }
    }
    for (let ch = 1; ch < outs.length; ch++) outs[ch].set(out);
    if (++this.ticks % 50 === 0) {
      const queued = {};
      for (const [key, t] of this.tracks) queued[key] = t.queued;
      this.port.postMessage({ played: this.played, underruns: this.underruns, dropped: this.dropped, queued });
    }
    return true;
  }
}
registerProcessor('dwg-player', DwgPlayer);
`;

const loaded = new WeakMap<BaseAudioContext, Set<string>>();

async function loadWorklet(context: BaseAudioContext, name: string, code: string): Promise<void> {
  let names = loaded.get(context);
  if (!names) loaded.set(context, (names = new Set()));
  if (names.has(name)) return;
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  try {
    await context.audioWorklet.addModule(url);
    names.add(name);
  } finally {
    URL.revokeObjectURL(url);
  }
}

export interface MicrophoneOptions {
  /** Use this context (its sample rate is the capture rate); default: a new one at `sampleRate`. */
  context?: AudioContext;
  /** Rate of a new context (the gateway accepts 8000-48000). Default 48000. */
  sampleRate?: number;
  /** Capture from this stream instead of asking for the microphone. */
  stream?: MediaStream;
  /** Frame length of the PCM16 frames produced. Default 20 ms. */
  frameMs?: number;
  /** Browser voice processing (echo cancellation, noise suppression, gain control). Default true. */
  voiceProcessing?: boolean;
  /** Extra getUserMedia audio constraints (e.g. `{deviceId}`). */
  constraints?: MediaTrackConstraints;
}

/**
 * The browser microphone as a stream of PCM16 frames (mono, at `sampleRate`).
 *
 * ```js
 * const mic = await MicrophoneCapture.start();
 * await client.join(room, { audio_out: { sample_rate: mic.sampleRate } });
 * mic.pipeTo(client);        // or mic.onFrame = (pcm) => ...
 * ```
 */
export class MicrophoneCapture {
  /** Called with every frame (PCM16 mono). */
  onFrame: ((pcm: Int16Array) => void) | null = null;
  /** RMS level of the last frame, 0..1 (for a meter). */
  level = 0;
  /** Frames captured so far. */
  frames = 0;
  /** When true, frames are still produced but are all zeros. */
  muted = false;

  private constructor(
    readonly context: AudioContext,
    readonly stream: MediaStream,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
    private readonly sink: GainNode,
    private readonly ownContext: boolean,
    private readonly ownStream: boolean,
  ) {
    node.port.onmessage = (event: MessageEvent<Float32Array>) => {
      const samples = event.data;
      this.frames += 1;
      this.level = this.muted ? 0 : rmsLevel(samples);
      const pcm = this.muted ? new Int16Array(samples.length) : float32ToPcm16(samples);
      this.onFrame?.(pcm);
    };
  }

  /** The capture rate (the context's). */
  get sampleRate(): number {
    return this.context.sampleRate;
  }

  /** Ask for the microphone (unless a stream is given) and start capturing. */
  static async start(options: MicrophoneOptions = {}): Promise<MicrophoneCapture> {
    const ownContext = !options.context;
    const context = options.context ?? new AudioContext({ sampleRate: options.sampleRate ?? 48000 });
    if (context.state === 'suspended') await context.resume();
    const processing = options.voiceProcessing ?? true;
    const ownStream = !options.stream;
    const stream =
      options.stream ??
      (await navigator.mediaDevices.getUserMedia({
        audio: {
          echoCancellation: processing,
          noiseSuppression: processing,
          autoGainControl: processing,
          channelCount: 1,
          ...options.constraints,
        },
      }));
    await loadWorklet(context, 'dwg-capture', CAPTURE_WORKLET);
    const frameSamples = Math.round((context.sampleRate * (options.frameMs ?? 20)) / 1000);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'dwg-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { frameSamples },
    });
    const sink = context.createGain();
    sink.gain.value = 0; // keeps the node pulled by the graph without playing the microphone back
    source.connect(node).connect(sink).connect(context.destination);
    return new MicrophoneCapture(context, stream, source, node, sink, ownContext, ownStream);
  }

  /** Send every frame to `client` (its join's `audio_out.sample_rate` must be {@link sampleRate}). */
  pipeTo(client: GatewayClient): () => void {
    this.onFrame = (pcm) => {
      client.sendAudio(pcm, { chunkMs: 1000 });
    };
    return () => {
      this.onFrame = null;
    };
  }

  /** Stop capturing; releases the microphone and the context if this capture made them. */
  async stop(): Promise<void> {
    this.onFrame = null;
    this.node.port.onmessage = null;
    this.source.disconnect();
    this.node.disconnect();
    this.sink.disconnect();
    if (this.ownStream) for (const track of this.stream.getTracks()) track.stop();
    if (this.ownContext) await this.context.close();
  }
}

export interface PlayerOptions {
  /** Use this context; default: a new one at `sampleRate`. */
  context?: AudioContext;
  /** Rate of a new context. Default 48000 (ask the gateway for this rate: no resampling here). */
  sampleRate?: number;
  /** Audio buffered per track before it starts playing (jitter buffer). Default 60 ms. */
  startMs?: number;
  /** Most audio buffered per track; older audio is dropped past it. Default 1000 ms. */
  maxBufferMs?: number;
}

export interface PlayerStats {
  /** Samples played (summed over tracks). */
  samplesPlayed: number;
  /** Times a track ran dry and re-buffered. */
  underruns: number;
  /** Samples dropped because a track's buffer was full. */
  samplesDropped: number;
  /** Samples queued per track key. */
  queued: Record<string, number>;
}

/**
 * Plays PCM16 tracks (each participant on its own key), mixed, through an AudioWorklet.
 *
 * ```js
 * const player = await AudioPlayer.start();
 * player.attach(client);       // plays every received track
 * player.volume = 0.8;
 * ```
 */
export class AudioPlayer {
  /** Latest counters from the worklet (updated about every 0.15 s). */
  stats: PlayerStats = { samplesPlayed: 0, underruns: 0, samplesDropped: 0, queued: {} };
  /** Per track key: RMS level of the last chunk pushed (for meters). */
  readonly levels = new Map<string, number>();

  private constructor(
    readonly context: AudioContext,
    private readonly node: AudioWorkletNode,
    private readonly gain: GainNode,
    private readonly ownContext: boolean,
  ) {
    node.port.onmessage = (event: MessageEvent<{ played: number; underruns: number; dropped: number; queued: Record<string, number> }>) => {
      const { played, underruns, dropped, queued } = event.data;
      this.stats = { samplesPlayed: played, underruns, samplesDropped: dropped, queued };
    };
  }

  static async start(options: PlayerOptions = {}): Promise<AudioPlayer> {
    const ownContext = !options.context;
    const context = options.context ?? new AudioContext({ sampleRate: options.sampleRate ?? 48000 });
    if (context.state === 'suspended') await context.resume();
    await loadWorklet(context, 'dwg-player', PLAYER_WORKLET);
    const rate = context.sampleRate;
    const node = new AudioWorkletNode(context, 'dwg-player', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      processorOptions: {
        startSamples: Math.round((rate * (options.startMs ?? 60)) / 1000),
        maxBufferSamples: Math.round((rate * (options.maxBufferMs ?? 1000)) / 1000),
      },
    });
    const gain = context.createGain();
    node.connect(gain).connect(context.destination);
    return new AudioPlayer(context, node, gain, ownContext);
  }

  /** Output volume, 0..1 (or more, to amplify). */
  get volume(): number {
    return this.gain.gain.value;
  }
  set volume(value: number) {
    this.gain.gain.value = value;
  }

  /** Queue PCM16 audio of one track; converted to mono at the context's rate. */
  push(key: string, pcm: Int16Array, sampleRate: number, channels = 1): void {
    let samples = toMono(pcm16ToFloat32(pcm), channels);
    this.levels.set(key, rmsLevel(samples));
    if (sampleRate !== this.context.sampleRate) samples = resampleLinear(samples, sampleRate, this.context.sampleRate);
    this.node.port.postMessage({ key, samples }, [samples.buffer]);
  }

  /** Forget a track (its queued audio is dropped). */
  end(key: string): void {
    this.levels.delete(key);
    this.node.port.postMessage({ key, end: true });
  }

  /** Play every audio track `client` receives; returns a function that stops. */
  attach(client: GatewayClient): () => void {
    const offAudio = client.on('audio', (frame: ReceivedAudio) =>
      this.push(String(frame.track), frame.pcm, frame.sampleRate, frame.channels),
    );
    const offStop = client.on('track-stopped', (track) => this.end(String(track.track)));
    return () => {
      offAudio();
      offStop();
    };
  }

  async close(): Promise<void> {
    this.node.port.onmessage = null;
    this.node.disconnect();
    this.gain.disconnect();
    if (this.ownContext) await this.context.close();
  }
}
