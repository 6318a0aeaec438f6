"""One WebSocket connection: websockets' sans-I/O protocol pumped by an asyncio protocol, with a fast path for whole frames.

websockets' :class:`~websockets.server.ServerProtocol` (its public sans-I/O API:
``receive_data``, ``events_received``, ``data_to_send``, ``send_response``, ``send_close``,
``send_ping``, ``fail``, ``close_expected``) does what it does well: the opening handshake,
control frames, the closing handshake, fragmented and malformed input, limits. This class
owns the I/O around it, as websockets' own asyncio connection does, plus two fast paths for
the common case of a media relay (bench/README.md, "The connection"):

- **Receiving:** once the connection is served, whole unfragmented text and binary frames are
  parsed here and passed synchronously, in arrival order, to the handler set with
  :meth:`GatewayConnection.serve`. Every other frame (ping, pong, close, a fragment, a frame
  with reserved bits, an oversize or unmasked frame) is fed whole to the protocol, which
  answers it as it always does; fragmented messages are reassembled here from its events,
  so order is kept. The protocol only ever receives the request head and then whole frames,
  so its parser always waits at a frame boundary when this one parses. After a close sent
  here, frames still go whole to the protocol (it waits for the peer's close); once the
  protocol discards what arrives (the connection failed, or the peer's close came), so does
  this class.
- **Sending:** :meth:`GatewayConnection.write_message` writes one whole message to the
  transport synchronously when the connection is open; :attr:`~GatewayConnection.writable`
  says whether the transport's buffer is below its high-water mark, and
  :meth:`~GatewayConnection.wait_writable` waits until it is (the session's outbox queues in
  between).

Both paths are byte-for-byte RFC 6455: tests/unit/test_connection.py compares them with
websockets' own client.

Hostile input (PROTOCOL.md 15):

- **Before the upgrade** the request head goes through :class:`gateway.net.handshake.RequestScreen`
  first: what websockets would drop silently (another method, a body, a pipelined request,
  frames sent before the 101) gets a 4xx response.
- **Before it is served** (the gateway admits a connection, then calls :meth:`~GatewayConnection.serve`)
  nothing is read past the handshake: one read is kept unparsed, and reading pauses. A refused
  connection is failed with :meth:`~GatewayConnection.deny` and what it sent is never parsed.
- **Oversize frames** (over ``max_text_bytes`` / ``max_binary_bytes``) are skipped as their bytes
  arrive, never held, and reported to the ``on_oversize`` handler with their first payload bytes.
- **What a connection holds** unread (a partial frame, fragments, the read kept before serving)
  is reported to its :class:`ConnectionOwner` (``holding``), which checks it against the receive
  budget (``gateway.net.budget``) and may :meth:`~GatewayConnection.refuse` the connection (1009, 1013).
  A lost connection frees all of it at once.

What happens around a connection (the handshake's policy, the handler task, budgets) is its
:class:`ConnectionOwner`'s: ``gateway.net.listener``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, cast

import websockets.frames
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from protocol.constants import CloseCode

from .budget import UNBOUNDED, ConnectionBudget
from .handshake import Rejected, RequestScreen

log = logging.getLogger("gateway.connection")

Handler = Callable[[str | bytes], None]
OversizeHandler = Callable[[bool, int, bytes], None]
"""Told of each frame skipped unread for its size: (text, length in bytes, its first payload bytes).

The first :data:`SKIPPED_HEAD_BYTES` bytes of the payload (unmasked) are all that is kept, so
that an error about a binary frame can still quote its header's track and seq (PROTOCOL.md 10.3)."""

SKIPPED_HEAD_BYTES: Final = 28
"""Payload bytes kept of a frame skipped for its size: a media frame's header (protocol.media.HEADER_SIZE)."""
WRITE_LIMIT: Final = 2**15
"""The transport's high-water mark in bytes (low: a quarter), as websockets' default ``write_limit``."""

_OPEN: Final = State.OPEN
_CONNECTING: Final = State.CONNECTING
_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_PONG: Final = Opcode.PONG
_PING: Final = Opcode.PING
_HEADER_16: Final = struct.Struct("!BBH")
_HEADER_64: Final = struct.Struct("!BBQ")


def unmask(data: bytes | memoryview, mask: bytes) -> bytes:
    """``data`` XORed with the 4-byte ``mask`` repeated (RFC 6455 5.3), as one big-integer XOR."""
    n = len(data)
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


APPLY_MASK: Final[Callable[[bytes | memoryview, bytes], bytes]] = getattr(websockets.frames, "apply_mask", unmask)
"""Unmasking as websockets' own parser does it: its C speedup, 0.2 us for a 668-byte frame against 3 us for
:func:`unmask` (bench/README.md, "The connection"). The one name used here that websockets does not document;
a function, not state, checked against :func:`unmask` by the tests, and :func:`unmask` stands in if it moves."""


def frame_header(length: int, *, text: bool) -> bytes:
    """The header of an unmasked, unfragmented server frame of ``length`` payload bytes (RFC 6455 5.2)."""
    first = 0x81 if text else 0x82
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return _HEADER_16.pack(first, 126, length)
    return _HEADER_64.pack(first, 127, length)


class ConnectionOwner(Protocol):
    """What a connection asks of whoever accepted it (``gateway.net.listener.Listener``)."""

    def respond(self, connection: GatewayConnection, request: Request) -> Response | Awaitable[Response]:
        """The response to the opening handshake's ``request``: 101 to open, anything else to refuse.

        An awaitable is an HTTP answer that needs I/O (a file read off the event loop): the
        connection reads nothing more until it is sent."""
        ...

    def opened(self, connection: GatewayConnection) -> None:
        """The handshake completed: start serving ``connection``."""
        ...

    def holding(self, connection: GatewayConnection, size: int) -> None:
        """``connection`` now holds ``size`` bytes received and not handled yet (0: none, also once it is lost).

        Partial frames, the fragments of a message, the read kept before it is served. Called
        when the amount changes; the owner may :meth:`GatewayConnection.refuse` a connection
        over a budget.
        """
        ...


class GatewayConnection(asyncio.Protocol):
    """A server WebSocket connection with synchronous message delivery and frame writing (module docstring)."""

    def __init__(
        self,
        protocol: ServerProtocol,
        owner: ConnectionOwner,
        *,
        max_size: int | None = 2**20,
        max_text_bytes: int = 0,
        max_binary_bytes: int = 0,
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        write_limit: int = WRITE_LIMIT,
        account: ConnectionBudget | None = None,
    ) -> None:
        self.protocol = protocol
        """websockets' sans-I/O state machine for this connection (``close_sent``, ``close_rcvd``... are public)."""
        self.owner = owner
        self.max_size = max_size
        """Largest message in bytes (None: no limit); the same as the protocol's. A frame over it closes 1009."""
        self.max_text_bytes = max_text_bytes
        """Text frames longer than this are skipped unread and reported to ``on_oversize`` (0: no such limit)."""
        self.max_binary_bytes = max_binary_bytes
        """Binary frames longer than this are skipped unread and reported to ``on_oversize`` (0: no such limit)."""
        self.open_timeout = open_timeout
        """Seconds from TCP accept to an open WebSocket, else the connection is aborted (None: no limit)."""
        self.close_timeout = close_timeout
        """Seconds for the peer to close TCP once a close is under way, else it is aborted (None: wait)."""
        self.write_limit = write_limit
        self.account: ConnectionBudget = account if account is not None else UNBOUNDED.account()
        """This connection's share of its owner's receive budget: the owner checks ``holding`` against it."""
        self.request: Request | None = None
        """The opening handshake's request, once received."""
        self.response: Response | None = None
        """The response sent to it."""
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport
        self._open = False
        """Mirror of ``protocol.state is OPEN``, updated after every call into the protocol."""
        self._closing = False
        """This side sent a close frame while open (close()): the protocol still reads, for the peer's close."""
        self._closed: asyncio.Future[None] = self.loop.create_future()
        """Done when the TCP connection is lost."""
        self._screen: RequestScreen | None = RequestScreen()
        """Collects and checks the request head; None once a request was refused by it."""
        self._handler: Handler | None = None
        self._on_oversize: OversizeHandler | None = None
        self._waiting = b""
        """What was read after the upgrade, before :meth:`serve`; not parsed until then."""
        self._reading_paused = False
        self.on_ping: Callable[[bytes], None] | None = None
        """Told each ping's payload (after the protocol answered it): a cluster node's notices (cluster.bridge)."""
        self._answering: asyncio.Task[None] | None = None
        """An HTTP answer being prepared (:meth:`ConnectionOwner.respond` gave an awaitable); held so it is not collected."""
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._fragment_text = False
        self._fragmented = False
        """A fragmented message is under way (its frames go to the protocol)."""
        self._held = bytearray()
        """Bytes of an incomplete frame, while parsing here."""
        self._needed = 0
        """How many bytes the frame held needs (at least), counted from its first byte."""
        self._skip = 0
        """Bytes of an oversize frame still to drop as they arrive."""
        self._skip_text = False
        self._skip_length = 0
        self._skip_prefix = bytearray()
        """The skipped frame's masking key and first payload bytes, as they arrive (4 + SKIPPED_HEAD_BYTES at most)."""
        self._holding = 0
        """What the owner was last told this connection holds."""
        self._paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}
        self._open_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ what callers read

    @property
    def state(self) -> State:
        """The WebSocket state (CONNECTING, OPEN, CLOSING, CLOSED)."""
        return self.protocol.state

    @property
    def subprotocol(self) -> Subprotocol | None:
        """The subprotocol the handshake selected."""
        return self.protocol.subprotocol

    @property
    def remote_address(self) -> object:
        """The peer's address, as the socket gives it."""
        return self.transport.get_extra_info("peername")

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        transport.set_write_buffer_limits(self.write_limit, self.write_limit // 4)
        if self.open_timeout is not None:
            self._open_timer = self.loop.call_later(self.open_timeout, self._open_timed_out)

    def data_received(self, data: bytes) -> None:
        if not self._open:
            if self.protocol.state is _CONNECTING:
                self._handshake_data(data)
                return
            if not self._closing or self.protocol.close_rcvd is not None:
                return  # failed, denied or closed by the peer: the protocol discards what arrives, so do we
            # Closing from this side: frames still go whole to the protocol, which waits for the peer's close.
        elif self._handler is None:
            self._keep_unread(data)
            return
        if self._skip:
            data = self._skip_data(data)
            if not data:
                return
        held = self._held
        if held:
            held += data
            if len(held) < self._needed:
                if len(held) + self._fragment_bytes != self._holding:
                    self._report_holding()
                return  # the frame held is still incomplete: no copy, no parse
            buffer = bytes(held)
            held.clear()
        else:
            buffer = data
        end = len(buffer)
        pos = 0
        max_size = self.max_size
        while True:
            if end - pos < 2:
                self._needed = 2
                break
            first = buffer[pos]
            second = buffer[pos + 1]
            length = second & 0x7F
            start = pos + 2
            if length == 126:
                if end - start < 2:
                    self._needed = 4
                    break
                length = (buffer[start] << 8) | buffer[start + 1]
                start += 2
            elif length == 127:
                if end - start < 8:
                    self._needed = 10
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            if not second & 0x80 or first & 0x70 or (max_size is not None and length > max_size):
                # Unmasked, reserved bits or too big: the protocol fails the connection with the right code.
                self._to_protocol(buffer[pos:])
                pos = end
                break
            stop = start + 4 + length
            opcode = first & 0x0F
            whole = (first & 0x80) != 0 and (opcode == 1 or opcode == 2) and not self._fragmented
            if whole:
                limit = self.max_text_bytes if opcode == 1 else self.max_binary_bytes
                if length > limit > 0:
                    # Over its limit (PROTOCOL.md 15.3): dropped as it arrives, never held; too_large.
                    self._skip_text = opcode == 1
                    self._skip_length = length
                    self._skip_prefix = bytearray(buffer[start : min(stop, end, start + 4 + SKIPPED_HEAD_BYTES)])
                    if stop > end:
                        self._skip = stop - end
                        pos = end
                        break
                    pos = stop
                    self._skipped()
                    if self._discarding():
                        pos = end
                        break
                    continue
            if stop > end:
                self._needed = stop - pos
                break
            if whole and self._open:
                if buffer[start] | buffer[start + 1] | buffer[start + 2] | buffer[start + 3]:
                    payload = APPLY_MASK(buffer[start + 4 : stop], buffer[start : start + 4])
                else:
                    payload = buffer[start + 4 : stop]  # a zero mask (RFC 6455 allows it) changes nothing
                pos = stop
                if opcode == 1:
                    try:
                        self._deliver(payload.decode())
                    except UnicodeDecodeError as exc:
                        self.fail(CloseCode.INVALID_DATA, f"invalid UTF-8 at position {exc.start}")
                else:
                    self._deliver(payload)
            else:
                # A control frame, a fragment, or any frame while closing: the protocol handles it.
                self._to_protocol(buffer[pos:stop])
                pos = stop
            if not self._open and self._discarding():
                pos = end
                break
        if pos < end and not self._discarding():
            held += buffer[pos:] if pos else buffer
        if len(held) + self._fragment_bytes != self._holding:
            self._report_holding()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._after_protocol()
        return None  # the transport closes: the WebSocket has its own closing handshake, nothing follows EOF

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()  # idempotent: the protocol's state is CLOSED after it
        self._open = False
        # Free what was held now (the connection object itself may live on until a cycle collection).
        self._free()
        self._handler = None
        self._on_oversize = None
        self._account()
        for timer in (self._open_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._open_timer = self._close_timer = None
        if self._pings:
            closed = self.protocol.close_exc
            for waiter, _ in self._pings.values():
                if not waiter.done():
                    waiter.set_exception(closed)
                waiter.cancel()  # retrieved or not, an exception of a ping nobody awaits is not logged
            self._pings.clear()
        self._wake_writers()
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_writers()

    # ------------------------------------------------------------------ admission

    def serve(self, handler: Handler, on_oversize: OversizeHandler | None = None) -> None:
        """Start reading: deliver every message to ``handler`` from now on, and skipped frames to ``on_oversize``.

        Nothing past the handshake is read before this is called (the gateway calls it once the
        connection is admitted). ``handler`` runs inside the transport's ``data_received``: it
        must not block, and an exception in it fails the connection with 1011 (it is logged).
        """
        self._handler = handler
        self._on_oversize = on_oversize
        waiting, self._waiting = self._waiting, b""
        self._resume_reading()
        if waiting:
            self.data_received(waiting)

    def deny(self, code: int, reason: str) -> None:
        """Refuse a connection before serving it: a close frame, then the TCP connection closes; nothing it sent is parsed."""
        self._waiting = b""
        self.fail(code, reason)  # what arrives from now on is discarded, until the peer goes
        self._resume_reading()
        self._account()

    def refuse(self, code: int, reason: str) -> None:
        """Over the receive budget: let go of everything held, and fail the connection with ``code`` (1009, 1013)."""
        self._free()
        if self._open:
            self.fail(code, reason)
        elif self.protocol.state is not _CONNECTING:
            self.transport.abort()  # closing already: no close frame to send
        self._resume_reading()
        self._account()

    def _keep_unread(self, data: bytes) -> None:
        """Upgraded, not served yet: keep this read unparsed, read no more until serve() or deny()."""
        self._waiting += data
        if not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._account()

    def _resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    # ------------------------------------------------------------------ receiving

    def _handshake_data(self, data: bytes) -> None:
        """Screen the request head, feed it to the protocol, respond through the owner."""
        screen = self._screen
        if screen is None or screen.passed:
            return  # refused, or answered with other than 101 (or not at all): the transport is closing
        try:
            head = screen.feed(data)
        except Rejected as exc:
            log.warning("= refused HTTP request from %s: %d %s", self.remote_address, exc.status.value, exc.message)
            self._screen = None
            self.transport.write(exc.response())
            self.transport.close()
            return
        if head is None:
            return
        protocol = self.protocol
        protocol.receive_data(head)
        for event in protocol.events_received():
            if isinstance(event, Request):
                self.request = event
                answer = self.owner.respond(self, event)
                if not isinstance(answer, Response):
                    if not self._reading_paused:
                        self._reading_paused = True
                        self.transport.pause_reading()
                    self._answering = self.loop.create_task(self._respond_later(answer))
                    return
                self.response = answer
                protocol.send_response(answer)
        self._handshake_done()

    async def _respond_later(self, answer: Awaitable[Response]) -> None:
        """Send an HTTP answer that needed I/O (:meth:`ConnectionOwner.respond`), unless the peer left meanwhile."""
        try:
            response = await answer
        except Exception:
            log.exception("= HTTP answer to %s failed", self.remote_address)
            response = self.protocol.reject(500, "Internal server error.\n")
        self._answering = None
        if self.transport.is_closing():
            return
        self.response = response
        self.protocol.send_response(response)
        self._resume_reading()
        self._handshake_done()

    def _handshake_done(self) -> None:
        self._after_protocol()
        if self._open:
            if self._open_timer is not None:
                self._open_timer.cancel()
                self._open_timer = None
            self.owner.opened(self)

    def _discarding(self) -> bool:
        """Whether what arrives is dropped: the connection is not open and the protocol no longer reads frames."""
        return not self._open and (not self._closing or self.protocol.close_rcvd is not None)

    def _to_protocol(self, data: bytes) -> None:
        """Feed whole frames (or a frame that fails the connection) to the protocol and act on what it says."""
        protocol = self.protocol
        if data:
            protocol.receive_data(data)
        events = protocol.events_received()
        self._after_protocol()
        for event in events:
            if isinstance(event, Frame):
                self._on_frame(event)

    def _on_frame(self, frame: Frame) -> None:
        """A frame the protocol parsed: data frames reassembled and delivered in order, pongs acknowledged."""
        opcode = frame.opcode
        if opcode is _TEXT or opcode is _BINARY:
            self._fragment_text = opcode is _TEXT
            self._fragments = [bytes(frame.data)]
            self._fragment_bytes = len(frame.data)
        elif opcode is _CONT:
            self._fragments.append(bytes(frame.data))
            self._fragment_bytes += len(frame.data)
        else:
            if opcode is _PONG:
                self._acknowledge_pings(bytes(frame.data))
            elif opcode is _PING and self.on_ping is not None:
                self.on_ping(bytes(frame.data))
            return  # a ping was answered by the protocol; a close moved its state
        self._fragmented = not frame.fin
        if self._fragmented:
            return
        data = b"".join(self._fragments)
        self._fragments = []
        self._fragment_bytes = 0
        if self._fragment_text:
            try:
                self._deliver(data.decode())
            except UnicodeDecodeError as exc:
                self.fail(CloseCode.INVALID_DATA, f"invalid UTF-8 at position {exc.start}")
        else:
            self._deliver(data)

    def _deliver(self, message: str | bytes) -> None:
        handler = self._handler
        if handler is None:
            return  # closing before it was served: nobody reads messages any more
        try:
            handler(message)
        except Exception:
            log.exception("handling a message failed; closing the connection")
            self.fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _skip_data(self, data: bytes) -> bytes:
        """Drop the oversize frame's bytes in ``data`` (keeping its head); what follows the frame, if anything."""
        wanted = 4 + SKIPPED_HEAD_BYTES - len(self._skip_prefix)
        if wanted > 0:
            self._skip_prefix += data[:wanted]
        skip = self._skip
        if len(data) < skip:
            self._skip = skip - len(data)
            return b""
        self._skip = 0
        self._skipped()
        if self._discarding():
            return b""
        return data[skip:]

    def _skipped(self) -> None:
        """The oversize frame just skipped is over: tell the handler (it answers too_large)."""
        handler = self._on_oversize
        prefix, self._skip_prefix = self._skip_prefix, bytearray()
        if handler is None or not self._open:
            return
        head = APPLY_MASK(bytes(prefix[4:]), bytes(prefix[:4])) if len(prefix) > 4 else b""
        try:
            handler(self._skip_text, self._skip_length, head)
        except Exception:
            log.exception("handling an oversize frame failed; closing the connection")
            self.fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _report_holding(self) -> None:
        self._holding = size = len(self._held) + self._fragment_bytes + len(self._waiting)
        self.owner.holding(self, size)

    def _account(self) -> None:
        """Tell the owner what this connection holds, if that changed."""
        if len(self._held) + self._fragment_bytes + len(self._waiting) != self._holding:
            self._report_holding()

    def _free(self) -> None:
        """Let go of every byte received and not handled (partial frame, fragments, the unread read, a skip)."""
        self._held = bytearray()
        self._fragments = []
        self._fragment_bytes = 0
        self._waiting = b""
        self._skip = 0
        self._skip_prefix = bytearray()

    # ------------------------------------------------------------------ sending

    @property
    def writable(self) -> bool:
        """Open, and the transport's buffer below its high-water mark: :meth:`write_message` sends now."""
        return self._open and not self._paused

    def write_message(self, data: bytes, *, text: bool) -> bool:
        """Write one whole message now (UTF-8 ``data`` when ``text``); False when the connection is not open.

        Does not wait for the buffer to drain: callers check :attr:`writable` and queue
        otherwise, so memory stays bounded by the transport's high-water mark plus one message.
        """
        if not self._open:
            return False
        self.transport.write(frame_header(len(data), text=text) + data)
        return True

    async def wait_writable(self) -> None:
        """Wait until the transport's buffer drains below its low-water mark (or the connection is lost)."""
        if not self._paused or self._closed.done():
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._drain_waiters.remove(waiter)

    def _wake_writers(self) -> None:
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def ping(self) -> asyncio.Future[float]:
        """Send a ping; the future returned gets the round trip in seconds when its pong (or a later one) arrives.

        Does not wait for the transport's buffer to drain, so a keep-alive keeps its
        schedule with a peer that stopped reading.

        Raises:
            websockets.exceptions.ConnectionClosed: the connection is closing or closed (raised once it is closed).
        """
        if not self._open:
            await self.wait_closed()
            raise self.protocol.close_exc
        data = os.urandom(4)
        while data in self._pings:
            data = os.urandom(4)
        waiter: asyncio.Future[float] = self.loop.create_future()
        self._pings[data] = (waiter, self.loop.time())
        self.protocol.send_ping(data)
        self._after_protocol()
        return waiter

    def _acknowledge_pings(self, data: bytes) -> None:
        """A pong answers its ping and every ping sent before it (RFC 6455 5.5.3 allows answering only the last)."""
        if data not in self._pings:
            return  # unsolicited
        now = self.loop.time()
        for key in list(self._pings):
            waiter, sent_at = self._pings.pop(key)
            if not waiter.done():
                waiter.set_result(now - sent_at)
            if key == data:
                break

    # ------------------------------------------------------------------ closing

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake (if open) and wait until the TCP connection is closed.

        The wait is bounded by ``close_timeout``: a peer that does not close is aborted. A
        connection not served yet reads again, to see the peer's close.
        """
        state = self.protocol.state
        if state is _OPEN:
            self._closing = True
            self.protocol.send_close(code, reason)
            self._after_protocol()
            waiting, self._waiting = self._waiting, b""
            self._resume_reading()
            if waiting:
                self.data_received(waiting)
            else:
                self._account()
        elif state is _CONNECTING:
            self.transport.abort()
        await self.wait_closed()

    def fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): a close frame, then TCP is closed without waiting for the peer's."""
        if self._open:
            self.protocol.fail(code, reason)
            self._after_protocol()

    async def wait_closed(self) -> None:
        """Wait until the TCP connection is closed."""
        await asyncio.shield(self._closed)

    def _after_protocol(self) -> None:
        """Write what the protocol has to send, and follow its state (every call into it ends here)."""
        protocol = self.protocol
        transport = self.transport
        for data in protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                try:
                    transport.write_eof()  # half-close; the peer closes its side
                except (OSError, RuntimeError):
                    pass
            else:
                transport.close()  # TLS cannot half-close
        self._open = protocol.state is _OPEN
        if not self._open and self._close_timer is None and self.close_timeout is not None \
                and protocol.close_expected():
            self._close_timer = self.loop.call_later(self.close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self._close_timer = None
        if not self._closed.done():
            log.info("= peer %s did not close within %g s: aborting", self.remote_address, self.close_timeout)
            self.transport.abort()

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self.protocol.state is _CONNECTING:
            self.transport.abort()
