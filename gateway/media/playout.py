"""Published audio played into the room at real time: pacing, marks, clear, watermarks.

PROTOCOL.md, "Publishing audio: pacing, clear and marks", is the contract; this
module implements it in two layers:

:class:`PlayoutBuffer`
    The sans-I/O core. It holds the audio a client published and decides, one
    slot at a time (:meth:`~PlayoutBuffer.next_frame`), what the track plays: a
    frame of audio, a frame of silence while the idle grace runs, or nothing.
    It keeps the accounting that marks and ``clear-audio`` report and emits the
    playout events through one callback. No clock, no tasks: tests drive it
    slot by slot.

:class:`AudioPlayout`
    The core plus a :class:`FrameClock`, writing one frame per slot to the sink
    (``Transport.write_audio``). It is a callback state machine: every playout
    on a loop is served by one :class:`SlotTimer` (one heap, one armed timer),
    not by a task sleeping to each slot.

Positions are byte offsets in the published stream. ``tail`` is where the next
pushed byte goes; ``head`` is the next byte to play. Playing a frame moves
``head`` by the audio bytes in it (never by padding); ``clear`` moves it to
``tail``. Everything between them is buffered. A mark sits at the ``tail`` it
was placed at and covers the *segment* from the previous mark or clear (or the
start) up to it; it is played when ``head`` passes its end, and if a clear
comes first it is cleared with ``played = head - segment start`` (clamped): the
audio of its segment that the room actually got.

Timing: slots are scheduled from a monotonic origin (``origin + n * period``),
never sleep-after-write, so timer lateness does not accumulate into drift. When
the loop was late, the frames owed are written at once, at most
``max_catchup_ms`` of them; a longer stall moves the origin instead, delaying
the rest of the audio rather than bursting it (counted in ``late_frames``), and
that delay is given back one slot at a time (two frames in a period) while a
backlog is queued, so a stall does not stay in the latency for the rest of the
call; grace silence played inside a span is owed back the same way. A slot that
finds the buffer dry while playing waits for audio up to ``max_catchup_ms`` past
its due time (or the idle grace, if shorter) before playing grace silence: a
real-time sender's frame is usually just late, and silence would push every
later frame a slot back (latency that ratchets up over a call; bench/README.md).
If no audio comes, the wait was the start of the idle grace: its slots are
counted as empty, not written late, and owed back like padded silence if a
backlog arrives; ``playout-idle`` comes ``idle_grace_ms`` after the buffer ran
dry. If the loop only reaches that slot after the wait has run out (it stalled),
the slot looks once more after the loop's next I/O before padding, since the
frame may be sitting unread in the socket.

When a span ends (clear, drained, stopped), and at the first dry slot after a
mark that ends the buffer, the ``flush`` sink tells the room's receivers to give
out what they still hold of the audio (``Transport.flush_audio``): a resampler's
delayed tail, a partial frame.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import heapq
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protocol.errors import CommandError, ErrorCode, InvalidParams

log = logging.getLogger("gateway.playout")

EventSink = Callable[[str, dict[str, Any]], None]
"""Receives playout events by protocol name and data (the session's ``outbox.event``)."""

MAX_CATCHUP_MS = 100
"""Most audio written back to back after a stall of the event loop; beyond, the schedule moves."""
ALIGN_SLOTS = 25
"""Slots refilled from empty that the runner watches before it pulls the schedule earlier."""
ALIGN_MARGIN_S = 0.002
"""How early a real-time sender's frames still arrive before their slot once aligned."""
MAX_PENDING_MARKS = 1000
"""Marks waiting to be played at once; one more is refused with ``buffer_full``."""
MAX_MARK_NAME = 256
"""Longest mark name, in characters (the schema says the same)."""


class FrameClock:
    """Ticks every ``period_s`` from a fixed origin; ``restart`` re-anchors after idle."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._origin = time.monotonic()
        self._n = 0

    def restart(self) -> None:
        """Make now tick 0 of a new schedule."""
        self._origin = time.monotonic()
        self._n = 0

    @property
    def ticks(self) -> int:
        """Ticks returned since the last (re)start."""
        return self._n

    @property
    def due(self) -> float:
        """Monotonic time of the current tick: when the slot being played was due."""
        return self._origin + self._n * self.period_s

    def behind(self, now: float | None = None) -> int:
        """Ticks already due beyond the current one at ``now`` (default: the clock's time; 0 when on time)."""
        if now is None:
            now = time.monotonic()
        return max(0, int((now - self._origin) / self.period_s) - self._n)

    def slip(self, ticks: int) -> None:
        """Move the schedule ``ticks`` periods later (give up catching those up)."""
        self._origin += ticks * self.period_s

    def skip(self, ticks: int) -> None:
        """Move past ``ticks`` ticks without serving them (the schedule stays where it is)."""
        self._n += ticks

    def pull(self, seconds: float) -> None:
        """Move the schedule ``seconds`` earlier (less than a period: no tick is skipped)."""
        self._origin -= seconds

    def advance(self) -> float:
        """Move to the next tick without waiting; returns when it is due (monotonic)."""
        self._n += 1
        return self._origin + self._n * self.period_s

    async def tick(self) -> None:
        """Wait for the next tick (returns at once if it is already past)."""
        self._n += 1
        delay = self._origin + self._n * self.period_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(slots=True)
class _Mark:
    name: str
    start: int
    """Stream offset where the mark's segment begins (previous mark, clear, or 0)."""
    end: int
    """Stream offset of the mark itself (the tail when it was placed)."""


@dataclass(frozen=True, slots=True)
class PlayoutOptions:
    """The playout fields of ``join.audio_out``, checked against each other and the gateway limit."""

    max_buffer_ms: int
    high_watermark_ms: int = 10_000
    low_watermark_ms: int = 2_000
    idle_grace_ms: int = 200
    prebuffer_ms: int = 0

    @classmethod
    def from_params(cls, audio_out: dict[str, Any], limit_ms: int) -> PlayoutOptions:
        """Build from validated ``audio_out`` params (defaults filled in).

        Raises:
            InvalidParams: ``max_buffer_ms`` above the gateway's ``max_playout_buffer_ms``,
                or watermarks that are not ``low < high <= max_buffer_ms``.
        """
        max_ms = audio_out.get("max_buffer_ms")
        if max_ms is None:
            max_ms = limit_ms
        elif max_ms > limit_ms:
            raise _bad("max_buffer_ms", f"{max_ms} exceeds this gateway's max_playout_buffer_ms {limit_ms}")
        # Defaults shrink with a small buffer so a plain join works on any gateway.
        high = audio_out.get("high_watermark_ms")
        if high is None:
            high = min(10_000, max_ms // 2)
        low = audio_out.get("low_watermark_ms")
        if low is None:
            low = min(2_000, high // 5)
        if high:
            if high > max_ms:
                raise _bad(
                    "high_watermark_ms",
                    f"{high} exceeds max_buffer_ms {max_ms}; lower it, or 0 turns watermarks off",
                )
            if low >= high:
                raise _bad("low_watermark_ms", f"{low} must be below high_watermark_ms {high}")
        return cls(
            max_buffer_ms=max_ms,
            high_watermark_ms=high,
            low_watermark_ms=low,
            idle_grace_ms=audio_out.get("idle_grace_ms", 200),
            prebuffer_ms=audio_out.get("prebuffer_ms", 0),
        )


def _bad(field: str, message: str) -> InvalidParams:
    return InvalidParams(f"join: audio_out.{field}: {message}", details={"field": f"audio_out.{field}"})


class PlayoutBuffer:
    """The sans-I/O playout: buffer, slot decisions, marks, clear, watermarks, idle/started.

    Args:
        sample_rate: Hz of the published PCM16.
        channels: interleaved channels.
        frame_ms: nominal slot length; a frame is ``sample_rate * frame_ms // 1000`` samples
            and the clock's period is exactly that many samples, so odd rates do not drift.
        max_buffer_ms: most audio held; a push beyond raises ``buffer_full`` and queues nothing.
        high_watermark_ms: ``playout-buffer-high`` when a push takes the buffer to it or more (the level
            after that push is reported) with no high outstanding; 0 turns both off.
        low_watermark_ms: ``playout-buffer-low``, the one answer to a high, when playing takes the buffer
            to this or below, or a clear empties it.
        idle_grace_ms: silence played after the buffer runs dry before ``playout-idle``.
        on_event: receives ``(event name, data)`` for every playout event.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int = 1,
        frame_ms: int = 20,
        max_buffer_ms: int = 120_000,
        high_watermark_ms: int = 0,
        low_watermark_ms: int = 0,
        idle_grace_ms: int = 0,
        on_event: EventSink | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.frame_ms = frame_ms
        self.sample_bytes = 2 * channels
        """Bytes of one sample across channels."""
        self.bytes_per_ms = sample_rate * self.sample_bytes / 1000.0
        self.frame_samples = max(1, sample_rate * frame_ms // 1000)
        self.frame_bytes = self.frame_samples * self.sample_bytes
        self.period_s = self.frame_samples / sample_rate
        """Exact duration of one frame (= ``frame_ms`` unless the rate does not divide evenly)."""
        self.max_buffer_ms = max_buffer_ms
        self.max_buffer_bytes = self._bytes(max_buffer_ms)
        self.high_watermark_ms = high_watermark_ms
        self.low_watermark_ms = low_watermark_ms
        self._high_bytes = self._bytes(high_watermark_ms) if high_watermark_ms > 0 else 0
        self._low_bytes = self._bytes(low_watermark_ms)
        self.idle_grace_ms = idle_grace_ms
        self.grace_frames = max(0, math.ceil(idle_grace_ms / (1000 * self.period_s) - 1e-9))
        """Empty slots played as silence before the playout goes idle (``idle_grace_ms`` rounded up to slots)."""
        self._on_event: EventSink = on_event or (lambda name, data: None)
        self._buffer = bytearray()
        self._silence = bytes(self.frame_bytes)
        self._head = 0
        self._tail = 0
        self._segment_start = 0
        self._marks: collections.deque[_Mark] = collections.deque()
        self._high = False
        self._empty_slots = 0
        self._span_bytes = 0
        self.playing = False
        """True between ``playout-started`` and ``playout-idle``."""
        self.frames_played = 0
        """Frames handed to the sink: audio (padded or whole) and grace silence."""
        self.silence_frames = 0
        """Of which silence written during the idle grace."""
        self.played_bytes = 0
        """Published audio bytes handed to the sink (padding and silence excluded)."""
        self.dropped_bytes = 0
        """Published audio bytes dropped by clears."""

    # ------------------------------------------------------------------ units

    def _bytes(self, ms: float) -> int:
        """Whole samples' worth of bytes in ``ms``."""
        return int(ms * self.sample_rate / 1000) * self.sample_bytes

    def _ms(self, nbytes: int) -> float:
        return round(nbytes / self.bytes_per_ms, 1)

    def _samples(self, nbytes: int) -> int:
        return nbytes // self.sample_bytes

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    @property
    def buffered_ms(self) -> float:
        """Audio queued and not yet played, in ms."""
        return len(self._buffer) / self.bytes_per_ms

    @property
    def pending_marks(self) -> int:
        return len(self._marks)

    # ------------------------------------------------------------------ client side

    def push(self, pcm: bytes | memoryview) -> None:
        """Queue published audio (any whole number of samples).

        Raises:
            CommandError: ``buffer_full`` if it would take the buffer past ``max_buffer_ms``
                (nothing of it is queued); ``bad_payload`` if it is not whole samples.
        """
        size = len(pcm)
        if not size:
            return
        if size % self.sample_bytes:
            raise CommandError(
                ErrorCode.BAD_PAYLOAD, f"{size} bytes is not a whole number of {self.channels}-channel PCM16 samples"
            )
        if len(self._buffer) + size > self.max_buffer_bytes:
            raise CommandError(
                ErrorCode.BUFFER_FULL,
                f"playout buffer holds {self.buffered_ms:.0f} ms; {size / self.bytes_per_ms:.0f} ms more "
                f"would exceed max_buffer_ms {self.max_buffer_ms}; the frame was not queued",
                details={"buffered_ms": self._ms(len(self._buffer)), "max_buffer_ms": self.max_buffer_ms},
            )
        self._buffer += pcm
        self._tail += size
        if self._high_bytes and not self._high and len(self._buffer) >= self._high_bytes:
            self._high = True
            self._on_event(
                "playout-buffer-high",
                {"buffered_ms": self._ms(len(self._buffer)), "high_watermark_ms": self.high_watermark_ms},
            )

    def mark(self, name: str) -> dict[str, Any]:
        """Place a mark after everything queued so far; returns the ``mark-audio`` result.

        With nothing queued the mark is played at once (its event is emitted before this returns).

        Raises:
            CommandError: ``buffer_full`` with :data:`MAX_PENDING_MARKS` marks already pending.
        """
        if len(self._marks) >= MAX_PENDING_MARKS:
            raise CommandError(
                ErrorCode.BUFFER_FULL,
                f"{MAX_PENDING_MARKS} marks are already waiting to be played",
                details={"pending_marks": len(self._marks)},
            )
        mark = _Mark(name, self._segment_start, self._tail)
        self._segment_start = self._tail
        queued = self._tail - self._head
        self._marks.append(mark)
        self._resolve_played()
        return {"name": name, "buffered_ms": self._ms(queued)}

    def clear(self, *, reason: str = "cleared") -> dict[str, Any]:
        """Drop everything buffered at once; pending marks come back cleared; returns the ``clear-audio`` result.

        Events, in order: ``playout-mark`` (cleared) for each pending mark, ``playout-buffer-low``
        if a high is outstanding (whatever the level), ``playout-idle`` (``reason``) if playing.
        """
        dropped = self._tail - self._head
        played_to = self._head
        self._buffer.clear()
        self._head = self._segment_start = self._tail
        self.dropped_bytes += dropped
        names = []
        while self._marks:
            mark = self._marks.popleft()
            played = min(max(0, played_to - mark.start), mark.end - mark.start)
            names.append(mark.name)
            self._emit_mark(mark, "cleared", played)
        self._check_low()
        if self.playing:
            self._end_span(reason)
        return {"dropped_ms": self._ms(dropped), "dropped_samples": self._samples(dropped), "cleared_marks": names}

    def snapshot(self) -> dict[str, Any]:
        """The ``get-audio-buffer`` result."""
        return {
            "buffered_ms": self._ms(len(self._buffer)),
            "buffered_samples": self._samples(len(self._buffer)),
            "playing": self.playing,
            "above_high_watermark": self._high,
            "pending_marks": len(self._marks),
            "played_ms": self._ms(self.played_bytes),
            "dropped_ms": self._ms(self.dropped_bytes),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frame_ms": self.frame_ms,
            "max_buffer_ms": self.max_buffer_ms,
            "high_watermark_ms": self.high_watermark_ms,
            "low_watermark_ms": self.low_watermark_ms,
            "idle_grace_ms": self.idle_grace_ms,
        }

    # ------------------------------------------------------------------ clock side

    @property
    def has_partial_frame(self) -> bool:
        """Some audio is queued, but less than a frame."""
        return 0 < len(self._buffer) < self.frame_bytes

    def next_frame(self) -> bytes | None:
        """What the track plays in the current slot; None when idle (write nothing).

        A whole frame of audio if queued; the rest padded with silence if less is
        queued (the runner first gives the sender a period to complete it); silence
        while the buffer is empty and the idle grace runs; None once idle.
        """
        buf = self._buffer
        size = min(len(buf), self.frame_bytes)
        if size == 0:
            if not self.playing:
                return None
            if self._empty_slots >= self.grace_frames:
                self._end_span("drained")
                return None
            self._empty_slots += 1
            self.frames_played += 1
            self.silence_frames += 1
            return self._silence
        if size == self.frame_bytes:
            chunk = bytes(buf[:size])
        else:
            chunk = bytes(buf) + self._silence[size:]
        del buf[:size]
        self._head += size
        self.played_bytes += size
        self._span_bytes += size
        self._empty_slots = 0
        self.frames_played += 1
        if not self.playing:
            self.playing = True
            self._on_event("playout-started", {"buffered_ms": self._ms(len(buf) + size)})
        # Checked here first: this runs every slot, and nearly always neither applies.
        if self._marks:
            self._resolve_played()
        if self._high:
            self._check_low()
        return chunk

    def skip_empty(self, slots: int) -> None:
        """Count ``slots`` slots of the idle grace as gone by unplayed (the runner waited for audio in them).

        Only while playing with nothing buffered; :meth:`next_frame` then ends the span once the
        grace is used up, so the wait counts towards ``idle_grace_ms`` instead of adding to it.
        """
        if self.playing and not self._buffer:
            self._empty_slots += slots

    @property
    def ends_at_mark(self) -> bool:
        """Playing, nothing buffered, and a mark sits after the last audio pushed (the client's end of an utterance)."""
        return self.playing and not self._buffer and self._segment_start == self._tail

    @property
    def in_grace(self) -> bool:
        """Playing, and the slots since the buffer ran dry have begun to use up the idle grace."""
        return self.playing and self._empty_slots > 0

    # ------------------------------------------------------------------ internals

    def _resolve_played(self) -> None:
        marks = self._marks
        while marks and marks[0].end <= self._head:
            mark = marks.popleft()
            self._emit_mark(mark, "played", mark.end - mark.start)

    def _emit_mark(self, mark: _Mark, status: str, played: int) -> None:
        audio = mark.end - mark.start
        self._on_event(
            "playout-mark",
            {
                "name": mark.name,
                "status": status,
                "played_ms": self._ms(played),
                "audio_ms": self._ms(audio),
                "played_samples": self._samples(played),
                "audio_samples": self._samples(audio),
            },
        )

    def _check_low(self) -> None:
        if self._high and len(self._buffer) <= self._low_bytes:
            self._high = False
            self._on_event(
                "playout-buffer-low",
                {"buffered_ms": self._ms(len(self._buffer)), "low_watermark_ms": self.low_watermark_ms},
            )

    def _end_span(self, reason: str) -> None:
        played = self._span_bytes
        self.playing = False
        self._span_bytes = 0
        self._empty_slots = 0
        self._on_event(
            "playout-idle", {"reason": reason, "played_ms": self._ms(played), "played_samples": self._samples(played)}
        )


class SlotTimer:
    """One timer for every playout on an event loop: slots are callbacks, not sleeping tasks.

    A task per playout sleeping to each slot costs a timer, a future and a task step
    (through three awaits) per frame; at a few hundred playouts that was ~15 % of the
    gateway's CPU. Here each playout's next wake-up is an entry in one heap, and one
    ``loop.call_later`` handle is armed for the earliest. When it fires, every entry due
    within :data:`BATCH_S` is served in due order in that one callback, so playouts whose
    slots fall in the same millisecond share a wake-up. Wake-ups asked for by pushes
    (a wait that audio ends) are served together in one ``call_soon`` per loop iteration,
    the same iteration a woken task would have run in.

    An entry carries its playout's token at the time it was made; a playout that moves
    its wake-up takes a new token, and entries with an old one are skipped when they
    come due (lazy deletion: no search in the heap).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, int, AudioPlayout]] = []
        self._seq = 0
        """Heap tie-breaker, so playouts are never compared."""
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = math.inf
        self._ready: list[tuple[AudioPlayout, int]] = []
        self._flushing = False

    def at(self, when: float, playout: AudioPlayout, token: int) -> None:
        """Serve ``playout`` at monotonic time ``when`` (or up to :data:`BATCH_S` before) if ``token`` is still its own."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, token, playout))
        if when < self._armed_at:
            self._arm(when)

    def soon(self, playout: AudioPlayout, token: int) -> None:
        """Serve ``playout`` at the next loop iteration if ``token`` is still its own."""
        self._ready.append((playout, token))
        if not self._flushing:
            self._flushing = True
            self.loop.call_soon(self._flush)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self.loop.call_later(max(0.0, when - time.monotonic()), self._fire)

    def _fire(self) -> None:
        self._handle = None
        # Slots the batch schedules must not re-arm the timer one by one: armed once below.
        self._armed_at = -math.inf
        heap = self._heap
        now = time.monotonic()
        horizon = now + BATCH_S
        while heap and heap[0][0] <= horizon:
            when, _, token, playout = heapq.heappop(heap)
            if token == playout._token:
                # Served as at its due time (never before): an early batch must not see a
                # wait as unfinished and put the entry back into this same batch.
                playout._serve(max(now, when))
        self._armed_at = math.inf
        if heap:
            self._arm(heap[0][0])

    def _flush(self) -> None:
        ready, self._ready = self._ready, []
        self._flushing = False
        now = time.monotonic()
        for playout, token in ready:
            if token == playout._token:
                playout._serve(now)


BATCH_S = 0.001
"""Slots due this close together share a timer wake-up (and play up to this much early)."""
LOOK_AGAIN_S = 2 * BATCH_S
"""A wait that ran out this long before its slot was served is looked at once more, after I/O."""

_timers: dict[int, SlotTimer] = {}
"""The slot timer of each running loop (by ``id``; the timer holds its loop, so ids are not reused)."""


def slot_timer() -> SlotTimer:
    """The running loop's :class:`SlotTimer` (made on first use; timers of closed loops are dropped)."""
    loop = asyncio.get_running_loop()
    timer = _timers.get(id(loop))
    if timer is None or timer.loop is not loop:
        for key in [k for k, t in _timers.items() if t.loop.is_closed()]:
            del _timers[key]
        timer = _timers[id(loop)] = SlotTimer(loop)
    return timer


class _Phase(enum.Enum):
    NEW = "new"
    """Not started: pushes queue audio, nothing is played."""
    IDLE = "idle"
    """Nothing scheduled; a push wakes it."""
    PREBUFFER = "prebuffer"
    """Waiting for ``prebuffer_ms`` of audio (or as long) before the first slot."""
    PLAYING = "playing"
    """Slots scheduled on the clock until the core says idle."""
    STOPPED = "stopped"


class _Wait(enum.Enum):
    NONE = 0
    PARTIAL = 1
    """A partial frame at its slot: up to a period for the sender to complete it."""
    DRY = 2
    """Dry at a slot while playing: up to ``max_catchup_ms`` past the slot for the next frame."""


class AudioPlayout(PlayoutBuffer):
    """Buffers one published track and writes it to ``write`` one frame per slot, in real time.

    ``write`` receives exactly one frame (``frame_bytes``) per call and must not block:
    the local room fans it out at once; the Daily transport hands it to its custom
    audio track without waiting for the SDK (PROTOCOL.md, "Publishing audio").

    The runner is a state machine (:class:`_Phase`, :class:`_Wait`) served by the loop's
    :class:`SlotTimer`: each slot, and each end of a wait, is one call of :meth:`_serve`.

    Args:
        write: the sink (``Transport.write_audio``).
        flush: called when the played stream pauses (a span ends, or the buffer runs dry after
            a mark that ends it): ``Transport.flush_audio``, so receivers deliver what they hold.
        prebuffer_ms: when audio starts after idle, wait until this much is queued (or this
            long has passed) before the first frame: a jitter allowance for senders that
            stream at exactly real time. 0 starts at once.
        max_catchup_ms: most audio written back to back after the loop stalled.
        sample_rate, channels, frame_ms, max_buffer_ms, high_watermark_ms, low_watermark_ms,
        idle_grace_ms, on_event: as :class:`PlayoutBuffer`.
    """

    def __init__(
        self,
        write: Callable[[bytes], None],
        *,
        flush: Callable[[], None] | None = None,
        prebuffer_ms: int = 0,
        max_catchup_ms: int = MAX_CATCHUP_MS,
        sample_rate: int,
        channels: int = 1,
        frame_ms: int = 20,
        max_buffer_ms: int = 120_000,
        high_watermark_ms: int = 0,
        low_watermark_ms: int = 0,
        idle_grace_ms: int = 0,
        on_event: EventSink | None = None,
    ) -> None:
        # Spelled out, not **kwargs: the compiled build (scripts/build_fast.py) cannot forward them.
        super().__init__(
            sample_rate=sample_rate, channels=channels, frame_ms=frame_ms, max_buffer_ms=max_buffer_ms,
            high_watermark_ms=high_watermark_ms, low_watermark_ms=low_watermark_ms,
            idle_grace_ms=idle_grace_ms, on_event=on_event,
        )
        self._write = write
        self._flush = flush
        self.prebuffer_ms = prebuffer_ms
        self._prebuffer_bytes = self._bytes(prebuffer_ms)
        self.max_catchup_frames = max(1, round(max_catchup_ms / (1000 * self.period_s)))
        self._late_wait_s = min(self.max_catchup_frames, self.grace_frames) * self.period_s
        """How long the first dry slot of a span waits for audio: ``max_catchup_ms``, or the idle
        grace if shorter (the wait is part of the grace, never added to it)."""
        self._delay_slots = 0
        """Slots of delay this span added to the stream and has not given back yet: the
        schedule moved after stalls, and silence padded while dry (the audio after it plays
        that much later)."""
        self._rushed = False
        self._refilled_at: float | None = None
        """When a push last refilled an empty buffer (cleared once a slot has looked at it)."""
        self._early_min = math.inf
        self._early_n = 0
        self._clock = FrameClock(self.period_s)
        self._phase = _Phase.NEW
        self._wait = _Wait.NONE
        self._deadline = 0.0
        """When the current wait (prebuffer, partial or dry) ends at the latest."""
        self._looked = False
        """The current wait, run out during a stall, has had its one more look after I/O."""
        self._timer: SlotTimer | None = None
        self._token = 0
        """Bumped by every (re)schedule: the timer serves only entries with the current one."""
        self._woken = False
        """A ``soon`` wake-up with the current token is pending."""
        self.late_frames = 0
        """Slots given up after stalls longer than the catch-up bound (the audio was delayed, not lost)."""

    def push(self, pcm: bytes | memoryview) -> None:
        empty = not self._buffer
        super().push(pcm)
        if empty:
            self._refilled_at = time.monotonic()
        self._poke()

    def clear(self, *, reason: str = "cleared") -> dict[str, Any]:
        result = super().clear(reason=reason)
        self._poke()
        return result

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "prebuffer_ms": self.prebuffer_ms, "late_frames": self.late_frames}

    def start(self) -> None:
        """Start playing on the running loop (audio pushed before this plays now)."""
        self._timer = slot_timer()
        self._phase = _Phase.IDLE
        self._woken = False
        if self._buffer:
            self._wake()

    async def stop(self) -> None:
        """Stop playing; pending marks come back cleared and a playing span ends (reason ``stopped``)."""
        self._phase = _Phase.STOPPED
        self._token += 1
        if self.playing or self._marks or self._buffer:
            PlayoutBuffer.clear(self, reason="stopped")

    # ------------------------------------------------------------------ runner

    def _poke(self) -> None:
        """After a push or clear: wake the runner at the next loop iteration if this ends what it waits for."""
        phase = self._phase
        if phase is _Phase.IDLE:
            wake = bool(self._buffer)
        elif phase is _Phase.PREBUFFER:
            wake = not 0 < len(self._buffer) < self._prebuffer_bytes
        elif phase is _Phase.PLAYING:
            if self._wait is _Wait.DRY:
                wake = True  # any audio (or a clear) ends it
            elif self._wait is _Wait.PARTIAL:
                wake = not self.has_partial_frame
            else:
                wake = False  # the next slot is on the clock
        else:
            wake = False
        if wake and not self._woken:
            self._wake()

    def _wake(self) -> None:
        assert self._timer is not None
        self._token += 1
        self._woken = True
        self._timer.soon(self, self._token)

    def _at(self, when: float) -> None:
        assert self._timer is not None
        self._token += 1
        self._woken = False
        self._timer.at(when, self, self._token)

    def _serve(self, now: float) -> None:
        """Called by the timer at a scheduled time (``now``) or after a wake-up."""
        self._woken = False
        try:
            self._step(now)
        except Exception:
            # As a failed task would: this playout stops, the others go on.
            log.exception("playout failed")
            self._phase = _Phase.STOPPED
            self._token += 1

    def _step(self, now: float) -> None:
        buf = self._buffer
        if self._phase is _Phase.IDLE:
            if not buf:
                return
            if self._prebuffer_bytes:
                self._phase = _Phase.PREBUFFER
                self._deadline = now + self.prebuffer_ms / 1000
            else:
                self._begin_span()
        if self._phase is _Phase.PREBUFFER:
            if 0 < len(buf) < self._prebuffer_bytes and now < self._deadline:
                self._at(self._deadline)
                return
            self._begin_span()
        if self._phase is not _Phase.PLAYING:
            return
        clock = self._clock
        frame_bytes = self.frame_bytes
        # Playing: exactly one frame per slot until the core says idle; owed slots at once.
        while True:
            wait = self._wait
            if wait is _Wait.NONE:
                if 0 < len(buf) < frame_bytes:
                    # A partial frame at its slot: give the sender up to one period to
                    # complete it before padding. Lateness is caught up by the clock.
                    wait = self._wait = _Wait.PARTIAL
                    self._deadline = now + self.period_s
                elif not buf and self.playing and not self.in_grace:
                    # Dry at a slot while playing: a real-time sender's next frame is usually
                    # just late (network jitter, or this loop served the slot before reading
                    # the socket). Wait for it, up to the catch-up bound past the slot (or the
                    # grace, if shorter), before the core plays grace silence; the clock then
                    # catches up, so lateness delays that frame alone. Playing silence at once
                    # would leave every later frame a slot behind for the rest of the span:
                    # latency that ratchets up. Once the grace has begun, silence is on time.
                    wait = self._wait = _Wait.DRY
                    self._deadline = clock.due + self._late_wait_s
                    if self.ends_at_mark:
                        # The client marked the end of what it sent: receivers get the last of
                        # it now, on time, not when the next slot is written (up to the wait
                        # later); audio that still comes starts afresh for them.
                        self._flush_receivers()
            if wait is not _Wait.NONE:
                if (0 < len(buf) < frame_bytes) if wait is _Wait.PARTIAL else (not buf and self.playing):
                    if now < self._deadline:
                        self._at(self._deadline)
                        return
                    if not self._looked and now > self._deadline + LOOK_AGAIN_S:
                        # The loop reached this slot after the wait had run out: it stalled,
                        # and the audio may be sitting unread in the socket (uvloop runs timers
                        # before I/O). Look once more after the loop's I/O before padding, or
                        # the silence would leave the rest of a real-time stream a slot late.
                        self._looked = True
                        self._at(now + LOOK_AGAIN_S)
                        return
                    if wait is _Wait.DRY:
                        # No audio came: the slots the wait spanned were the first of the idle
                        # grace, gone by unplayed. They are not written late (a burst of stale
                        # silence); the grace goes on from the slot due now, on time, and they
                        # count as delay like the silent ones (repaid if a backlog arrives).
                        skipped = clock.behind(now)
                        if skipped:
                            clock.skip(skipped)
                            self.skip_empty(skipped)
                            self._delay_slots += skipped
                self._looked = False
            self._wait = _Wait.NONE
            if self._refilled_at is not None:
                self._align(clock.due - self._refilled_at)
            dry = not buf
            chunk = self.next_frame()
            if chunk is None:  # drained: idle until a push
                self._phase = _Phase.IDLE
                return
            if dry:
                # A slot of grace silence: audio that comes after it plays a slot later, and
                # a real-time sender would keep that delay for the rest of the span (its
                # buffer never runs dry again); owed back like a stall's.
                self._delay_slots += 1
            try:
                self._write(chunk)
            except Exception:
                log.exception("playout sink failed")
            now = time.monotonic()
            due = self._advance(now)
            if due > now:
                self._at(due)
                return

    def _end_span(self, reason: str) -> None:
        super()._end_span(reason)
        # The room's receivers hold the last few ms of the span (resampler delay, a partial
        # frame): they get it now, not at the start of the next span.
        self._flush_receivers()

    def _flush_receivers(self) -> None:
        if self._flush is not None:
            try:
                self._flush()
            except Exception:
                log.exception("playout flush failed")

    def _begin_span(self) -> None:
        self._phase = _Phase.PLAYING
        self._wait = _Wait.NONE
        self._clock.restart()
        self._delay_slots = 0
        self._refilled_at, self._early_min, self._early_n = None, math.inf, 0

    def _align(self, early: float) -> None:
        """Phase-lock the slots to a sender that streams at real time.

        ``early`` is how long before its slot the audio that refilled an empty buffer
        arrived. A real-time sender refills the buffer before every slot, and the phase
        between its clock and the slots, set by whichever frame started the span, would
        otherwise add that wait (0 to a period) to every frame for the whole span. When
        every refill of :data:`ALIGN_SLOTS` slots came more than twice
        :data:`ALIGN_MARGIN_S` early, the schedule moves earlier to leave that margin. A
        sender that is ahead (TTS) keeps the buffer from running empty and is never
        aligned; one that is late is served by the late wait, so this only ever pulls.
        """
        self._refilled_at = None
        self._early_min = min(self._early_min, early)
        self._early_n += 1
        if self._early_n >= ALIGN_SLOTS:
            if self._early_min > 2 * ALIGN_MARGIN_S:
                self._clock.pull(min(self._early_min, self.period_s) - ALIGN_MARGIN_S)
            self._early_min, self._early_n = math.inf, 0

    def _advance(self, now: float) -> float:
        """After a slot's write at ``now``: settle stalls (slip, repay) and move to the next slot; returns its due time."""
        clock = self._clock
        owed = clock.behind(now)
        if owed > self.max_catchup_frames:
            clock.slip(owed - self.max_catchup_frames)
            self.late_frames += owed - self.max_catchup_frames
            self._delay_slots += owed - self.max_catchup_frames
        if owed:
            self._rushed = True
        elif self._delay_slots and not self._rushed and len(self._buffer) >= self.frame_bytes:
            # Audio a stall (or padded silence) delayed is queued behind the slot: give one
            # slot back (two frames in this period, never two periods running) until the
            # delay is repaid or the backlog is gone, so a stall delays the stream for a
            # while, not for the rest of the call. A whole frame queued after this slot's
            # write is backlog: a real-time sender's next frame is not due until the next
            # slot, so waiting for two frames left one slot (20 ms) unpaid after every stall.
            clock.slip(-1)
            self._delay_slots -= 1
            self._rushed = True
        else:
            self._rushed = False
        return clock.advance()
