"""Sample-rate and channel conversion of PCM16 audio.

Each client asks for audio at its own rate; rooms deliver whatever their participants send.
Two streaming resamplers keep their filter state between chunks (chunk edges leave no clicks):

- :class:`PolyphaseResampler`, for live audio (:func:`live_resampler`): a windowed-sinc
  polyphase FIR that gives out every sample it can compute as soon as the input allows, so a
  20 ms chunk in is 20 ms out with a constant group delay of a few milliseconds
  (:attr:`~PolyphaseResampler.delay_ms`: 5.5 ms when either side is 8 kHz, 2.75 ms at 16 kHz).
- :class:`Resampler`, soxr (HQ), for recordings and analysis, where delay does not matter.
  Fed 20 ms chunks, soxr holds 40-160 ms and releases it in bursts (it filters in blocks):
  ``bench/latency.py`` measured both (``bench/README.md``, "Latency budget").

:func:`convert_channels` does mono/stereo.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import soxr

__all__ = [
    "LIVE_ATTENUATION_DB",
    "LIVE_MAX_PHASES",
    "LIVE_PASSBAND",
    "QUALITIES",
    "SUPPORTED_RATES",
    "PolyphaseResampler",
    "Resampler",
    "StreamResampler",
    "convert_channels",
    "live_resampler",
]

SUPPORTED_RATES = range(8000, 48001)
"""Sample rates accepted on either side of a :class:`Resampler`, in Hz (any integer)."""

QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")
"""soxr quality recipes, quickest first. "HQ" is transparent for speech at modest CPU cost."""

LIVE_PASSBAND = 0.9
"""Live tracks keep this fraction of the lower rate's Nyquist flat (3.6 kHz at 8 kHz, 7.2 kHz at
16 kHz); the filter is -6 dB half-way to Nyquist and fully attenuated from Nyquist on."""
LIVE_ATTENUATION_DB = 70.0
"""Stop-band attenuation of the live filter: what would alias is at least this far down."""
LIVE_MAX_PHASES = 8
"""Rate pairs whose ratio reduces to at most this many output samples per input block (every
pair of 8, 12, 16, 24, 32 and 48 kHz; 11.025, 22.05 and 44.1 kHz among themselves) get the
polyphase filter; others (44.1 <-> 48 kHz: 147 / 160) fall back to soxr and its delay."""


class StreamResampler(Protocol):
    """What a track needs of a streaming resampler (:class:`PolyphaseResampler`, :class:`Resampler`)."""

    in_rate: int
    out_rate: int
    channels: int

    def process(self, pcm: bytes) -> bytes: ...

    def flush(self) -> bytes: ...

    def reset(self) -> None: ...

    def describe(self) -> str: ...


def live_resampler(in_rate: int, out_rate: int, channels: int = 1) -> StreamResampler:
    """The resampler for live audio (tracks, VAD): :class:`PolyphaseResampler` where the ratio allows
    (:data:`LIVE_MAX_PHASES`), else soxr HQ; at equal rates a pass-through :class:`Resampler`.

    Raises:
        ValueError: as the resamplers do (unsupported rate, channels below 1).
    """
    if in_rate != out_rate and in_rate in SUPPORTED_RATES and out_rate in SUPPORTED_RATES:
        if out_rate // math.gcd(in_rate, out_rate) <= LIVE_MAX_PHASES:
            return PolyphaseResampler(in_rate, out_rate, channels)
    return Resampler(in_rate, out_rate, channels)


class PolyphaseResampler:
    """Streaming low-delay resampler: PCM16 in at ``in_rate``, PCM16 out at ``out_rate``.

    The ratio reduces to ``out / in = L / M``: every whole block of ``M`` input samples gives
    ``L`` output samples at once, each a dot product of the input history with one phase of a
    Kaiser-windowed sinc (``passband`` of the lower Nyquist flat, ``attenuation_db`` from
    Nyquist on). Nothing is held back beyond an incomplete block, so output follows input
    sample for sample: a chunk of ``n`` samples gives ``n * L / M`` (20 ms in, 20 ms out).

    The filter is linear phase and its delay is not removed: the output is the input delayed
    by :attr:`delay_samples` output samples (:attr:`delay_ms`), so a stream starts with that
    much silence and the last that much of the input comes out only with more input, or with
    :meth:`flush`. (soxr removes its delay instead, by holding the output back, which costs a
    whole frame or more at the receiver.) Output is rounded to int16, without dither, so the
    same input always gives the same output.

    Args:
        in_rate: Input sample rate in Hz, in :data:`SUPPORTED_RATES`.
        out_rate: Output sample rate in Hz, in :data:`SUPPORTED_RATES`.
        channels: Interleaved channels (same on both sides).
        passband: Fraction of the lower rate's Nyquist kept flat (0.5-0.99).
        attenuation_db: Stop-band attenuation (40-120 dB).

    Raises:
        ValueError: if a rate is unsupported, ``channels`` is not positive, or the filter
            parameters are out of range.
    """

    def __init__(
        self,
        in_rate: int,
        out_rate: int,
        channels: int = 1,
        *,
        passband: float = LIVE_PASSBAND,
        attenuation_db: float = LIVE_ATTENUATION_DB,
    ) -> None:
        _check(in_rate, out_rate, channels)
        if not 0.5 <= passband <= 0.99 or not 40.0 <= attenuation_db <= 120.0:
            raise ValueError(f"passband must be 0.5-0.99 and attenuation_db 40-120, got {passband}, {attenuation_db}")
        self.in_rate = in_rate
        """Input sample rate, in Hz."""
        self.out_rate = out_rate
        """Output sample rate, in Hz."""
        self.channels = channels
        """Interleaved channels, in and out."""
        self.passband = passband
        self.attenuation_db = attenuation_db
        g = math.gcd(in_rate, out_rate)
        self._up, self._down = out_rate // g, in_rate // g
        coefficients, delay, taps = _polyphase(self._up, self._down, in_rate, out_rate, passband, attenuation_db)
        self.delay_samples = delay
        """Group delay, in output samples."""
        self.taps = taps
        """Taps of the prototype filter (at ``L x in_rate``)."""
        self._coefficients = coefficients
        self._frame_size = 2 * channels
        self._rows = coefficients.shape[0]
        """Input samples one output block depends on (whole blocks, oldest first)."""
        self._history_len = self._rows - self._down
        self._carry = b""
        self._fed = 0
        """Input samples (per channel) since the start or the last reset, incomplete block included."""
        self._held = np.zeros((channels, self._history_len), dtype=np.float32)
        """Per channel: the filter's history, then the samples of an incomplete block."""

    @property
    def delay_ms(self) -> float:
        """The group delay: how much later the output says what the input said."""
        return 1000.0 * self.delay_samples / self.out_rate

    def describe(self) -> str:
        return (
            f"polyphase FIR {self._up}/{self._down}, {self.taps} taps, flat to "
            f"{self.passband * min(self.in_rate, self.out_rate) / 2000:.2f} kHz, {self.attenuation_db:.0f} dB, "
            f"delay {self.delay_ms:.2f} ms"
        )

    def process(self, pcm: bytes) -> bytes:
        """Resample a chunk: every output sample its whole blocks complete (incomplete input is held)."""
        if self._carry:
            pcm = self._carry + pcm
        usable = len(pcm) - len(pcm) % self._frame_size
        self._carry = bytes(pcm[usable:])
        if usable == 0:
            return b""
        count = usable // self._frame_size
        self._fed += count
        return self._run(np.frombuffer(pcm, dtype="<i2", count=usable // 2), count)

    def flush(self) -> bytes:
        """Give out the rest of the input (the delayed tail, and any incomplete block), then reset.

        Afterwards the output holds ``in_samples * L / M`` (rounded up) plus :attr:`delay_samples`
        samples since the start: everything the input said. An incomplete sample or frame of
        bytes still held cannot be resampled and is dropped.
        """
        if not self._fed:
            self.reset()
            return b""
        partial = self._held.shape[1] - self._history_len
        target = -(-self._fed * self._up // self._down) + self.delay_samples
        done = (self._fed - partial) // self._down * self._up
        need = target - done
        zeros = -(-need * self._down // self._up) - partial
        zeros += -(partial + zeros) % self._down
        zeros = max(0, zeros)
        out = self._run(np.zeros(zeros * self.channels, dtype=np.int16), zeros)
        self.reset()
        return out[: need * self._frame_size]

    def reset(self) -> None:
        """Forget all state (held samples, filter history) to start a new, unrelated stream."""
        self._carry = b""
        self._fed = 0
        self._held = np.zeros((self.channels, self._history_len), dtype=np.float32)

    def _run(self, samples: np.ndarray, count: int) -> bytes:
        """Filter ``count`` new samples per channel (interleaved int16) after the held ones; returns PCM16."""
        held = self._held
        kept = held.shape[1]
        channels = self.channels
        buffer = np.empty((channels, kept + count), dtype=np.float32)
        buffer[:, :kept] = held
        if channels == 1:
            buffer[0, kept:] = samples
        else:
            buffer[:, kept:] = samples.reshape(count, channels).T
        blocks = (kept + count - self._history_len) // self._down
        used = blocks * self._down
        self._held = buffer[:, used:]
        if blocks == 0:
            return b""
        shape, strides = (blocks, self._rows), (4 * self._down, 4)
        if channels == 1:
            out = self._windows(buffer[0], shape, strides) @ self._coefficients
        else:
            out = np.empty((blocks * self._up, channels), dtype=np.float32)
            for channel in range(channels):
                out[:, channel] = (self._windows(buffer[channel], shape, strides) @ self._coefficients).ravel()
        np.rint(out, out=out)
        np.minimum(out, 32767.0, out=out)  # the ufuncs: np.clip's Python wrapper costs more than the filter's tail
        np.maximum(out, -32768.0, out=out)
        return out.astype("<i2").tobytes()

    @staticmethod
    def _windows(samples: np.ndarray, shape: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
        """Row b: the input samples output block b depends on, oldest first. The rows overlap, so
        they are copied out (BLAS reads no overlapping rows); a strided copy is ten times quicker
        than fancy indexing."""
        return np.ndarray(shape, np.float32, buffer=np.ascontiguousarray(samples), strides=strides).copy()


def _check(in_rate: int, out_rate: int, channels: int) -> None:
    for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
        if rate not in SUPPORTED_RATES:
            raise ValueError(
                f"{name} must be an integer from {SUPPORTED_RATES.start} to "
                f"{SUPPORTED_RATES.stop - 1} Hz, got {rate!r}"
            )
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")


def _polyphase(
    up: int, down: int, in_rate: int, out_rate: int, passband: float, attenuation_db: float
) -> tuple[np.ndarray, int, int]:
    """The block filter: ``(rows x up)`` coefficients, the delay in output samples, the prototype's taps.

    Output ``m = b * up + l`` (block ``b``, phase ``l``) is ``sum_t h[t] * xu[m * down - t]`` where
    ``xu`` is the input stretched by ``up`` (zeros between samples); sorted by input block, it
    is one row of input (the blocks it reaches back to, oldest first) times one column here.
    """
    nyquist = min(in_rate, out_rate) / 2
    width = (1.0 - passband) * nyquist
    length_s = (attenuation_db - 8.0) / (2.285 * 2.0 * math.pi * width)  # Kaiser's estimate
    # An odd prototype of 2 * down * delay + 1 taps delays the output by a whole number of samples.
    delay = max(1, math.ceil(length_s * up * in_rate / (2 * down)))
    taps = 2 * down * delay + 1
    cutoff = (1.0 + passband) / 2 * nyquist / (up * in_rate)  # cycles per stretched sample
    beta = 0.1102 * (attenuation_db - 8.7) if attenuation_db > 50 else (
        0.5842 * (attenuation_db - 21) ** 0.4 + 0.07886 * (attenuation_db - 21)
    )
    t = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * t) * np.kaiser(taps, beta)
    h *= up / h.sum()  # unity gain at DC through every phase
    blocks = (taps - 1 + (down - 1) * up) // (down * up) + 1
    c = np.zeros((blocks, down, up))
    j, q, ll = np.meshgrid(np.arange(blocks), np.arange(down), np.arange(up), indexing="ij")
    index = j * down * up + ll * down - q * up
    inside = (index >= 0) & (index < taps)
    c[inside] = h[index[inside]]
    return np.ascontiguousarray(c[::-1].reshape(blocks * down, up), dtype=np.float32), delay, taps


class Resampler:
    """Streaming resampler for one track: PCM16 in at ``in_rate``, PCM16 out at ``out_rate``.

    Chunks may be any size, even cut inside a sample or a multi-channel frame: the incomplete
    tail is held until the next chunk. soxr delays the output by a few milliseconds, so early
    calls return less than the rate ratio suggests; :meth:`flush` drains the rest at the end,
    after which the total matches ``in_samples * out_rate / in_rate`` (rounded). soxr
    dithers int16 output, so two chunkings of one stream may differ by a least significant bit
    or two, far below audibility.

    Args:
        in_rate: Input sample rate in Hz, in :data:`SUPPORTED_RATES`.
        out_rate: Output sample rate in Hz, in :data:`SUPPORTED_RATES`.
        channels: Interleaved channels (same on both sides).
        quality: One of :data:`QUALITIES`.

    Raises:
        ValueError: if a rate is unsupported, ``channels`` is not positive, or ``quality`` is
            unknown.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int = 1, *, quality: str = "HQ") -> None:
        _check(in_rate, out_rate, channels)
        if quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {quality!r}")
        self.in_rate = in_rate
        """Input sample rate, in Hz."""
        self.out_rate = out_rate
        """Output sample rate, in Hz."""
        self.channels = channels
        """Interleaved channels, in and out."""
        self.quality = quality
        """soxr quality recipe."""
        self._frame_size = 2 * channels
        self._carry = b""
        # Same rate: no soxr stream at all, process() hands the input back untouched.
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, channels, dtype="int16", quality=quality)
        )

    def describe(self) -> str:
        return "none (same rate)" if self._stream is None else f"soxr {self.quality}"

    def process(self, pcm: bytes) -> bytes:
        """Resample a chunk and return what soxr has ready; keeps filter state for the next."""
        if self._stream is None:
            return pcm
        if self._carry:
            pcm = self._carry + pcm
        usable = len(pcm) - len(pcm) % self._frame_size
        self._carry = bytes(pcm[usable:])
        if usable == 0:
            return b""
        out = self._stream.resample_chunk(self._samples(memoryview(pcm)[:usable]))
        return out.tobytes()

    def flush(self) -> bytes:
        """Drain the samples soxr still holds, at the end of the stream.

        The resampler is then ready for a new stream. An incomplete sample or frame still held
        from :meth:`process` cannot be resampled and is dropped.
        """
        if self._stream is None:
            return b""
        out = self._stream.resample_chunk(self._samples(b""), last=True)
        self.reset()
        return out.tobytes()

    def reset(self) -> None:
        """Forget all state (held samples, filter history) to start a new, unrelated stream."""
        self._carry = b""
        if self._stream is not None:
            self._stream.clear()

    def _samples(self, pcm: bytes | memoryview) -> np.ndarray:
        samples = np.frombuffer(pcm, dtype=np.int16)
        return samples if self.channels == 1 else samples.reshape(-1, self.channels)


def convert_channels(pcm: bytes, in_channels: int, out_channels: int) -> bytes:
    """Convert interleaved PCM16 between mono and N channels.

    Mono to N duplicates each sample into every channel; N to mono averages the channels
    (rounding down). The same count returns ``pcm`` itself.

    Raises:
        ValueError: for any other conversion (neither side mono), a non-positive channel count,
            or ``pcm`` that is not a whole number of ``in_channels`` frames.
    """
    if in_channels < 1 or out_channels < 1:
        raise ValueError(f"channel counts must be at least 1, got {in_channels} -> {out_channels}")
    if in_channels == out_channels:
        return pcm
    if len(pcm) % (2 * in_channels):
        raise ValueError(f"{len(pcm)} bytes is not a whole number of {in_channels}-channel PCM16 frames")
    samples = np.frombuffer(pcm, dtype=np.int16)
    if in_channels == 1:
        return np.repeat(samples, out_channels).tobytes()
    if out_channels == 1:
        frames = samples.reshape(-1, in_channels)
        return (frames.sum(axis=1, dtype=np.int32) // in_channels).astype(np.int16).tobytes()
    raise ValueError(f"cannot convert {in_channels} channels to {out_channels}; one side must be mono")
