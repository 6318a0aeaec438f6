"""The gateway's WebSocket connection: messages handed to the session as they arrive, frames written at once.

websockets' ``ServerConnection`` suits request/response servers: every message goes through
a generator-based frame parser, then an assembler queue, then a task awaiting ``recv()``;
every send takes a lock, an async context manager and a drain. For a media relay that is
most of the cost of a frame (bench/README.md, "Where the gap to the relay is"). This
subclass keeps websockets for everything it does well (the opening handshake, control
frames, the closing handshake, fragmented and malformed input, limits) and adds two fast
paths for the common case:

- **Receiving:** once the connection is open, whole unfragmented text and binary frames
  are parsed here and passed synchronously, in arrival order, to the handler set with
  :meth:`GatewayConnection.serve`. Any other frame (ping, pong, close, a fragment, a
  frame with reserved bits, an oversize or unmasked frame) is handed whole to websockets'
  own parser, which answers it as it always does; fragmented messages are reassembled
  here from its events, so order is kept. After a close, everything goes to websockets.
- **Sending:** :meth:`GatewayConnection.write_message` writes one whole message to the
  transport synchronously when the connection is open; :attr:`writable` says whether the
  transport's buffer is below its high-water mark, and :meth:`wait_writable` waits until
  it is (the session's outbox queues in between).

Both paths are byte-for-byte RFC 6455: tests compare them with websockets' own.

Hostile input (PROTOCOL.md, "Security"):

- **Before the upgrade** the request head goes through :class:`gateway.handshake.RequestScreen`
  first: what websockets would drop silently (another method, a body, a pipelined request) gets
  a 4xx response.
- **Before it is served** (the gateway admits a connection, then calls :meth:`serve`) nothing is
  read past the handshake: one read is held, and reading pauses. A refused connection is failed
  with :meth:`deny` and what it sent is never parsed.
- **Oversize frames** (over ``max_text_bytes`` / ``max_binary_bytes``, set with :meth:`set_limits`)
  are skipped as their bytes arrive, never held, and reported to the ``on_oversize`` handler.
- **What a connection holds** unread (a partial frame, fragments, the held read) is reported
  to its :class:`gateway.budget.ConnectionBudget`; past the budget the connection is closed
  (1009, or 1013 when the gateway-wide pool is spent).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode, apply_mask
from websockets.protocol import State
from websockets.streams import StreamReader

from protocol.constants import CloseCode

from .budget import UNBOUNDED, ConnectionBudget, Refusal
from .handshake import Rejected, RequestScreen

log = logging.getLogger("gateway.connection")

Handler = Callable[[str | bytes], None]
OversizeHandler = Callable[[bool, int, bytes], None]
"""Told of each frame skipped unread for its size: (text, length in bytes, its first payload bytes).

The first :data:`SKIPPED_HEAD_BYTES` bytes of the payload (unmasked) are all that is kept, so
that an error about a binary frame can still quote its header's track and seq (PROTOCOL.md 10.3)."""

SKIPPED_HEAD_BYTES = 28
"""Payload bytes kept of a frame skipped for its size: a media frame's header (protocol.media.HEADER_SIZE)."""

_OPEN = State.OPEN
_CONNECTING = State.CONNECTING
_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
_AT_EOF = StreamReader.at_eof.__code__
_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")
_LENGTH_16 = struct.Struct("!H")
_LENGTH_64 = struct.Struct("!Q")


def frame_header(length: int, *, text: bool) -> bytes:
    """The header of an unmasked, unfragmented server frame of ``length`` payload bytes."""
    first = 0x81 if text else 0x82
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return _HEADER_16.pack(first, 126, length)
    return _HEADER_64.pack(first, 127, length)


class GatewayConnection(ServerConnection):
    """A websockets server connection with synchronous message delivery and frame writing (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handler: Handler | None = None
        self._on_oversize: OversizeHandler | None = None
        self._early: list[str | bytes] = []
        """Messages websockets parsed before :meth:`serve` (none once the screen refuses early frames)."""
        self._waiting = b""
        """What was read after the upgrade, before :meth:`serve`; not parsed until then."""
        self._reading_paused = False
        self._screen: RequestScreen | None = RequestScreen()
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._fragment_text = False
        self._fast = False
        """Parsing frames here (open, and websockets' parser at a frame boundary)."""
        self._held = bytearray()
        """Bytes of an incomplete frame, while parsing here."""
        self._skip = 0
        """Bytes of an oversize frame still to drop as they arrive."""
        self._skip_text = False
        self._skip_length = 0
        self._skip_prefix = bytearray()
        """The skipped frame's masking key and first payload bytes, as they arrive (SKIPPED_HEAD_BYTES at most)."""
        self.max_text_bytes = 0
        """Text frames longer than this are skipped unread (0: read every frame websockets' max_size allows)."""
        self.max_binary_bytes = 0
        """Binary frames longer than this are skipped unread (0: as above)."""
        self.budget: ConnectionBudget = UNBOUNDED.account()
        self._holding = 0
        """Bytes last reported to :attr:`budget`."""

    # ------------------------------------------------------------------ admission

    def set_limits(self, budget: ConnectionBudget, *, max_text_bytes: int, max_binary_bytes: int) -> None:
        """The receive budget and frame limits of this connection (the gateway sets them before serving it)."""
        self.budget.release()
        self.budget = budget
        self._holding = 0
        self.max_text_bytes = max_text_bytes
        self.max_binary_bytes = max_binary_bytes
        self._account()

    def serve(self, handler: Handler, on_oversize: OversizeHandler | None = None) -> None:
        """Start reading: deliver every message to ``handler`` from now on, and skipped frames to ``on_oversize``.

        Nothing past the handshake is read before this is called (the gateway calls it once the
        connection is admitted). ``handler`` runs inside the transport's ``data_received``: it
        must not block, and an exception in it fails the connection with 1011 (it is logged).
        """
        self._handler = handler
        self._on_oversize = on_oversize
        early, self._early = self._early, []
        for message in early:
            self._deliver(message)
        waiting, self._waiting = self._waiting, b""
        self._resume_reading()
        if waiting:
            self.data_received(waiting)

    def deny(self, code: int, reason: str) -> None:
        """Refuse a connection before serving it: a close frame, then the TCP connection closes; nothing it sent is parsed."""
        self._waiting = b""
        self._fail(code, reason)  # websockets now discards whatever arrives, until the peer goes
        self._resume_reading()
        self._account()

    def _resume_reading(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    # ------------------------------------------------------------------ receiving

    def data_received(self, data: bytes) -> None:
        state = self.protocol.state
        if state is _CONNECTING:
            self._screen_request(data)
            return
        if self._handler is None and state is _OPEN:
            # Upgraded, not admitted yet: keep this one read, read no more until serve() or deny().
            self._waiting += data
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()
            self._account()
            return
        if self._skip:
            self._keep_head(data)
            if len(data) < self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip:]
            self._skip = 0
            self._skipped()
            if not data:
                self._account()
                return
        self._receive(data)
        self._account()

    def _screen_request(self, data: bytes) -> None:
        """The opening handshake: the request head is checked (gateway.handshake) before websockets reads it."""
        screen = self._screen
        if screen is None or (screen.passed and self.response is not None):
            super().data_received(data)  # answered already (not with 101): websockets discards the rest
            return
        try:
            head = screen.feed(data)
        except Rejected as exc:
            log.warning("= refused HTTP request from %s: %d %s", self.remote_address, exc.status.value, exc.message)
            self._screen = None
            self.transport.write(exc.response())
            self.transport.close()
            return
        if head is not None:
            super().data_received(head)

    def _receive(self, data: bytes) -> None:
        if not self._fast:
            if self.protocol.state is not _OPEN or not self._at_frame_boundary():
                super().data_received(data)
                return
            self._fast = True
        held = self._held
        if held:
            held += data
            buffer: bytes | bytearray = held
        else:
            buffer = data
        end = len(buffer)
        pos = 0
        max_size = self.protocol.max_message_size
        with memoryview(buffer) as view:
            while end - pos >= 2:
                first, second = buffer[pos], buffer[pos + 1]
                length = second & 0x7F
                start = pos + 2
                if length == 126:
                    if end - start < 2:
                        break
                    length = _LENGTH_16.unpack_from(buffer, start)[0]
                    start += 2
                elif length == 127:
                    if end - start < 8:
                        break
                    length = _LENGTH_64.unpack_from(buffer, start)[0]
                    start += 8
                if not second & 0x80 or first & 0x70 or (max_size is not None and length > max_size):
                    # Unmasked, reserved bits or too big: websockets fails the connection with the right code.
                    self._to_websockets(bytes(view[pos:]))
                    pos = end
                    break
                stop = start + 4 + length
                opcode = first & 0x0F
                if (
                    first & 0x80
                    and (opcode == 1 or opcode == 2)
                    and length > (self.max_text_bytes if opcode == 1 else self.max_binary_bytes) > 0
                    and self.protocol.current_size is None
                ):
                    # Over its limit (PROTOCOL.md, "Security"): dropped as it arrives, never held; too_large.
                    self._skip_text = opcode == 1
                    self._skip_length = length
                    self._skip_prefix = bytearray()
                    self._keep_head(view[start:min(stop, end)])
                    if stop > end:
                        self._skip = stop - end
                        pos = end
                        break
                    pos = stop
                    self._skipped()
                    if self.protocol.state is not _OPEN:
                        self._to_websockets(bytes(view[pos:]))
                        pos = end
                        break
                    continue
                if stop > end:
                    break
                if first & 0x80 and (opcode == 1 or opcode == 2) and self.protocol.current_size is None:
                    mask = bytes(view[start : start + 4])
                    # No named slice of view: one alive after the loop would pin the held buffer.
                    if mask != b"\0\0\0\0":
                        payload: bytes = apply_mask(view[start + 4 : stop], mask)
                    else:
                        payload = bytes(view[start + 4 : stop])
                    pos = stop
                    if opcode == 1:
                        try:
                            self._deliver(payload.decode())
                        except UnicodeDecodeError as exc:
                            self._fail(CloseCode.INVALID_DATA, f"invalid UTF-8 at position {exc.start}")
                    else:
                        self._deliver(payload)
                else:
                    # A control frame or a fragment: websockets handles it (and may close).
                    self._to_websockets(bytes(view[pos:stop]))
                    pos = stop
                if self.protocol.state is not _OPEN:
                    self._to_websockets(bytes(view[pos:]))
                    pos = end
                    break
            rest = bytes(view[pos:]) if pos < end and buffer is not held else b""
        if buffer is held:
            del held[:pos]
        elif rest:
            held += rest

    def _at_frame_boundary(self) -> bool:
        """Whether websockets' parser has no data held and waits for the first byte of a frame."""
        protocol = self.protocol
        if protocol.reader.buffer:
            return False
        # The server's parser delegates (yield from) to the frame parser, which waits in at_eof().
        waiting: Any = protocol.parser
        for _ in range(4):
            waiting = getattr(waiting, "gi_yieldfrom", None)
            if waiting is None:
                return False
            if waiting.gi_code is _AT_EOF:
                return True
        return False

    def _to_websockets(self, data: bytes) -> None:
        """Hand whole frames (or the rest of the stream) to websockets' parser; it processes them as usual."""
        if data:
            super().data_received(data)
        if self.protocol.state is not _OPEN:
            self._fast = False

    def process_event(self, event: Any) -> None:
        """Data frames websockets parsed (fragments, before the fast path starts): reassemble and deliver in order."""
        if self.request is None or not isinstance(event, Frame) or event.opcode not in (_TEXT, _BINARY, _CONT):
            super().process_event(event)
            return
        if event.opcode is not _CONT:
            self._fragment_text = event.opcode is _TEXT
            self._fragments = []
            self._fragment_bytes = 0
        self._fragments.append(bytes(event.data))
        self._fragment_bytes += len(event.data)
        if not event.fin:
            return
        data = b"".join(self._fragments)
        self._fragments = []
        self._fragment_bytes = 0
        if self._fragment_text:
            try:
                self._deliver(data.decode())
            except UnicodeDecodeError as exc:
                self._fail(CloseCode.INVALID_DATA, f"invalid UTF-8 at position {exc.start}")
        else:
            self._deliver(data)

    def _deliver(self, message: str | bytes) -> None:
        handler = self._handler
        if handler is None:
            self._early.append(message)
            return
        try:
            handler(message)
        except Exception:
            log.exception("handling a message failed; closing the connection")
            self._fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _keep_head(self, data: bytes | memoryview) -> None:
        """Keep the masking key and the first payload bytes of the frame being skipped (nothing more)."""
        wanted = 4 + SKIPPED_HEAD_BYTES - len(self._skip_prefix)
        if wanted > 0:
            self._skip_prefix += data[:wanted]

    def _skipped(self) -> None:
        """The oversize frame just skipped is over: tell the handler (it answers too_large)."""
        handler = self._on_oversize
        prefix, self._skip_prefix = self._skip_prefix, bytearray()
        if handler is None:
            return
        head = apply_mask(bytes(prefix[4:]), bytes(prefix[:4])) if len(prefix) > 4 else b""
        try:
            handler(self._skip_text, self._skip_length, head)
        except Exception:
            log.exception("handling an oversize frame failed; closing the connection")
            self._fail(CloseCode.INTERNAL_ERROR, "internal error")

    # ------------------------------------------------------------------ receive budget

    def _account(self) -> None:
        """Report what this connection holds unread to its budget; past it, close (1009 or 1013)."""
        held = len(self._held) + self._fragment_bytes + len(self._waiting)
        if not self._fast and self.protocol.state is _OPEN:
            held += len(self.protocol.reader.buffer)
        if held == self._holding:
            return
        refusal = self.budget.hold(held)
        if refusal is None:
            self._holding = held
        else:
            self._refuse(refusal)

    def _refuse(self, refusal: Refusal) -> None:
        log.warning("= closing %s: %s (receive budget)", self.remote_address, refusal.reason)
        self._held = bytearray()
        self._fragments = []
        self._fragment_bytes = 0
        self._waiting = b""
        self.budget.release()
        self._holding = 0
        self._fail(refusal.code, refusal.reason)
        self._resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        # Free what was held now: the connection object itself may live on until a cycle collection.
        self._held = bytearray()
        self._fragments = []
        self._fragment_bytes = 0
        self._waiting = b""
        self._early = []
        self.budget.release()
        self._holding = 0
        super().connection_lost(exc)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (close frame, then the TCP connection), as websockets does on bad input."""
        if self.protocol.state is _OPEN:
            self.protocol.fail(code, reason)
            self.send_data()
            # As websockets does after its own parser fails: the peer has close_timeout to close
            # its side; past that the TCP connection is aborted, so wait_closed() always returns.
            if self.close_timeout is not None:
                if self.close_deadline is None:
                    self.close_deadline = self.loop.time() + self.close_timeout
                self.loop.call_at(self.close_deadline, self._abort_if_open)
        self._fast = False

    def _abort_if_open(self) -> None:
        if not self.connection_lost_waiter.done():
            self.transport.abort()

    # ------------------------------------------------------------------ sending

    @property
    def writable(self) -> bool:
        """Open, and the transport's buffer below its high-water mark: :meth:`write_message` sends now."""
        return self.protocol.state is _OPEN and not self.paused

    def write_message(self, data: bytes, *, text: bool) -> bool:
        """Write one whole message now (UTF-8 ``data`` when ``text``); False when the connection is not open.

        Does not wait for the buffer to drain: callers check :attr:`writable` and queue
        otherwise, so memory stays bounded by the transport's high-water mark plus one message.
        """
        if self.protocol.state is not _OPEN:
            return False
        self.transport.write(frame_header(len(data), text=text) + data)
        return True

    async def wait_writable(self) -> None:
        """Wait until the transport's buffer drains below its low-water mark (or the connection is lost)."""
        await self.drain()

