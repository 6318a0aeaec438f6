"""Audio helpers for tests: the demo speech, tones, and content comparison after resampling."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import soxr

DEMO_WAV = Path(__file__).resolve().parent.parent / "gateway" / "assets" / "demo_speech.wav"


def demo_speech(sample_rate: int = 16000, seconds: float | None = None) -> bytes:
    """The bundled speech sample as mono PCM16 at ``sample_rate``, optionally cut to ``seconds``."""
    with wave.open(str(DEMO_WAV), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if seconds is not None:
        samples = samples[: int(rate * seconds)]
    if rate != sample_rate:
        samples = soxr.resample(samples, rate, sample_rate)
    return samples.astype(np.int16).tobytes()


def silence(sample_rate: int, seconds: float, channels: int = 1) -> bytes:
    return bytes(2 * channels * int(sample_rate * seconds))


def tone(sample_rate: int, seconds: float, freq: float = 440.0, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype(np.int16).tobytes()


def best_correlation(sent: bytes, sent_rate: int, received: bytes, received_rate: int) -> tuple[float, int]:
    """Normalised cross-correlation peak of ``sent`` (resampled to the receiver's rate) within ``received``.

    Returns (peak in -1..1, lag in samples). Speech that survived the trip scores > 0.9;
    unrelated audio or silence scores near 0.
    """
    a = np.frombuffer(sent, dtype=np.int16).astype(np.float64)
    if sent_rate != received_rate:
        a = soxr.resample(a, sent_rate, received_rate)
    b = np.frombuffer(received, dtype=np.int16).astype(np.float64)
    if not len(a) or not len(b):
        return 0.0, 0
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lag = int(np.argmax(corr[: len(b)]))
    window = b[lag : lag + len(a)]
    ref = a[: len(window)]
    denom = np.linalg.norm(ref) * np.linalg.norm(window)
    return (float(np.dot(ref, window) / denom) if denom else 0.0), lag


async def collect_frames(client, count: int, timeout: float = 15.0) -> list:
    """The next ``count`` received audio frames, or fail after ``timeout`` seconds."""
    import asyncio

    frames: list = []

    async def run() -> None:
        async for frame in client.audio():
            frames.append(frame)
            if len(frames) >= count:
                return

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"only {len(frames)} of {count} audio frames arrived in {timeout} s") from None
    return frames
