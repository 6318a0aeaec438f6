"""A session's outgoing path: sequence numbers, ordering and a bounded media queue.

Text frames (hello, replies, events, errors) get ``seq`` here, in the order they are
queued, and are always written before queued media: a ``track-started`` therefore
reaches the client before that track's first frame. Media is bounded: when a slow
client lets it pile up past ``media_limit`` frames, the oldest frames are dropped
and counted (PROTOCOL.md, "Slow clients"). Producers never block.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from protocol import messages
from protocol.errors import ProtocolError

log = logging.getLogger("gateway.outbox")


class Outbox:
    """Queues and writes everything a session sends; one writer task per connection."""

    def __init__(self, ws: ServerConnection, *, media_limit: int = 100) -> None:
        self._ws = ws
        # Text items carry a barrier: the number of media frames queued before
        # them that must be written first (0 = none). Media items carry their index.
        self._text: collections.deque[tuple[bytes, int]] = collections.deque()
        self._media: collections.deque[tuple[int, bytes]] = collections.deque()
        self._media_queued_total = 0
        self.media_limit = media_limit
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.seq = 0
        """Sequence number of the last text frame queued."""
        self.text_sent = 0
        self.media_sent = 0
        self.media_bytes_sent = 0
        self.media_dropped = 0

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

    # Producers: all synchronous, all O(1).

    def _text_frame(self, data: bytes, barrier: int = 0) -> None:
        if self._closed:
            return
        self._text.append((data, barrier))
        self._wake.set()

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def hello(self, **fields: Any) -> None:
        self._text_frame(messages.encode_hello(self._next(), **fields))

    def result(self, request_id: str, result: dict[str, Any] | None = None) -> None:
        self._text_frame(messages.encode_result(self._next(), request_id, result))

    def failure(self, request_id: str | None, error: ProtocolError) -> None:
        self._text_frame(messages.encode_failure(self._next(), request_id, error))

    def event(self, name: str, data: dict[str, Any] | None = None) -> None:
        self._text_frame(messages.encode_event(self._next(), name, data))

    def event_after_media(self, name: str, data: dict[str, Any] | None = None) -> None:
        """An event written only after every media frame queued before it (e.g. track-stopped).

        Text queued after it waits behind it, so ``seq`` order on the wire is kept.
        """
        self._text_frame(messages.encode_event(self._next(), name, data), self._media_queued_total)

    def error(self, error: ProtocolError) -> None:
        self._text_frame(messages.encode_error(self._next(), error))

    def media(self, frame: bytes) -> None:
        if self._closed:
            return
        if len(self._media) >= self.media_limit:
            self._media.popleft()
            self.media_dropped += 1
        self._media_queued_total += 1
        self._media.append((self._media_queued_total, frame))
        self._wake.set()

    @property
    def media_queued(self) -> int:
        return len(self._media)

    async def _run(self) -> None:
        ws, text, media = self._ws, self._text, self._media
        try:
            while True:
                if text and not (media and media[0][0] <= text[0][1]):
                    await ws.send(text.popleft()[0], text=True)
                    self.text_sent += 1
                elif media:
                    _, frame = media.popleft()
                    await ws.send(frame)
                    self.media_sent += 1
                    self.media_bytes_sent += len(frame)
                elif self._closed:
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        except ConnectionClosed:
            pass
        except Exception:  # a bug here must not take the session down silently
            log.exception("outbox writer failed")
