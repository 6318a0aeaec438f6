"""A session's outgoing path: sequence numbers, ordering, the replay buffer and the bounds.

Text frames (hello, replies, events, errors) get ``seq`` here, in the order they are
queued, and are always written before queued media: a ``track-started`` therefore
reaches the client before that track's first frame. Every text frame is also kept in
the session's replay buffer (``gateway.session.replay``), so that a client that reconnects
gets again what it missed (PROTOCOL.md, "Resume").

Nothing is queued while the connection takes data: a frame is written to it the moment it
is produced (no task switch per frame). Only while the transport's buffer is above its
high-water mark (a slow client) do frames wait in two queues, written by the outbox's task
as the buffer drains, text first. Both queues are bounded and producers never block, so a slow client never delays the
room's fan-out to anyone else (PROTOCOL.md, "Slow clients"):

- media past ``media_limit`` frames: the oldest frame is dropped and counted, and a
  ``media-dropped`` event tells the client (when it starts, then at most once a second);
- text past ``max_pending`` frames: never dropped; ``on_overflow`` is called once and the
  session closes the connection with 4010. The frames stay in the replay buffer.

The outbox outlives a connection: :meth:`detach` stops writing (media is then dropped,
text only kept for replay) and :meth:`attach` writes the frames after the client's
``last_seq`` on the new connection, then goes on live.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from protocol import messages
from protocol.constants import CloseCode, MediaKind
from protocol.errors import ProtocolError

from .replay import ReplayBuffer

log = logging.getLogger("gateway.outbox")

VIDEO_KIND = int(MediaKind.VIDEO)
"""Byte 1 of a video frame's header (protocol/media.py)."""
MEDIA_DROPPED_INTERVAL_S = 1.0
"""At most one ``media-dropped`` event per this many seconds while a client keeps dropping."""


class FrameSink(Protocol):
    """What the outbox writes to: :class:`gateway.net.connection.GatewayConnection` (tests use stand-ins)."""

    @property
    def writable(self) -> bool: ...

    def write_message(self, data: bytes, *, text: bool) -> bool: ...

    async def wait_writable(self) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Outbox:
    """Queues and writes everything a session sends; one writer task per attached connection."""

    def __init__(
        self,
        ws: FrameSink | None,
        *,
        media_limit: int = 100,
        replay_events: int = 1024,
        replay_bytes: int = 1 << 20,
        max_pending: int = 0,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._ws = ws
        # Text items carry a barrier: the number of media frames queued before
        # them that must be written first (0 = none). Media items carry their index.
        self._text: collections.deque[tuple[bytes, int]] = collections.deque()
        self._media: collections.deque[tuple[int, bytes]] = collections.deque()
        self._media_queued_total = 0
        self.media_limit = media_limit
        self.max_pending = max_pending
        """Most text frames waiting to be written before ``on_overflow`` (0: no bound)."""
        self.on_overflow = on_overflow
        self._overflowed = False
        self.replay = ReplayBuffer(replay_events, replay_bytes)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.seq = 0
        """Sequence number of the last text frame queued."""
        # Plain counters, summed at scrape time (gateway.metrics): text and media frames written, video among them.
        self.text_sent = 0
        self.text_bytes_sent = 0
        self.media_sent = 0
        self.media_bytes_sent = 0
        self.video_sent = 0
        self.video_bytes_sent = 0
        self.media_dropped = 0
        self.errors_sent: dict[str, int] = {}
        """Error code -> error replies and ``error`` events queued (``gateway_errors_total``)."""
        self._dropped_reported = 0
        self._dropped_event_at = -MEDIA_DROPPED_INTERVAL_S

    @property
    def attached(self) -> bool:
        """Whether a connection is being written to."""
        return self._ws is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def close(self, *, flush_timeout: float = 1.0) -> None:
        """Write what text is queued (bounded wait), then stop."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), flush_timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    def detach(self) -> None:
        """Stop writing to the connection: pending text stays in the replay buffer, queued media is dropped."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._ws = None
        self._text.clear()
        self.media_dropped += len(self._media)
        self._media.clear()

    def attach(self, ws: FrameSink, last_seq: int, *, first: bytes | None = None) -> int:
        """Write ``first``, then every frame after ``last_seq`` on ``ws``, then go on live; returns how many are replayed.

        The caller checks :meth:`can_replay` first.
        """
        self.detach()
        frames = self.replay.since(last_seq)
        if first is not None:
            self._text.append((first, 0))
        self._text.extend((frame, 0) for frame in frames)
        self._ws = ws
        self._overflowed = False
        self._wake.set()
        self.start()
        if self.media_dropped > self._dropped_reported:
            self._report_dropped("detached")
        return len(frames)

    async def drain(self, timeout: float = 1.0) -> None:
        """Wait (bounded) until every text frame queued so far is written."""
        deadline = time.monotonic() + timeout
        while self._text and self._task is not None and not self._task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def hand_over(self, request_id: str, result: dict[str, Any]) -> bytes:
        """The reply that ends this outbox (``resume``): numbered here, written by the resumed session's outbox.

        The writer stops; nothing more is queued here.
        """
        frame = messages.encode_result(self.seq + 1, request_id, result)
        self._next()
        self.detach()
        self._closed = True
        return frame

    def can_replay(self, last_seq: int) -> bool:
        """Whether the frames after ``last_seq`` are all still held (``last_seq`` no newer than the last sent)."""
        return 0 <= last_seq <= self.seq and self.replay.covers(last_seq, self.seq)

    # Producers: all synchronous, all O(1).

    def _text_frame(self, seq: int, data: bytes, barrier: int = 0) -> None:
        if self._closed:
            return
        self.replay.append(seq, data)
        if self._ws is None:
            return  # detached: kept for a resume only
        if self._write_now(data, True):
            return
        self._text.append((data, barrier))
        self._wake.set()
        if self.max_pending and len(self._text) > self.max_pending and not self._overflowed:
            self._overflowed = True
            if self.on_overflow is not None:
                self.on_overflow()

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # Each producer encodes with the next seq before taking it: a frame the encoder refuses
    # (it raises, e.g. data nested past its limit) uses no number, so ``seq`` never skips.

    def hello(self, **fields: Any) -> None:
        frame = messages.encode_hello(self.seq + 1, **fields)
        self._text_frame(self._next(), frame)

    def relayed_hello(self, next_seq: int, **fields: Any) -> None:
        """The hello of a session another cluster node relays here (docs/CLUSTER.md): numbered ``next_seq - 1``,
        written but not kept for replay (the relaying node drops it; the client saw that node's own frames up to
        there), so the session's own frames go on from ``next_seq``."""
        self.seq = next_seq - 1
        frame = messages.encode_hello(self.seq, **fields)
        if self._ws is not None and not self._write_now(frame, True):
            self._text.append((frame, 0))
            self._wake.set()

    def result(self, request_id: str, result: dict[str, Any] | None = None) -> None:
        """A request's success reply (raises, numbering nothing, when ``result`` cannot be encoded)."""
        frame = messages.encode_result(self.seq + 1, request_id, result)
        self._text_frame(self._next(), frame)

    def failure(self, request_id: str | None, error: ProtocolError) -> None:
        frame = messages.encode_failure(self.seq + 1, request_id, error)
        self._text_frame(self._next(), frame)
        self._count_error(error.code.value)

    def event(self, name: str, data: dict[str, Any] | None = None) -> None:
        """An event (raises, numbering nothing, when ``data`` cannot be encoded)."""
        frame = messages.encode_event(self.seq + 1, name, data)
        self._text_frame(self._next(), frame)
        if name == "error" and data is not None:
            self._count_error(str(data.get("code", "internal")))

    def _count_error(self, code: str) -> None:
        self.errors_sent[code] = self.errors_sent.get(code, 0) + 1

    def event_after_media(self, name: str, data: dict[str, Any] | None = None) -> None:
        """An event written only after every media frame queued before it (e.g. track-stopped).

        Text queued after it waits behind it, so ``seq`` order on the wire is kept.
        """
        frame = messages.encode_event(self.seq + 1, name, data)
        self._text_frame(self._next(), frame, self._media_queued_total)

    def error(self, error: ProtocolError) -> None:
        frame = messages.encode_error(self.seq + 1, error)
        self._text_frame(self._next(), frame)
        self._count_error(error.code.value)

    def media(self, frame: bytes) -> None:
        if self._closed:
            return
        if self._ws is None:
            self.media_dropped += 1  # detached: nobody to send it to
            return
        if self._write_now(frame, False):
            self._media_queued_total += 1
            return
        if len(self._media) >= self.media_limit:
            self._media.popleft()
            self.media_dropped += 1
            now = time.monotonic()
            if now - self._dropped_event_at >= MEDIA_DROPPED_INTERVAL_S:
                self._dropped_event_at = now
                self._report_dropped("slow")
        self._media_queued_total += 1
        self._media.append((self._media_queued_total, frame))
        self._wake.set()

    def _report_dropped(self, reason: str) -> None:
        """``media-dropped``: frames dropped since the last report, and in all."""
        dropped, self._dropped_reported = self.media_dropped - self._dropped_reported, self.media_dropped
        self.event("media-dropped", {"dropped": dropped, "total": self.media_dropped, "reason": reason})

    @property
    def media_queued(self) -> int:
        return len(self._media)

    @property
    def text_queued(self) -> int:
        return len(self._text)

    async def _run(self) -> None:
        """Write what is queued while the connection was not writable; idle otherwise (producers write directly)."""
        ws, text, media = self._ws, self._text, self._media
        if ws is None:
            return  # writing failed before the task first ran
        try:
            while True:
                if text or media:
                    if not ws.writable:
                        await ws.wait_writable()
                    if text and not (media and media[0][0] <= text[0][1]):
                        data = text.popleft()[0]
                        if not ws.write_message(data, text=True):
                            return  # the connection is closing: the session learns it from the connection
                        self.text_sent += 1
                        self.text_bytes_sent += len(data)
                    else:
                        _, frame = media.popleft()
                        if not ws.write_message(frame, text=False):
                            return
                        self._count_media(frame)
                elif self._closed:
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except Exception:  # a bug here must not take the session down silently
            log.exception("outbox writer failed")
            await self._close_broken(ws)

    def _write_now(self, data: bytes, text: bool) -> bool:
        """Write straight to the connection when nothing is queued and it takes data; False to queue instead."""
        ws = self._ws
        if ws is None or self._text or self._media or not ws.writable:
            return False
        try:
            written = ws.write_message(data, text=text)
        except Exception:
            log.exception("writing to the connection failed")
            self._ws = None
            asyncio.get_running_loop().create_task(self._close_broken(ws))
            return True  # not queued: nothing more is written to this connection
        if written:
            if text:
                self.text_sent += 1
                self.text_bytes_sent += len(data)
            else:
                self._count_media(data)
        return True

    def _count_media(self, frame: bytes) -> None:
        """One media frame written: counted, as video too when its header's kind byte says so."""
        self.media_sent += 1
        self.media_bytes_sent += len(frame)
        if frame[1] == VIDEO_KIND:
            self.video_sent += 1
            self.video_bytes_sent += len(frame)

    @staticmethod
    async def _close_broken(ws: FrameSink) -> None:
        # Nothing more can be written: a session left open would hang. Close (1011) so the
        # session ends (it leaves its room) and the client reconnects.
        try:
            await ws.close(CloseCode.INTERNAL_ERROR, "internal error writing to this connection; reconnect")
        except Exception:
            log.exception("closing after the outbox writer failed")
