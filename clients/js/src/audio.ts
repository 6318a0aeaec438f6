/**
 * PCM helpers that run anywhere (browser, Node, worklets): PCM16 <-> Float32,
 * channel mixing, linear resampling, RMS level. The browser-only microphone and
 * player are in `browser-audio.ts`.
 */

/** PCM16 samples to floats in -1..1 (`out` may be passed to avoid an allocation). */
export function pcm16ToFloat32(pcm: Int16Array, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) result[i] = pcm[i] / 32768;
  return result;
}

/**
 * Floats (clamped to -1..1) to PCM16: x 32768, rounded, clamped to 32767, so that
 * PCM16 -> Float32 -> PCM16 is lossless; -1 maps to -32768, 1 to 32767.
 */
export function float32ToPcm16(samples: Float32Array, out?: Int16Array): Int16Array {
  const result = out ?? new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const clamped = s > 1 ? 1 : s < -1 ? -1 : Number.isNaN(s) ? 0 : s;
    result[i] = Math.max(-32768, Math.min(32767, Math.round(clamped * 32768)));
  }
  return result;
}

/** Interleaved stereo to mono (average of the two channels); mono is returned as is. */
export function toMono(samples: Float32Array, channels: number): Float32Array {
  if (channels === 1) return samples;
  const out = new Float32Array(Math.floor(samples.length / channels));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[i * channels + c];
    out[i] = sum / channels;
  }
  return out;
}

/**
 * Resample mono floats by linear interpolation. Good enough for monitoring speech in
 * a browser; the gateway resamples with soxr, so prefer asking it for the rate you need.
 */
export function resampleLinear(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const length = Math.max(1, Math.round((samples.length * toRate) / fromRate));
  const out = new Float32Array(length);
  const step = fromRate / toRate;
  for (let i = 0; i < length; i++) {
    const pos = i * step;
    const i0 = Math.floor(pos);
    const i1 = Math.min(i0 + 1, samples.length - 1);
    const frac = pos - i0;
    out[i] = samples[Math.min(i0, samples.length - 1)] * (1 - frac) + samples[i1] * frac;
  }
  return out;
}

/** RMS level of PCM16 or float samples, 0..1. */
export function rmsLevel(samples: Int16Array | Float32Array): number {
  if (!samples.length) return 0;
  const scale = samples instanceof Int16Array ? 1 / 32768 : 1;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] * scale;
    sum += v * v;
  }
  return Math.sqrt(sum / samples.length);
}

/** Concatenate PCM16 chunks. */
export function concatPcm16(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
