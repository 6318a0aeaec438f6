// The page's own audio: a microphone and a player on one AudioContext (the SDK's AudioWorklet
// capture and player), used by "Join with microphone" and by the phone; levels on meters.

import { AudioPlayer, MicrophoneCapture } from '/sdk/index.js';

/** RMS (0..1) to a meter position: -60 dBFS .. 0 dBFS. */
export function meterPosition(rms) {
  const db = 20 * Math.log10(Math.max(rms, 1e-6));
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

/** RMS (0..1) as the cards print it. */
export function dbfsText(rms) {
  return rms > 1e-5 ? `${(20 * Math.log10(rms)).toFixed(0)} dBFS` : '-∞ dB';
}

/**
 * Starts the microphone and the player; call it in a click (browsers start audio only after a
 * gesture). Returns {context, mic, player}; stop them with stopAudio().
 */
export async function startAudio({ sampleRate, voiceProcessing, volume }) {
  const context = new AudioContext({ sampleRate });
  try {
    const mic = await MicrophoneCapture.start({ context, voiceProcessing });
    const player = await AudioPlayer.start({ context });
    player.volume = volume;
    return { context, mic, player };
  } catch (err) {
    await context.close().catch(() => {});
    throw err;
  }
}

/** Stops what startAudio() started (any part may be missing). */
export async function stopAudio(audio) {
  if (!audio) return;
  await audio.mic?.stop().catch(() => {});
  await audio.player?.close().catch(() => {});
  await audio.context?.close().catch(() => {});
}

/** A small meter showing a microphone's peak with a slow fall, so short words stay visible. */
export class PeakMeter {
  constructor(fill) {
    this.fill = fill;
    this.shown = 0;
  }

  /** Called every frame with the microphone's current level (RMS 0..1). */
  update(level) {
    this.shown = Math.max(meterPosition(level), this.shown * 0.95);
    this.fill.style.width = `${(this.shown * 100).toFixed(1)}%`;
  }

  reset() {
    this.shown = 0;
    this.fill.style.width = '0%';
  }
}
