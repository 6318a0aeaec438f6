"""Media hand-over between daily-python's native threads and the event loop.

daily-python calls audio and video renderers on its own threads, and ``CustomAudioSource.write_frames``
paces at real time by blocking (or by calling back later). None of that may stall the event loop,
and the loop may never stall the SDK's threads. Each direction gets an explicit, bounded policy:

* :class:`CallbackInbox`: one per client; events and completions, SDK emitter thread -> loop, in
  the SDK's order; bounded for events (new ones dropped and counted), never for completions.
* :class:`AudioInbox`: one per received track; SDK thread -> loop; bounded, drops the oldest chunk
  (counted) when the loop falls behind, so latency stays bounded and the newest audio wins.
* :class:`VideoSlot`: one per captured video; SDK thread -> loop; latest frame wins (counted).
* :class:`SpeakerReader`: the room's mix (``join.audio_in.mixed``); one thread reads daily-python's
  virtual speaker every 20 ms into an :class:`AudioInbox`.
* :class:`AudioWriter`: loop -> SDK; a bounded queue drained by one writer thread that calls the
  blocking ``write_frames`` (which paces at real time) with all chunks waiting at once, cut to whole
  10 ms blocks (daily-python rounds every write up to whole blocks, so a ragged write would play
  silence it was never given); drops the oldest chunk (counted) when full.

Hand-over to the loop is ``loop.call_soon_threadsafe`` of one drain per burst (a flag says a drain
is already scheduled), so a burst of chunks costs one wake-up and the loop's own queue never holds
more than one drain per inbox.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..base import RawVideoFrame

log = logging.getLogger("gateway.daily.media")

AUDIO_INBOX_CHUNKS = 50
"""Received chunks kept per track while the loop is busy: 1 s at Daily's 20 ms callbacks."""
AUDIO_WRITER_CHUNKS = 50
"""Published chunks waiting for the writer thread: 1 s at 20 ms chunks (the playout paces, so ~1)."""


def post(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> bool:
    """``loop.call_soon_threadsafe(fn, *args)``, False instead of an error once the loop is closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # loop closed: the gateway is gone, nothing to deliver to
        return False
    return True


class _LoopInbox:
    """Filled on SDK threads, emptied by ``_drain`` on the loop: at most one drain pending at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._scheduled = False
        self.closed = False

    def _needs_drain(self) -> bool:
        """With ``_lock`` held, after adding: True when no drain is pending (the caller posts one)."""
        if self._scheduled:
            return False
        self._scheduled = True
        return True

    def _post_drain(self) -> None:
        """Without the lock: hand one drain to the loop; if the loop is gone, let a later add try again."""
        if not post(self._loop, self._drain):
            with self._lock:
                self._scheduled = False

    def _drain(self) -> None:
        raise NotImplementedError


EVENT_INBOX_ITEMS = 10_000
"""Room events kept while the loop is busy; beyond, new events are dropped (counted), never completions."""


class CallbackInbox(_LoopInbox):
    """One client's events and completions, from daily-python's emitter thread to the loop, in order.

    daily-python runs every event and completion of a client on one thread, FIFO; this keeps that
    order on the loop (a completion's ``*-updated`` event is handled before the completion). Bounded:
    once ``max_items`` wait, new *events* are dropped and counted (``on_dropped`` reports them on the
    loop); completions are never dropped, as each has a request waiting for it.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        max_items: int = EVENT_INBOX_ITEMS,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(loop)
        self._items: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._max = max_items
        self._on_dropped = on_dropped
        self._reported = 0
        self.dropped = 0
        """Events dropped because the loop fell ``max_items`` behind."""

    def put(self, fn: Callable[..., Any], args: tuple[Any, ...], *, droppable: bool) -> bool:
        """Called on an SDK thread; never blocks beyond a short lock. False once closed (nothing queued)."""
        with self._lock:
            if self.closed:
                return False
            if droppable and len(self._items) >= self._max:
                self.dropped += 1
                return True
            self._items.append((fn, args))
            wake = self._needs_drain()
        if wake:
            self._post_drain()
        return True

    def _drain(self) -> None:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._scheduled = False
            dropped = self.dropped - self._reported
            self._reported = self.dropped
        for fn, args in items:
            try:
                fn(*args)
            except Exception:  # one failing handler must not lose the items after it
                log.exception("handling a Daily callback failed")
        if dropped and self._on_dropped is not None:
            self._on_dropped(dropped)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._items.clear()


class AudioInbox(_LoopInbox):
    """A participant's received audio, from an SDK thread to ``deliver`` on the loop.

    Args:
        loop: the event loop ``deliver`` runs on.
        deliver: ``deliver(pcm, sample_rate, channels)``, called on the loop in arrival order.
        max_chunks: chunks kept while the loop is busy; beyond, the oldest is dropped.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[bytes, int, int], None],
        *,
        max_chunks: int = AUDIO_INBOX_CHUNKS,
    ) -> None:
        super().__init__(loop)
        self._deliver = deliver
        self._chunks: deque[tuple[bytes, int, int]] = deque(maxlen=max_chunks)
        self.dropped = 0
        """Chunks dropped because the loop fell more than ``max_chunks`` behind."""
        self.received = 0
        """Chunks received from the SDK."""

    def push(self, pcm: bytes, sample_rate: int, channels: int) -> None:
        """Called on an SDK thread; never blocks beyond a short lock."""
        with self._lock:
            if self.closed:
                return
            self.received += 1
            if len(self._chunks) == self._chunks.maxlen:
                self.dropped += 1  # the deque drops the oldest on append
            self._chunks.append((pcm, sample_rate, channels))
            wake = self._needs_drain()
        if wake:
            self._post_drain()

    def _drain(self) -> None:
        with self._lock:
            chunks = list(self._chunks)
            self._chunks.clear()
            self._scheduled = False
            if self.closed:
                return
        for pcm, rate, channels in chunks:
            self._deliver(pcm, rate, channels)

    def clear(self) -> None:
        """Forget queued audio (the track ended)."""
        with self._lock:
            self._chunks.clear()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._chunks.clear()


class VideoSlot:
    """A captured video, from an SDK thread to ``deliver`` on the loop: the latest frame wins."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[RawVideoFrame], None]) -> None:
        self._loop = loop
        self._deliver = deliver
        self._frame: RawVideoFrame | None = None
        self._lock = threading.Lock()
        self.closed = False
        self.replaced = 0
        """Frames overwritten by a newer one before the loop took them."""
        self.received = 0

    def put(self, frame: RawVideoFrame) -> None:
        """Called on an SDK thread."""
        with self._lock:
            if self.closed:
                return
            self.received += 1
            pending = self._frame is not None
            if pending:
                self.replaced += 1
            self._frame = frame
        if not pending:
            post(self._loop, self._drain)

    def _drain(self) -> None:
        with self._lock:
            frame, self._frame = self._frame, None
            if self.closed:
                return
        if frame is not None:
            self._deliver(frame)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._frame = None


class SpeakerReader:
    """The room's mix, from daily-python's virtual speaker device to an :class:`AudioInbox`.

    The device is made ``non_blocking`` (``read_frames`` answers at once with what it has, possibly
    nothing), so the thread paces itself: one read of ``period_ms`` of frames per period, on a
    monotonic schedule that skips ahead instead of bursting after a stall.

    Args:
        device: the SDK's ``VirtualSpeakerDevice`` (anything with ``read_frames(num_frames)``).
        inbox: where the audio goes (its ``push(pcm, sample_rate, channels)``).
        sample_rate, channels: the device's format.
        period_ms: audio per read.
        name: the thread's name.
    """

    def __init__(
        self,
        device: Any,
        inbox: AudioInbox,
        *,
        sample_rate: int,
        channels: int,
        period_ms: int = 20,
        name: str = "daily-speaker-reader",
    ) -> None:
        self._device = device
        self._inbox = inbox
        self._rate, self._channels = sample_rate, channels
        self._frames = sample_rate * period_ms // 1000
        self._period = period_ms / 1000.0
        self._stop = threading.Event()
        self.reads = 0
        """Reads that returned audio."""
        self.errors = 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                data = self._device.read_frames(self._frames)
            except Exception:
                self.errors += 1
                if self.errors == 1:
                    log.exception("reading Daily's speaker failed (further failures are counted only)")
                data = b""
            if data:
                self.reads += 1
                self._inbox.push(bytes(data), self._rate, self._channels)
            due += self._period
            now = time.monotonic()
            if due < now - 5 * self._period:  # stalled: resume from now rather than read a burst
                due = now
            self._stop.wait(max(0.0, due - now))
        self._device = None

    def close(self) -> None:
        """Stop reading (the thread ends within one period)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (blocks: call off the loop)."""
        self.thread.join(timeout)


class AudioWriter:
    """Feeds a ``CustomAudioSource`` from the loop without blocking it: a bounded queue and one thread.

    ``write_frames`` without a completion blocks its caller for as long as the audio takes to play;
    the writer thread absorbs that, so the loop and the SDK's own threads never wait. The session's
    playout already paces at real time, so the queue normally holds at most one chunk.

    Args:
        source: the SDK's ``CustomAudioSource`` (anything with ``write_frames(bytes)``).
        name: the thread's name.
        max_chunks: chunks kept while the writer is busy; beyond, the oldest is dropped.
        block_bytes: bytes of one 10 ms block (``rate // 100`` frames); each write is a whole number
            of blocks and the rest waits for the next chunk. 0: write everything as it comes.
    """

    def __init__(
        self,
        source: Any,
        *,
        name: str = "daily-audio-writer",
        max_chunks: int = AUDIO_WRITER_CHUNKS,
        block_bytes: int = 0,
    ) -> None:
        self._source = source
        self._block = block_bytes
        self._carry = b""
        """The end of the last chunks, less than a block: written with the next chunk."""
        self._chunks: deque[bytes] = deque()
        self._max = max_chunks
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        """Chunks dropped because more than ``max_chunks`` waited (the SDK consumed too slowly)."""
        self.written = 0
        """Chunks handed to ``write_frames``."""
        self.writes = 0
        """``write_frames`` calls (fewer than ``written`` when the writer caught up on a backlog)."""
        self.errors = 0
        """``write_frames`` calls that raised."""
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    @property
    def queued(self) -> int:
        return len(self._chunks)

    def queued_ms(self) -> float:
        """Audio waiting for the writer thread (0 without ``block_bytes``): how far behind real time it is (metrics)."""
        if not self._block:
            return 0.0
        with self._cond:
            waiting = sum(len(chunk) for chunk in self._chunks) + len(self._carry)
        return waiting * 10.0 / self._block

    def put(self, pcm: bytes) -> None:
        """Queue one chunk; never blocks beyond a short lock."""
        with self._cond:
            if self._closed:
                return
            if len(self._chunks) >= self._max:
                self._chunks.popleft()
                self.dropped += 1
            self._chunks.append(pcm)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._chunks and not self._closed:
                    self._cond.wait()
                if self._closed:
                    self._source = None  # the SDK's source lives (with its threads) only while needed
                    return
                # Everything waiting goes in one write: write_frames returns a little after its audio
                # played, so one chunk per write would fall behind by that wake-up delay every time
                # (latency growing through a long stream); coalescing catches up instead.
                count = len(self._chunks)
                chunk = self._chunks.popleft() if count == 1 else b"".join(self._chunks)
                self._chunks.clear()
            if self._block:
                chunk = self._carry + chunk if self._carry else chunk
                whole = len(chunk) - len(chunk) % self._block
                chunk, self._carry = chunk[:whole], chunk[whole:]
                if not chunk:
                    self.written += count  # held back whole, to go out with the next chunk
                    continue
            try:
                self._source.write_frames(chunk)
                self.written += count
                self.writes += 1
            except Exception:
                self.errors += 1
                if self.errors == 1:
                    log.exception("writing audio to Daily failed (further failures are counted only)")

    def close(self) -> None:
        """Stop the thread after the chunk being written; queued chunks are dropped."""
        with self._cond:
            self._closed = True
            self._chunks.clear()
            self._cond.notify()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (blocks: call off the loop)."""
        self.thread.join(timeout)


__all__ = [
    "AUDIO_INBOX_CHUNKS",
    "AUDIO_WRITER_CHUNKS",
    "EVENT_INBOX_ITEMS",
    "AudioInbox",
    "AudioWriter",
    "CallbackInbox",
    "SpeakerReader",
    "VideoSlot",
    "post",
]
