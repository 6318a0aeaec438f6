"""Link: one WebSocket connection serving one session at a time.

The link reads what the client sends, in order, inside the connection's ``data_received``
(no queue, no task switch per frame), and hands it to the session it serves:

- text: decoded, rate-limited (``max_requests_per_second``), validated and admitted, then
  run by the session's :class:`~gateway.session.requests.RequestRunner` (one reply each);
- binary: decoded and published (``Session.publish_audio`` / ``publish_video``);
- a bad message gets its typed error; ``max_consecutive_errors`` of them in a row close the
  connection with 4002 (PROTOCOL.md, "Errors").

A connection opens a fresh session (its hello); a ``resume`` request makes the link serve
the resumed session instead (:meth:`Link.hand_over`) and the fresh one ends. The
link also keeps the connection alive (pings, 4009: ``gateway.net.keepalive``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from websockets.exceptions import ConnectionClosed
from websockets.protocol import Protocol as WebSocketProtocol
from websockets.protocol import State

from protocol import messages
from protocol.constants import CloseCode, MediaKind, OutboundTrack
from protocol.errors import CommandError, ErrorCode, ProtocolError, TooLarge
from protocol.media import AudioFrame, VideoFrame, decode_frame, frame_position
from protocol.schema import validate_request

from .. import logs
from ..handlers import HANDLERS
from ..net.keepalive import idle_watchdog
from .replay import close_of

if TYPE_CHECKING:
    from ..server import Gateway
    from .session import Session

log = logging.getLogger("gateway.session")

VIDEO_KIND = int(MediaKind.VIDEO)
"""Byte 1 of a video frame's header (protocol/media.py): counted apart from audio (``gateway.metrics``)."""


class Connection(Protocol):
    """What a link and its session use of their WebSocket connection (``gateway.net.connection``; tests use stand-ins).

    The outbox writes to it (``writable``, ``write_message``, ``wait_writable``); the link hands it
    its handlers (``serve``); the session closes it and reads how it ended (``protocol``).
    """

    @property
    def state(self) -> State: ...

    @property
    def protocol(self) -> WebSocketProtocol: ...

    @property
    def remote_address(self) -> Any: ...

    @property
    def writable(self) -> bool: ...

    def write_message(self, data: bytes, *, text: bool) -> bool: ...

    on_ping: Callable[[bytes], None] | None

    async def wait_writable(self) -> None: ...

    def serve(self, handler: Callable[[str | bytes], None], on_oversize: Callable[[bool, int, bytes], None]) -> None: ...

    async def wait_closed(self) -> None: ...

    def ping(self) -> Awaitable[Awaitable[Any]]: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class Link:
    """One connection and the session it serves (module docstring)."""

    def __init__(self, gateway: Gateway, ws: Connection, session: Session) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.ws = ws
        self.session = session
        """The session this connection serves: the one it opened, or the one it resumed."""
        self.last_seen = time.monotonic()
        """When the client last sent a message or a pong (``idle_timeout_ms``, ``net.keepalive``)."""
        self._errors_in_row = 0
        self._rate_window = 0.0
        self._rate_count = 0
        self.relay: Callable[[str | bytes], None] | None = None
        """Set on a cluster node while this connection's first placing request is being placed (messages held)
        and once it is relayed to another node (messages copied there): every message goes to it unread."""
        self.relay_oversize: Callable[[bool, int, bytes], None] | None = None
        """Set with ``relay`` once relayed: a frame skipped here over its limit is told to the serving node."""

    async def run(self) -> None:
        """Open the session (hello), serve the connection until it closes, then tell the session it was lost."""
        ws = self.ws
        session = self.session
        session.connect(self)
        logs.serving(self)  # this task's records (and its requests') name the session this link serves
        self.gateway.metrics.connection_opened()
        name = session.admission.name
        log.info("= %s connected from %s%s", session.id[:8], ws.remote_address, f" as {name}" if name else "")
        # The watchdog belongs to the connection: a detached session has nobody to ping.
        watchdog = asyncio.create_task(
            idle_watchdog(self, self.config.idle_timeout_ms, self.config.ping_interval_ms), name="idle"
        )
        try:
            # Messages are handled as they arrive, inside the connection's data_received
            # (gateway.net.connection): no queue and no task switch per frame.
            if session.admission.handover is not None:  # relayed here by another node: its notices count
                ws.on_ping = self.on_relayed_ping
            ws.serve(self.on_message, self.on_oversize)
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            self.gateway.metrics.connection_closed(*close_of(ws))
            await self.session.connection_lost(self)

    def hand_over(self, target: Session, last_seq: int, reply: bytes) -> None:
        """Serve ``target`` from now on (``resume``): ``reply``, the frames after ``last_seq``, live.

        The session this connection opened ends without a word: it never joined, and its
        key's slot is already held by ``target``.
        """
        opened, self.session = self.session, target
        self.gateway.forget(opened)
        opened.discard()
        target.attach(self, last_seq, reply)

    def log_fields(self) -> tuple[str, str | None]:
        """The session this link serves now, and its room (``gateway.logs``)."""
        return self.session.log_fields()

    @property
    def log_id(self) -> str:
        """The session's short id, as the logs name it."""
        return self.session.id[:8]

    async def close(self, code: int, reason: str) -> None:
        """Close the session this link serves (it leaves its room, cause ``disconnected``) and the connection.

        A link no longer serving it (replaced by a resume, or cut off with 4010) closes only its connection.
        """
        if self.session.link is self:
            await self.session.close(code, reason, cause="disconnected")
        else:
            await self.ws.close(code, reason)

    # ------------------------------------------------------------------ incoming, per message

    def on_message(self, message: str | bytes) -> None:
        """One whole message from the client (called by the connection, in order)."""
        self.last_seen = time.monotonic()
        relay = self.relay
        if relay is not None:
            relay(message)
            return
        session = self.session
        if session.link is not self:
            return  # cut off (4010) or replaced (4011): what is still read here is not the session's
        if type(message) is bytes:
            self._on_binary(session, message)
        else:
            self._on_text(session, message)  # type: ignore[arg-type]

    def on_oversize(self, text: bool, length: int, head: bytes) -> None:
        """A frame over its limit that the connection skipped unread (PROTOCOL.md, "Security"): ``too_large``.

        ``head``: the frame's first payload bytes, enough to quote a binary frame's track and seq (10.3).
        """
        self.last_seen = time.monotonic()
        relay_oversize = self.relay_oversize
        if relay_oversize is not None:
            relay_oversize(text, length, head)
            return
        session = self.session
        if session.link is not self:
            return
        if text:
            limit = self.config.max_message_bytes
            self._protocol_error(session, TooLarge(f"text frame of {length} bytes exceeds max_message_bytes {limit}"))
            return
        session.frames_in += 1
        session.bytes_in += length
        if len(head) > 1 and head[1] == VIDEO_KIND:
            session.video_in += 1
            session.video_bytes_in += length
        limit = self.config.max_frame_bytes
        self._protocol_error(
            session,
            TooLarge(f"binary frame of {length} bytes exceeds max_frame_bytes {limit}", details=frame_position(head)),
        )

    def on_relayed_ping(self, payload: bytes) -> None:
        """A ping from the node relaying this client: a frame it skipped (over its limit) is answered here."""
        from ..cluster.bridge import read_oversize_notice

        notice = read_oversize_notice(payload)
        if notice is not None:
            self.on_oversize(*notice)

    def _on_text(self, session: Session, data: str) -> None:
        session.text_in += 1
        session.text_bytes_in += len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
        try:
            request = messages.decode_request(data, max_bytes=self.config.max_message_bytes)
        except ProtocolError as exc:
            self._protocol_error(session, exc)
            return
        try:
            # Records of the request, and of the task it runs in, carry its id (gateway.logs).
            logs.run_for_request(self, request.id, self._dispatch, session, request, data)
        except Exception as exc:  # a bug between reading a request and running it: still its one reply
            session.requests.failed(request.type, request.id, exc)

    def _dispatch(self, session: Session, request: messages.Request, data: str) -> None:
        """Validate, admit and start one decoded request; every path ends in exactly one reply."""
        if self._rate_limited():
            self.gateway.metrics.request_done(request.type, False, None)
            self._protocol_error(
                session,
                CommandError(
                    ErrorCode.RATE_LIMITED,
                    f"more than {self.config.max_requests_per_second} requests per second",
                    request_id=request.id,
                ),
            )
            return
        entry = HANDLERS.get(request.type)
        try:
            params = validate_request(request, limits=self.config.limits())
            if entry is None:
                raise CommandError(ErrorCode.NOT_SUPPORTED, f"{request.type} is not implemented by this gateway")
        except ProtocolError as exc:
            exc.request_id = request.id
            self.gateway.metrics.request_done(request.type, False, None)
            self._protocol_error(session, exc)
            return
        self._errors_in_row = 0
        session.requests.count += 1
        log.debug("< %s %s %s", session.id[:8], request.type, request.id)
        try:
            self.gateway.gatekeeper.check_request(session, request.type, params)  # a reply, not a protocol error
        except ProtocolError as exc:
            session.requests.failed(request.type, request.id, exc)
            return
        cluster = self.gateway.cluster
        if cluster is not None and cluster.places(session, request.type):
            # A cluster node: where this session is served is decided first (docs/CLUSTER.md); meanwhile
            # what the client sends next is held, in order, for whichever node serves it.
            held: list[str | bytes] = []
            self.relay = held.append
            session.requests.spawn(cluster.place(self, entry, request.id, params, data, held), "placement")
            return
        session.requests.start(entry, request.id, params)

    def resume_serving(self, held: list[str | bytes]) -> None:
        """The placement kept the session here: read the messages held meanwhile, in order, as if just received."""
        self.relay = None
        for message in held:
            if self.relay is not None:  # one of them was placed in turn (a second join is refused, not placed)
                self.relay(message)
            else:
                self.on_message(message)

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        if now - self._rate_window >= 1.0:
            self._rate_window, self._rate_count = now, 0
        self._rate_count += 1
        return self._rate_count > self.config.max_requests_per_second

    def _on_binary(self, session: Session, data: bytes) -> None:
        session.frames_in += 1
        session.bytes_in += len(data)
        if len(data) > 1 and data[1] == VIDEO_KIND:
            session.video_in += 1
            session.video_bytes_in += len(data)
        try:
            if len(data) > self.config.max_frame_bytes:
                raise TooLarge(
                    f"binary frame of {len(data)} bytes exceeds max_frame_bytes {self.config.max_frame_bytes}",
                    details=frame_position(data),
                )
            frame = decode_frame(data)
            if frame.track not in OutboundTrack._value2member_map_:
                raise CommandError(
                    ErrorCode.UNKNOWN_TRACK,
                    f"track {frame.track} is not a publishing track (1 = microphone, 2 = camera, 3 = screenVideo, 4 = screenAudio)",
                    details={"track": frame.track, "seq": frame.seq},
                )
            if isinstance(frame, AudioFrame) and frame.track == OutboundTrack.MICROPHONE:
                session.publish_audio(frame)
            elif isinstance(frame, VideoFrame) and frame.track in (OutboundTrack.CAMERA, OutboundTrack.SCREEN_VIDEO):
                session.publish_video(frame)
            else:
                raise CommandError(
                    ErrorCode.NOT_SUPPORTED,
                    f"publishing {MediaKind(2 if not isinstance(frame, AudioFrame) else 1).name.lower()} "
                    f"on track {frame.track} is not supported (audio on 1, video on 2 and 3)",
                    details={"track": frame.track, "seq": frame.seq},
                )
        except ProtocolError as exc:
            self._protocol_error(session, exc)
            return
        self._errors_in_row = 0

    def _protocol_error(self, session: Session, exc: ProtocolError) -> None:
        """Answer a bad message; close with 4002 after too many in a row (that last error is ``fatal``)."""
        self._errors_in_row += 1
        closing = self._errors_in_row >= self.config.max_consecutive_errors
        exc.fatal = exc.fatal or closing
        if exc.request_id is not None:
            session.outbox.failure(exc.request_id, exc)
        else:
            session.outbox.error(exc)
        if closing and self._errors_in_row == self.config.max_consecutive_errors:
            log.warning("= %s closed after %d protocol errors in a row", session.id[:8], self._errors_in_row)
            session.requests.spawn_quietly(
                session.close(CloseCode.PROTOCOL_VIOLATION, "too many protocol errors in a row", cause="disconnected")
            )
