"""Cut a PCM byte stream into fixed-size frames.

Audio arrives in chunks of whatever size the room or the client chose; VAD, pacing and the
binary media frames of the protocol want fixed durations (10 or 20 ms).
"""

from __future__ import annotations

__all__ = ["Framer", "frame_bytes"]


def frame_bytes(sample_rate: int, channels: int, frame_ms: int) -> int:
    """Bytes in ``frame_ms`` of PCM16 audio: ``2 * channels * (sample_rate * frame_ms // 1000)``.

    Whole samples per channel are counted first, so a frame never splits a sample (22050 Hz
    for 10 ms is 220 samples, 440 bytes, not 441).

    Raises:
        ValueError: if an argument is not positive or the frame holds no whole sample.
    """
    if sample_rate <= 0 or channels <= 0 or frame_ms <= 0:
        raise ValueError(
            f"sample_rate, channels and frame_ms must be positive, got {sample_rate}, {channels}, {frame_ms}"
        )
    samples = sample_rate * frame_ms // 1000
    if samples == 0:
        raise ValueError(f"{frame_ms} ms at {sample_rate} Hz holds no whole sample")
    return 2 * channels * samples


class Framer:
    """Cuts a byte stream into frames of ``frame_bytes`` bytes, keeping the remainder.

    Each input byte is copied at most twice (into the held remainder, then into a frame);
    frames that lie wholly inside a pushed chunk are sliced from it directly, and a ``bytes``
    chunk that is exactly one frame with nothing held is returned as it is (the usual case:
    the room already delivers whole frames), so it is not copied at all.

    Raises:
        ValueError: if ``frame_bytes`` is not positive.
    """

    def __init__(self, frame_bytes: int) -> None:
        if frame_bytes <= 0:
            raise ValueError(f"frame_bytes must be positive, got {frame_bytes}")
        self.frame_bytes = frame_bytes
        """Size of every frame :meth:`push` returns."""
        self._held = bytearray()

    def push(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add a chunk; return the frames it completes, in order (possibly none)."""
        size = self.frame_bytes
        if type(data) is bytes and len(data) == size and not self._held:
            return [data]
        view = memoryview(data).cast("B")
        frames: list[bytes] = []
        start = 0
        if self._held:
            need = size - len(self._held)
            if len(view) < need:
                self._held += view
                return frames
            self._held += view[:need]
            frames.append(bytes(self._held))
            self._held.clear()
            start = need
        end = start + (len(view) - start) // size * size
        frames.extend(bytes(view[i : i + size]) for i in range(start, end, size))
        self._held += view[end:]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held, waiting for the rest of a frame (always less than ``frame_bytes``)."""
        return len(self._held)

    def flush(self, pad: bool = True) -> bytes | None:
        """Return and forget the held remainder: zero-padded to a full frame if ``pad``.

        Returns None when nothing is held. Zero bytes are silence in PCM16.
        """
        if not self._held:
            return None
        if pad:
            self._held.extend(bytes(self.frame_bytes - len(self._held)))
        out = bytes(self._held)
        self._held.clear()
        return out

    def reset(self) -> None:
        """Drop the held remainder (e.g. after a barge-in ``clear``)."""
        self._held.clear()
