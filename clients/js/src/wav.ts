/**
 * PCM16 WAV files as bytes, in browsers and Node alike (the Node entry adds `readWavFile` /
 * `writeWavFile`). Only what the gateway speaks: 16-bit PCM, any rate, mono or stereo.
 */

/** PCM16 samples (interleaved), their rate and channel count. */
export interface WavAudio {
  samples: Int16Array;
  sampleRate: number;
  channels: number;
}

const ascii = (bytes: Uint8Array, offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));

/**
 * Read a PCM16 WAV file's bytes.
 *
 * @throws Error what is wrong: not RIFF/WAVE, not 16-bit PCM, no `fmt ` or `data` chunk.
 */
export function decodeWav(data: ArrayBuffer | ArrayBufferView): WavAudio {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') throw new Error('not a WAV file (no RIFF/WAVE header)');
  let format: { channels: number; sampleRate: number; bits: number; tag: number } | null = null;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = ascii(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = {
        tag: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before its fmt chunk');
      // 1: PCM; 0xFFFE: WAVE_FORMAT_EXTENSIBLE (PCM16 in practice at 16 bits).
      if ((format.tag !== 1 && format.tag !== 0xfffe) || format.bits !== 16) {
        throw new Error(`only 16-bit PCM WAV files (this one: format ${format.tag}, ${format.bits} bits)`);
      }
      const length = Math.min(size, bytes.length - body) >> 1;
      const samples = new Int16Array(length);
      for (let i = 0; i < length; i++) samples[i] = view.getInt16(body + 2 * i, true);
      return { samples, sampleRate: format.sampleRate, channels: format.channels };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file without a data chunk');
}

/** A PCM16 WAV file of `samples` (interleaved when stereo). */
export function encodeWav(samples: Int16Array, format: { sampleRate: number; channels?: number }): Uint8Array {
  const channels = format.channels ?? 1;
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const write = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  write(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  write(8, 'WAVE');
  write(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, format.sampleRate, true);
  view.setUint32(28, format.sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  write(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i]!, true);
  return bytes;
}
