"""Sample-rate and channel conversion of PCM16 audio.

Each client asks for audio at its own rate; rooms deliver whatever their participants send.
:class:`Resampler` converts one track as a stream (soxr keeps its filter state between
chunks, so chunk edges leave no clicks), and :func:`convert_channels` does mono/stereo.
"""

from __future__ import annotations

import numpy as np
import soxr

__all__ = ["QUALITIES", "SUPPORTED_RATES", "Resampler", "convert_channels"]

SUPPORTED_RATES = range(8000, 48001)
"""Sample rates accepted on either side of a :class:`Resampler`, in Hz (any integer)."""

QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")
"""soxr quality recipes, quickest first. "HQ" is transparent for speech at modest CPU cost."""


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
        for name, rate in (("in_rate", in_rate), ("out_rate", out_rate)):
            if rate not in SUPPORTED_RATES:
                raise ValueError(
                    f"{name} must be an integer from {SUPPORTED_RATES.start} to "
                    f"{SUPPORTED_RATES.stop - 1} Hz, got {rate!r}"
                )
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
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
