"""One WebSocket connection: websockets' sans-I/O protocol pumped by an asyncio protocol, with a fast path for whole frames.

websockets' :class:`~websockets.server.ServerProtocol` (its public sans-I/O API:
``receive_data``, ``events_received``, ``data_to_send``, ``send_response``, ``send_close``,
``send_ping``, ``fail``, ``close_expected``) does what it does well: the opening handshake,
control frames, the closing handshake, fragmented and malformed input, limits. This class
owns the I/O around it, as websockets' own asyncio connection does, plus two fast paths for
the common case of a media relay (bench/README.md, "The connection"):

- **Receiving:** once the connection is open, whole unfragmented text and binary frames are
  parsed here and passed synchronously, in arrival order, to the handler set with
  :meth:`GatewayConnection.serve`. Every other frame (ping, pong, close, a fragment, a frame
  with reserved bits, an oversize or unmasked frame) is fed whole to the protocol, which
  answers it as it always does; fragmented messages are reassembled here from its events,
  so order is kept. The protocol only ever receives the request head and then whole frames,
  so its parser always waits at a frame boundary when this one parses. After a close,
  everything goes to the protocol.
- **Sending:** :meth:`GatewayConnection.write_message` writes one whole message to the
  transport synchronously when the connection is open; :attr:`~GatewayConnection.writable`
  says whether the transport's buffer is below its high-water mark, and
  :meth:`~GatewayConnection.wait_writable` waits until it is (the session's outbox queues in
  between).

Both paths are byte-for-byte RFC 6455: tests/unit/test_connection.py compares them with
websockets' own client. What happens around a connection (the handshake's policy, the
handler task, budgets) is its :class:`ConnectionOwner`'s: ``gateway.net.listener``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections.abc import Callable
from typing import Final, Protocol, cast

import websockets.frames
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from protocol.constants import CloseCode

log = logging.getLogger("gateway.connection")

Handler = Callable[[str | bytes], None]

EARLY_MESSAGES_PAUSE: Final = 64
"""Messages held before a handler is set (client sent before its session started) past which reading pauses."""
WRITE_LIMIT: Final = 2**15
"""The transport's high-water mark in bytes (low: a quarter), as websockets' default ``write_limit``."""

_OPEN: Final = State.OPEN
_CONNECTING: Final = State.CONNECTING
_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_PONG: Final = Opcode.PONG
_HEAD_END: Final = b"\r\n\r\n"
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

    def respond(self, connection: GatewayConnection, request: Request) -> Response:
        """The response to the opening handshake's ``request``: 101 to open, anything else to refuse."""
        ...

    def opened(self, connection: GatewayConnection) -> None:
        """The handshake completed: start serving ``connection``."""
        ...

    def holding(self, connection: GatewayConnection, size: int) -> None:
        """``connection`` now holds ``size`` bytes of incomplete messages (partial frames, fragments; 0: none).

        Called when the amount changes; the owner may :meth:`GatewayConnection.fail` a
        connection (or all) over a budget.
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
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        write_limit: int = WRITE_LIMIT,
    ) -> None:
        self.protocol = protocol
        """websockets' sans-I/O state machine for this connection (``close_sent``, ``close_rcvd``... are public)."""
        self.owner = owner
        self.max_size = max_size
        """Largest message in bytes (None: no limit); the same as the protocol's."""
        self.open_timeout = open_timeout
        """Seconds from TCP accept to an open WebSocket, else the connection is aborted (None: no limit)."""
        self.close_timeout = close_timeout
        """Seconds for the peer to close TCP once a close is under way, else it is aborted (None: wait)."""
        self.write_limit = write_limit
        self.request: Request | None = None
        """The opening handshake's request, once received."""
        self.response: Response | None = None
        """The response sent to it."""
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport
        self._open = False
        """Mirror of ``protocol.state is OPEN``, updated after every call into the protocol."""
        self._closed: asyncio.Future[None] = self.loop.create_future()
        """Done when the TCP connection is lost."""
        self._handler: Handler | None = None
        self._early: list[str | bytes] = []
        self._early_paused = False
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._fragment_text = False
        self._fragmented = False
        """A fragmented message is under way (its frames go to the protocol)."""
        self._held = bytearray()
        """Bytes of an incomplete frame, while parsing here."""
        self._needed = 0
        """How many bytes the frame held needs (at least), counted from its first byte."""
        self._holding = 0
        """What the owner was last told this connection holds."""
        self._head_tail = b""
        """The last bytes fed to the protocol during the handshake (a request head's end may span two reads)."""
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
            else:
                self._to_protocol(data)  # closing: the protocol ends the closing handshake
            if self._fragment_bytes != self._holding:
                self._report_holding()
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
            if stop > end:
                self._needed = stop - pos
                break
            opcode = first & 0x0F
            if first & 0x80 and (opcode == 1 or opcode == 2) and not self._fragmented:
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
                # A control frame or a fragment: the protocol handles it (and may close).
                self._to_protocol(buffer[pos:stop])
                pos = stop
            if not self._open:
                self._to_protocol(buffer[pos:])
                pos = end
                break
        if pos < end:
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

    # ------------------------------------------------------------------ receiving

    def serve(self, handler: Handler) -> None:
        """Deliver every message to ``handler`` from now on, after those that arrived before.

        ``handler`` runs inside the transport's ``data_received``: it must not block, and an
        exception in it fails the connection with 1011 (it is logged).
        """
        self._handler = handler
        early, self._early = self._early, []
        for message in early:
            self._deliver(message)
        if self._early_paused:
            self._early_paused = False
            self.transport.resume_reading()

    def _handshake_data(self, data: bytes) -> None:
        """Feed the request head to the protocol, respond through the owner; what follows the head is frames."""
        protocol = self.protocol
        seen = self._head_tail + data
        found = seen.find(_HEAD_END)
        if found < 0:
            self._head_tail = seen[-3:]
            self._to_protocol(data)
            return
        cut = found + 4 - len(self._head_tail)
        self._head_tail = b""
        protocol.receive_data(data[:cut])
        for event in protocol.events_received():
            if isinstance(event, Request):
                self.request = event
                self.response = self.owner.respond(self, event)
                protocol.send_response(self.response)
        self._after_protocol()
        if self._open:
            if self._open_timer is not None:
                self._open_timer.cancel()
                self._open_timer = None
            self.owner.opened(self)
            if cut < len(data):
                self.data_received(data[cut:])

    def _to_protocol(self, data: bytes) -> None:
        """Feed whole frames (or, once closing, the rest of the stream) to the protocol and act on what it says."""
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
            self._early.append(message)
            if len(self._early) >= EARLY_MESSAGES_PAUSE and not self._early_paused:
                self._early_paused = True
                self.transport.pause_reading()
            return
        try:
            handler(message)
        except Exception:
            log.exception("handling a message failed; closing the connection")
            self.fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _report_holding(self) -> None:
        self._holding = size = len(self._held) + self._fragment_bytes
        self.owner.holding(self, size)

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

        The wait is bounded by ``close_timeout``: a peer that does not close is aborted.
        """
        state = self.protocol.state
        if state is _OPEN:
            self.protocol.send_close(code, reason)
            self._after_protocol()
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
