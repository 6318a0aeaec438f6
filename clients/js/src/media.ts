/**
 * Media helpers of the client: publishing PCM16 in the negotiated format (cut into frames),
 * received frames with their participant, per-participant / per-track audio streams, and
 * recording a stretch of received audio.
 */

import { type AudioFrame, encodeAudioFrame, encodeVideoFrame, type MediaFrame, pcm16Samples, type VideoFrame } from './codec.js';
import { ColorFormat, OutboundTrack } from './constants.js';
import { AsyncQueue } from './queue.js';
import type { TrackInfo } from './types.js';

/** One audio frame of a participant's track. */
export interface ReceivedAudio {
  participantId: string;
  source: string;
  track: number;
  seq: number;
  timestampUs: number;
  sampleRate: number;
  channels: number;
  /** PCM16 samples, interleaved (a view into the received message). */
  pcm: Int16Array;
  /** `performance.now()` (or Date.now()) when it arrived. */
  receivedAt: number;
}

/** One video frame of a participant's track. */
export interface ReceivedVideo extends Omit<VideoFrame, 'kind'> {
  participantId: string;
  source: string;
  receivedAt: number;
}

const now = () => globalThis.performance?.now() ?? Date.now();

/** A received frame with the participant and source of its track. */
export function receivedFrame(frame: MediaFrame, tracks: ReadonlyMap<number, TrackInfo>): ReceivedAudio | ReceivedVideo {
  const info = tracks.get(frame.track);
  const receivedAt = now();
  if (frame.kind === 'audio') {
    return {
      participantId: info?.participant_id ?? '',
      source: info?.source ?? '',
      track: frame.track,
      seq: frame.seq,
      timestampUs: frame.timestampUs,
      sampleRate: frame.sampleRate,
      channels: frame.channels,
      pcm: pcm16Samples(frame as AudioFrame),
      receivedAt,
    };
  }
  const { kind: _kind, ...rest } = frame;
  return { ...rest, participantId: info?.participant_id ?? '', source: info?.source ?? '', receivedAt };
}

/** Options of `GatewayClient.sendAudio()`. */
export interface SendAudioOptions {
  /** Longest frame in ms (default 100). */
  chunkMs?: number;
  timestampUs?: number;
}

/** Options of `GatewayClient.sendVideo()`. */
export interface SendVideoOptions {
  width: number;
  height: number;
  colorFormat?: keyof typeof ColorFormat;
  source?: 'camera' | 'screenVideo';
  timestampUs?: number;
}

/** Encodes published media into binary frames with their own sequence numbers. */
export class MediaSender {
  private audioSeq = 0;
  private videoSeq = 0;

  /** PCM16 cut into frames of at most `chunkMs` in `format`. */
  audio(pcm: Int16Array, format: { sampleRate: number; channels: number }, options: SendAudioOptions = {}): Uint8Array[] {
    const { sampleRate, channels } = format;
    const step = Math.max(channels, Math.floor((sampleRate * channels * (options.chunkMs ?? 100)) / 1000));
    const frames: Uint8Array[] = [];
    for (let offset = 0; offset < pcm.length; offset += step) {
      this.audioSeq = (this.audioSeq + 1) >>> 0;
      frames.push(encodeAudioFrame({
        track: OutboundTrack.MICROPHONE,
        seq: this.audioSeq,
        timestampUs: options.timestampUs,
        sampleRate,
        channels,
        payload: pcm.subarray(offset, Math.min(pcm.length, offset + step)),
      }));
    }
    return frames;
  }

  /** How many frames `audio()` makes of `samples` samples (to count drops). */
  audioFrameCount(samples: number, format: { sampleRate: number; channels: number }, chunkMs = 100): number {
    const step = Math.max(format.channels, Math.floor((format.sampleRate * format.channels * chunkMs) / 1000));
    return Math.ceil(samples / step);
  }

  /** One raw video frame as `camera` (track 2) or `screenVideo` (track 3). */
  video(pixels: Uint8Array, options: SendVideoOptions): Uint8Array {
    this.videoSeq = (this.videoSeq + 1) >>> 0;
    return encodeVideoFrame({
      track: options.source === 'screenVideo' ? OutboundTrack.SCREEN_VIDEO : OutboundTrack.CAMERA,
      seq: this.videoSeq,
      timestampUs: options.timestampUs,
      width: options.width,
      height: options.height,
      colorFormat: ColorFormat[options.colorFormat ?? 'RGB'],
      payload: pixels,
    });
  }
}

/** Which received audio an {@link AudioStream} carries (all given must match). */
export interface AudioStreamOptions {
  /** Only this participant's audio. */
  participantId?: string;
  /** Only this track (a `track-started` track id). */
  track?: number;
  /** Only this source (`microphone`, `screenAudio`). */
  source?: string;
  /** Frames kept for a slow reader before the oldest are dropped (default: the client's `maxBufferedFrames`). */
  bufferFrames?: number;
  /** End the stream when this signal aborts. */
  signal?: AbortSignal;
}

/**
 * Received audio frames of one participant or track, as an async iterator (LiveKit's
 * `AudioStream`): `for await (const frame of client.audioStream({participantId}))`. Bounded:
 * a reader more than `bufferFrames` behind loses the oldest (counted in `dropped`). It ends
 * when the client disconnects for good, on `close()`, or when the reader stops.
 */
export class AudioStream implements AsyncIterableIterator<ReceivedAudio> {
  private readonly queue: AsyncQueue<ReceivedAudio>;

  /** `subscribe` starts delivering frames to the stream and returns how to stop. */
  constructor(
    private readonly options: AudioStreamOptions & { bufferFrames: number },
    subscribe: (sink: (frame: ReceivedAudio | null) => void) => () => void,
  ) {
    let unsubscribe = () => {};
    const onAbort = () => this.close();
    this.queue = new AsyncQueue<ReceivedAudio>(options.bufferFrames, () => {
      unsubscribe();
      options.signal?.removeEventListener('abort', onAbort);
    });
    unsubscribe = subscribe((frame) => {
      if (frame === null) this.queue.end();
      else if (this.matches(frame)) this.queue.push(frame);
    });
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  }

  /** Frames dropped because the reader fell behind. */
  get dropped(): number {
    return this.queue.dropped;
  }

  /** Stop receiving; a reader gets the frames already queued, then the end. */
  close(): void {
    this.queue.end();
  }

  next(): Promise<IteratorResult<ReceivedAudio>> {
    return this.queue.next();
  }

  return(): Promise<IteratorResult<ReceivedAudio>> {
    return this.queue.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedAudio> {
    return this;
  }

  private matches(frame: ReceivedAudio): boolean {
    const { participantId, track, source } = this.options;
    return (participantId === undefined || frame.participantId === participantId)
      && (track === undefined || frame.track === track)
      && (source === undefined || frame.source === source);
  }
}
