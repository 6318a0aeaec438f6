"""Audio levels of PCM16 audio: RMS, dBFS, and a meter for dashboards.

Levels are linear RMS relative to full scale (32768), so a full-scale square wave reads 1.0
and a full-scale sine about 0.707 (-3 dBFS).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

with warnings.catch_warnings():
    # audioop is deprecated (removed in 3.13, where the audioop-lts package provides it): its
    # rms is C over the buffer, ~0.2 us for a 20 ms frame against ~1.5 us for numpy's calls.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop
    except ImportError:  # pragma: no cover - Python >= 3.13 without audioop-lts
        audioop = None  # type: ignore[assignment]

__all__ = ["SILENCE_DBFS", "LevelMeter", "level_dbfs", "rms_level"]

SILENCE_DBFS = -100.0
"""What :func:`level_dbfs` returns for digital silence, instead of minus infinity."""

_FULL_SCALE = 32768.0
_EXACT_BELOW = 1000
"""RMS (in LSBs) under which a frame is measured with numpy: audioop's whole-LSB result is 0.1 % off here."""

_last: tuple[bytes, float] = (b"", 0.0)
"""The last ``bytes`` measured and its level (one tuple, so a reader on another thread sees a matching pair)."""


def rms_level(pcm: bytes | bytearray | memoryview) -> float:
    """RMS level of PCM16 samples (any channel count), from 0.0 (silence) to 1.0 (full scale).

    A frame is often measured several times on its way (the room's active speaker, each
    receiver's level meter, VAD's ``min_level``), and the same ``bytes`` object travels
    through all of them: the last one measured is remembered by identity (``bytes`` cannot
    change), so the later calls cost a comparison.

    Raises:
        ValueError: if ``pcm`` is not a whole number of 16-bit samples.
    """
    global _last
    last = _last
    if pcm is last[0]:
        return last[1]
    coarse = 0  # without audioop: numpy for every frame
    if audioop is not None:
        if len(pcm) % 2:
            raise ValueError(f"PCM16 needs an even number of bytes, got {len(pcm)}")
        # Native byte order: little-endian on every platform the gateway runs on. audioop
        # truncates to whole LSBs, under 0.1 % at or above _EXACT_BELOW; quieter frames are
        # measured exactly below.
        coarse = audioop.rms(pcm, 2)
    if coarse >= _EXACT_BELOW:
        level = min(1.0, coarse / _FULL_SCALE)
    else:
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size == 0:
            return 0.0
        # An exact int64 sum of squares: no int16 overflow; dot is ~1.5x quicker than einsum.
        energy = int(np.dot(samples.astype(np.int64), samples))
        level = min(1.0, math.sqrt(energy / samples.size) / _FULL_SCALE)
    if type(pcm) is bytes:
        _last = (pcm, level)
    return level


def level_dbfs(pcm: bytes | bytearray | memoryview) -> float:
    """RMS level in dBFS (0 = full scale), clamped to :data:`SILENCE_DBFS` for silence."""
    level = rms_level(pcm)
    if level <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(level))


class LevelMeter:
    """A track's level for a meter: rises instantly to a louder chunk, then decays smoothly.

    Time is audio time (the duration of the samples pushed), not wall-clock time, so the meter
    is deterministic and can be read at any rate: a dashboard polls :attr:`value` every 50 or
    100 ms while the media path pushes every frame. A track that stops sending audio keeps its
    last value; push silence (or call :meth:`reset`) when it is muted.

    Args:
        sample_rate: Sample rate of the pushed audio, in Hz.
        channels: Interleaved channels in the pushed audio.
        half_life_s: Seconds for the value to fall by half once the audio goes quiet.
            The default 0.25 s falls from full scale to -40 dB in about 1.7 s, like a peak
            programme meter.

    Raises:
        ValueError: if an argument is not positive.
    """

    def __init__(self, sample_rate: int, channels: int = 1, *, half_life_s: float = 0.25) -> None:
        if sample_rate <= 0 or channels <= 0:
            raise ValueError(f"sample_rate and channels must be positive, got {sample_rate}, {channels}")
        if not half_life_s > 0:
            raise ValueError(f"half_life_s must be positive, got {half_life_s}")
        self.sample_rate = sample_rate
        """Sample rate of the pushed audio, in Hz."""
        self.channels = channels
        """Interleaved channels in the pushed audio."""
        self.half_life_s = half_life_s
        """Seconds for the value to fall by half in silence."""
        # ln(2) / (half life in bytes): decay factor per pushed byte, as an exponent.
        self._decay_per_byte = math.log(2.0) / (half_life_s * sample_rate * channels * 2)
        self._value = 0.0

    def push(self, pcm: bytes) -> float:
        """Account for a chunk of audio and return the new :attr:`value`.

        The held value first decays over the chunk's duration, then rises to the chunk's RMS
        level if that is louder: a loud chunk shows at once, a quiet one lets the meter fall.
        """
        if pcm:
            self._value *= math.exp(-self._decay_per_byte * len(pcm))
            self._value = max(self._value, rms_level(pcm))
        return self._value

    @property
    def value(self) -> float:
        """Current level, 0.0 to 1.0 (linear RMS, relative to full scale)."""
        return self._value

    @property
    def dbfs(self) -> float:
        """Current level in dBFS, clamped to :data:`SILENCE_DBFS`."""
        if self._value <= 0.0:
            return SILENCE_DBFS
        return max(SILENCE_DBFS, 20.0 * math.log10(self._value))

    def reset(self) -> None:
        """Drop to silence at once (the track was muted, left, or restarted)."""
        self._value = 0.0
