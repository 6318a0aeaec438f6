"""Fixtures for the media unit tests: the demo speech WAV and synthetic signals.

Helpers are handed out as factory fixtures rather than imported, so that test modules do not
depend on how pytest names conftest modules.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

DEMO_WAV = Path(__file__).resolve().parents[2] / "gateway" / "assets" / "demo_speech.wav"

# Where the demo WAV speaks, in seconds (see gateway/assets/README.md).
DEMO_SPEECH_SEGMENTS = ((0.30, 2.20), (3.19, 4.87), (5.86, 7.47))


@dataclass(frozen=True)
class Audio:
    """PCM16 audio with its format."""

    pcm: bytes
    rate: int
    channels: int = 1

    @property
    def samples(self) -> np.ndarray:
        """The samples as int16, shaped (frames,) for mono or (frames, channels)."""
        data = np.frombuffer(self.pcm, dtype=np.int16)
        return data if self.channels == 1 else data.reshape(-1, self.channels)


@pytest.fixture(scope="session")
def demo_segments() -> tuple[tuple[float, float], ...]:
    """Where the demo WAV speaks: (start, end) in seconds."""
    return DEMO_SPEECH_SEGMENTS


@pytest.fixture(scope="session")
def demo() -> Audio:
    """The committed demo WAV: 16 kHz mono PCM16 speech."""
    with wave.open(str(DEMO_WAV), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        return Audio(wav.readframes(wav.getnframes()), wav.getframerate())


def _sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    """A sine as int16 samples; ``amplitude`` is relative to full scale."""
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _white_noise(rms: float, rate: int, seconds: float, seed: int = 0) -> bytes:
    """Gaussian white noise as PCM16 with the given RMS level (relative to full scale)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(rate * seconds)) * rms * 32768
    return noise.clip(-32768, 32767).astype(np.int16).tobytes()


def _irregular_chunks(data: bytes, seed: int = 0, largest: int = 2000) -> list[bytes]:
    """Split ``data`` at random places, odd sizes and splits inside samples included."""
    rng = np.random.default_rng(seed)
    chunks, pos = [], 0
    while pos < len(data):
        size = int(rng.integers(0, largest))
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def _peak_frequency(samples: np.ndarray, rate: int) -> float:
    """Frequency (Hz) of the strongest FFT bin of a windowed signal."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


@pytest.fixture
def sine() -> Callable[..., np.ndarray]:
    """``sine(freq, rate, seconds, amplitude=0.5)`` -> int16 samples."""
    return _sine


@pytest.fixture
def white_noise() -> Callable[..., bytes]:
    """``white_noise(rms, rate, seconds, seed=0)`` -> PCM16 bytes."""
    return _white_noise


@pytest.fixture
def irregular_chunks() -> Callable[..., list[bytes]]:
    """``irregular_chunks(data, seed=0, largest=2000)`` -> random-sized pieces of ``data``."""
    return _irregular_chunks


@pytest.fixture
def peak_frequency() -> Callable[[np.ndarray, int], float]:
    """``peak_frequency(samples, rate)`` -> Hz of the strongest FFT bin."""
    return _peak_frequency
