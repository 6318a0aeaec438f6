"""Published audio played into the room at real time on a drift-free clock.

Clients may send audio in bursts (TTS is faster than real time). The playout
buffers it and writes one frame per period, scheduled from a monotonic start
(``start + n * period``) rather than sleep-after-write, so timer lateness never
accumulates; a late tick writes the frames it owes at once, which keeps the
total duration exact instead of speeding audio up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from protocol.errors import CommandError, ErrorCode


class FrameClock:
    """Ticks every ``period_s`` from a fixed origin; ``restart`` re-anchors after idle."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._origin = time.monotonic()
        self._n = 0

    def restart(self) -> None:
        self._origin = time.monotonic()
        self._n = 0

    @property
    def ticks(self) -> int:
        return self._n

    async def tick(self) -> None:
        """Wait for the next tick (returns at once if it is already past)."""
        self._n += 1
        delay = self._origin + self._n * self.period_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class AudioPlayout:
    """Buffers one published track and writes it out in frames at real time."""

    def __init__(
        self,
        write: Callable[[bytes], None],
        *,
        sample_rate: int,
        channels: int = 1,
        frame_ms: int = 20,
        max_buffer_ms: int = 120_000,
    ) -> None:
        self._write = write
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_ms = frame_ms
        self.bytes_per_ms = sample_rate * channels * 2 / 1000.0
        self.frame_bytes = int(self.bytes_per_ms * frame_ms)
        self.max_buffer_bytes = int(self.bytes_per_ms * max_buffer_ms)
        self._buffer = bytearray()
        self._data = asyncio.Event()
        self._clock = FrameClock(frame_ms / 1000.0)
        self._task: asyncio.Task[None] | None = None
        self.frames_played = 0

    @property
    def buffered_ms(self) -> float:
        return len(self._buffer) / self.bytes_per_ms

    def push(self, pcm: bytes | memoryview) -> None:
        """Queue audio; raises ``buffer_full`` (nothing queued) past the maximum."""
        if len(self._buffer) + len(pcm) > self.max_buffer_bytes:
            raise CommandError(
                ErrorCode.BUFFER_FULL,
                f"playout buffer holds {self.buffered_ms:.0f} ms; adding {len(pcm) / self.bytes_per_ms:.0f} ms "
                f"would exceed the {self.max_buffer_bytes / self.bytes_per_ms:.0f} ms maximum",
                details={"buffered_ms": round(self.buffered_ms)},
            )
        self._buffer += pcm
        self._data.set()

    def clear(self) -> float:
        """Drop everything buffered; returns the ms dropped."""
        dropped = self.buffered_ms
        self._buffer.clear()
        return dropped

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="playout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        buf, frame = self._buffer, self.frame_bytes
        while True:
            if not buf:
                self._data.clear()
                await self._data.wait()
                self._clock.restart()
            if len(buf) < frame:
                # A partial frame at its slot: give the sender up to one period to
                # complete it, then pad with silence. The clock stays anchored.
                deadline = time.monotonic() + self._clock.period_s
                while len(buf) < frame and (left := deadline - time.monotonic()) > 0:
                    self._data.clear()
                    try:
                        await asyncio.wait_for(self._data.wait(), left)
                    except TimeoutError:
                        break
                if len(buf) < frame:
                    buf += bytes(frame - len(buf))
            chunk = bytes(buf[:frame])
            del buf[:frame]
            self._emit(chunk)
            await self._clock.tick()

    def _emit(self, chunk: bytes) -> None:
        self.frames_played += 1
        self._write(chunk)
