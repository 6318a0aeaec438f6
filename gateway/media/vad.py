"""Voice activity (speech started / stopped) for one participant's audio track.

webrtcvad classifies each 10 ms frame as voiced or not; single frames flicker, so a hysteresis
on top turns them into the two events the protocol reports.

Hysteresis rule (counted in 10 ms frames, over a sliding window that restarts at each
transition so that each decision looks only at audio after the previous one):

* **start**: voiced frames reach ``start_ms`` within the last ``start_ms / 0.8`` of audio.
  Steady speech starts after exactly ``start_ms``; speech with up to 20 % short pauses (stops,
  breaths) still starts, within ``start_ms / 0.8``.
* **stop**: unvoiced frames reach ``stop_ms`` within the last ``stop_ms / 0.9`` of audio.
  True silence stops after exactly ``stop_ms``; up to 10 % stray voiced frames (a click, a
  cough) do not hold the speaker "on".

The ratios follow the ring-buffer collector in webrtcvad's example (90 % to switch), loosened
to 80 % for start because a start that lags the words is worse than an early one. webrtcvad's
own hangover (a few frames voiced after speech ends) adds to the stop delay.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import webrtcvad

from gateway.media.framing import Framer, frame_bytes
from gateway.media.level import rms_level
from gateway.media.resample import SUPPORTED_RATES, Resampler, convert_channels

__all__ = ["FRAME_MS", "VadParams", "VadTransition", "VoiceActivityDetector"]

FRAME_MS = 10
"""Duration of the frames webrtcvad classifies (it accepts 10, 20 or 30 ms)."""

_NATIVE_RATES = frozenset((8000, 16000, 32000, 48000))
_FALLBACK_RATE = 16000
_START_RATIO = Fraction(8, 10)
_STOP_RATIO = Fraction(9, 10)


@dataclass(frozen=True)
class VadParams:
    """Tuning for :class:`VoiceActivityDetector`; see the module docstring for the rule.

    Raises:
        ValueError: if a field is out of range.
    """

    aggressiveness: int = 2
    """webrtcvad mode, 0 (lets most through as speech) to 3 (most aggressive at rejecting)."""
    start_ms: int = 200
    """Voiced audio needed, allowing short pauses, before speech counts as started (10-5000)."""
    stop_ms: int = 800
    """Unvoiced audio needed, allowing stray blips, before speech counts as stopped (10-10000)."""
    min_level: float = 0.0
    """Frames with an RMS level (0-1, as in :mod:`gateway.media.level`) below this are silence."""

    def __post_init__(self) -> None:
        if isinstance(self.aggressiveness, bool) or self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0, 1, 2 or 3, got {self.aggressiveness!r}")
        if not 10 <= self.start_ms <= 5000:
            raise ValueError(f"start_ms must be from 10 to 5000, got {self.start_ms!r}")
        if not 10 <= self.stop_ms <= 10000:
            raise ValueError(f"stop_ms must be from 10 to 10000, got {self.stop_ms!r}")
        if not 0.0 <= self.min_level <= 1.0:
            raise ValueError(f"min_level must be from 0.0 to 1.0, got {self.min_level!r}")


@dataclass(frozen=True)
class VadTransition:
    """Speech started or stopped on a track."""

    speaking: bool
    """True when speech started, False when it stopped."""
    offset_ms: int
    """Stream position (ms of audio since the detector started or was reset) of the decision.

    The decision comes after the evidence: speech began about ``start_ms`` earlier, and ended
    about ``stop_ms`` (plus webrtcvad's hangover) earlier.
    """


class VoiceActivityDetector:
    """Detects speech start and stop on one track of PCM16 audio.

    Audio of any chunk size is downmixed to mono, resampled to 16 kHz if webrtcvad cannot take
    its rate (it takes 8, 16, 32 and 48 kHz), and classified in 10 ms frames.

    Args:
        sample_rate: Input sample rate in Hz, in :data:`~gateway.media.resample.SUPPORTED_RATES`.
        channels: Interleaved input channels.
        params: Hysteresis and sensitivity.

    Raises:
        ValueError: if the sample rate or channel count is unsupported.
    """

    def __init__(self, sample_rate: int, channels: int = 1, params: VadParams = VadParams()) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(
                f"sample_rate must be an integer from {SUPPORTED_RATES.start} to "
                f"{SUPPORTED_RATES.stop - 1} Hz, got {sample_rate!r}"
            )
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.sample_rate = sample_rate
        """Input sample rate, in Hz."""
        self.channels = channels
        """Interleaved input channels."""
        self.params = params
        """Tuning in use."""
        self._vad_rate = sample_rate if sample_rate in _NATIVE_RATES else _FALLBACK_RATE
        self._resampler = (
            Resampler(sample_rate, self._vad_rate) if self._vad_rate != sample_rate else None
        )
        self._input_frame = 2 * channels
        self._carry = b""
        self._framer = Framer(frame_bytes(self._vad_rate, 1, FRAME_MS))
        # Counts in frames; the windows stretch by the ratios so steady input decides exactly
        # after start_ms / stop_ms.
        self._start_frames = math.ceil(params.start_ms / FRAME_MS)
        self._start_window = math.ceil(self._start_frames / _START_RATIO)
        self._stop_frames = math.ceil(params.stop_ms / FRAME_MS)
        self._stop_window = math.ceil(self._stop_frames / _STOP_RATIO)
        self._vad = webrtcvad.Vad(params.aggressiveness)
        self._frames_seen = 0
        self._speaking = False
        # Per frame of the window: True if it counts towards the next transition (voiced while
        # silent, unvoiced while speaking); _hits is how many do.
        self._window: deque[bool] = deque(maxlen=self._start_window)
        self._hits = 0

    @property
    def speaking(self) -> bool:
        """Whether the track is currently considered to be speaking."""
        return self._speaking

    def process(self, pcm: bytes) -> list[VadTransition]:
        """Feed a chunk of audio; return the transitions it caused, in order (usually none)."""
        if self.channels > 1:
            if self._carry:
                pcm = self._carry + pcm
            usable = len(pcm) - len(pcm) % self._input_frame
            self._carry = bytes(pcm[usable:])
            pcm = convert_channels(pcm[:usable], self.channels, 1)
        if self._resampler is not None:
            pcm = self._resampler.process(pcm)
        transitions: list[VadTransition] = []
        for frame in self._framer.push(pcm):
            self._frames_seen += 1
            hit = self._is_voiced(frame) != self._speaking
            if len(self._window) == self._window.maxlen:
                self._hits -= self._window[0]
            self._window.append(hit)
            self._hits += hit
            if self._hits >= (self._stop_frames if self._speaking else self._start_frames):
                self._enter(not self._speaking)
                transitions.append(VadTransition(self._speaking, self._frames_seen * FRAME_MS))
        return transitions

    def reset(self) -> None:
        """Start over as a new stream: not speaking, offsets from 0, no held audio."""
        self._carry = b""
        if self._resampler is not None:
            self._resampler.reset()
        self._framer.reset()
        self._vad = webrtcvad.Vad(self.params.aggressiveness)
        self._frames_seen = 0
        self._enter(speaking=False)

    def _is_voiced(self, frame: bytes) -> bool:
        # webrtcvad sees every frame, even ones min_level rejects, so its noise model keeps up.
        voiced = self._vad.is_speech(frame, self._vad_rate)
        if voiced and self.params.min_level > 0.0:
            voiced = rms_level(frame) >= self.params.min_level
        return voiced

    def _enter(self, speaking: bool) -> None:
        # A fresh window: the next decision weighs only audio after this transition.
        self._speaking = speaking
        self._window = deque(maxlen=self._stop_window if speaking else self._start_window)
        self._hits = 0
