"""The relaying node's WebSocket to the serving node, on websockets' public sans-I/O ``ClientProtocol``.

What the relay needs of it is a pipe with no task per message: every message the serving node sends
is handed to :attr:`Upstream.on_message` inside ``data_received``, in order, and :meth:`Upstream.send`
writes at once. websockets' ``ClientProtocol`` does the handshake, the framing (masking included),
control frames and the closing handshake, as ``ServerProtocol`` does for ``gateway.net.connection``;
this class only pumps it (bench/results/cluster.md: the asyncio client, a task switch per message,
cost about as much CPU per relayed frame as the serving node's whole work for it).

:func:`open_upstream` opens it with the signed hand-over and consumes the serving node's hello,
which must adopt the hand-over's session.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Callable
from typing import Any

import orjson
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol.constants import SUBPROTOCOL

from .bridge import HANDOVER_HEADER, Handover, UpstreamError

WRITE_LIMIT = 2**16
"""The upstream transport's high-water mark in bytes: past it the client is not read until it drains."""
CLOSE_TIMEOUT_S = 5.0
"""How long the serving node may take to close TCP once a close was sent."""


class Upstream(asyncio.Protocol):
    """One relayed client's connection to the node serving it (module docstring)."""

    def __init__(self, protocol: ClientProtocol, request_headers: dict[str, str]) -> None:
        self.protocol = protocol
        self._headers = request_headers
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.hello: asyncio.Future[dict[str, Any]] = loop.create_future()
        """The serving node's hello (its first message), or why the connection failed before it."""
        self.closed: asyncio.Future[None] = loop.create_future()
        """Done when the TCP connection is lost."""
        self.on_message: Callable[[bytes, bool], None] | None = None
        """(payload, text) of each message after the hello; messages before it is set are kept for it."""
        self.on_writable: Callable[[bool], None] | None = None
        """Told False when the transport's buffer passes :data:`WRITE_LIMIT`, True when it drained."""
        self._early: list[tuple[bytes, bool]] = []
        self._fragments: list[bytes] = []
        self._fragment_text = False

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(WRITE_LIMIT, WRITE_LIMIT // 4)  # type: ignore[union-attr]
        request = self.protocol.connect()
        for name, value in self._headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
            elif isinstance(event, Response) and protocol.state is not State.OPEN and not self.hello.done():
                self.hello.set_exception(UpstreamError(f"handshake refused: {protocol.handshake_exc}"))
        self._flush()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.hello.done():
            self.hello.set_exception(UpstreamError(f"connection lost before the hello ({exc or 'closed'})"))
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        if self.on_writable is not None:
            self.on_writable(False)

    def resume_writing(self) -> None:
        if self.on_writable is not None:
            self.on_writable(True)

    # ------------------------------------------------------------------ messages

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._fragment_text = opcode is Opcode.TEXT
            self._fragments = [bytes(frame.data)]
        elif opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
        else:
            return  # ping (answered by the protocol), pong, close (the protocol's state follows)
        if not frame.fin:
            return
        data = b"".join(self._fragments) if len(self._fragments) > 1 else self._fragments[0]
        self._fragments = []
        self._deliver(data, self._fragment_text)

    def _deliver(self, data: bytes, text: bool) -> None:
        if not self.hello.done():
            try:
                hello = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                self.hello.set_exception(UpstreamError(f"the first message is not a hello: {exc}"))
                return
            self.hello.set_result(hello if isinstance(hello, dict) else {})
            return
        if self.on_message is None:
            self._early.append((data, text))
        else:
            self.on_message(data, text)

    def start(self, on_message: Callable[[bytes, bool], None]) -> None:
        """Hand every message from now on (and those that came since the hello) to ``on_message``."""
        self.on_message = on_message
        early, self._early = self._early, []
        for data, text in early:
            on_message(data, text)

    def send(self, data: bytes, *, text: bool) -> bool:
        """Write one message now; False when the connection is no longer open."""
        protocol = self.protocol
        if protocol.state is not State.OPEN:
            return False
        if text:
            protocol.send_text(data)
        else:
            protocol.send_binary(data)
        self._flush()
        return True

    def ping(self, data: bytes) -> None:
        """Send a ping (a notice to the serving node, ``bridge.oversize_notice``); nothing when no longer open."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_ping(data)
            self._flush()

    @property
    def close_received(self) -> Close | None:
        """The serving node's close frame (code, reason), or None when it dropped."""
        return self.protocol.close_rcvd

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    async def close(self, code: int, reason: str) -> None:
        """Start the closing handshake; wait (bounded) until the serving node closed TCP."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), CLOSE_TIMEOUT_S)
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        """Drop the connection without a close frame (the serving node sees 1006 and keeps the session)."""
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                try:
                    transport.write_eof()
                except (OSError, RuntimeError):
                    pass
            else:
                transport.close()


async def open_upstream(address: str, handover: Handover, secret: bytes, *, open_timeout: float = 5.0,
                        max_size: int | None = None) -> Upstream:
    """Connect to the serving node with the signed hand-over and consume its hello, which must adopt the session.

    Raises:
        UpstreamError: it cannot be reached, refused the hand-over, or did not greet within ``open_timeout``.
    """
    try:
        uri = parse_uri(address)
    except Exception as exc:  # noqa: BLE001 - InvalidURI and friends
        raise UpstreamError(f"bad node address {address!r}: {exc}") from exc
    protocol = ClientProtocol(uri, subprotocols=[Subprotocol(SUBPROTOCOL)], max_size=max_size)
    headers = {HANDOVER_HEADER: handover.header(secret)}
    loop = asyncio.get_running_loop()
    context = ssl_module.create_default_context() if uri.secure else None
    try:
        _, upstream = await asyncio.wait_for(
            loop.create_connection(lambda: Upstream(protocol, headers), uri.host, uri.port, ssl=context),
            open_timeout,
        )
    except (OSError, TimeoutError) as exc:
        raise UpstreamError(f"cannot open the bridge to {address}: {exc}") from exc
    try:
        hello = await asyncio.wait_for(asyncio.shield(upstream.hello), open_timeout)
    except (TimeoutError, UpstreamError) as exc:
        upstream.abort()
        raise UpstreamError(f"no hello from {address}: {exc}") from exc
    if hello.get("type") != "hello" or hello.get("session_id") != handover.session_id:
        upstream.abort()
        raise UpstreamError(f"{address} did not adopt the hand-over (hello: {str(hello)[:200]})")
    return upstream
