"""Accepting WebSocket connections: the TCP (or TLS) listener, the opening handshake's policy, one handler task each.

The counterpart of websockets' ``serve()`` for :class:`~gateway.net.connection.GatewayConnection`,
with the same hooks and defaults: ``process_request`` may answer a request over plain HTTP
(or return None to go on with the WebSocket handshake), ``select_subprotocol`` picks from
what the client offers, ``server_header`` names the server in every response. Before any
of them, each connection screens the request head itself (``gateway.net.handshake``: 405,
400, 414, 431). Each opened connection gets a task running ``handler``; when the handler
returns the connection is closed with 1000 (1011 if it raised).

Receive budgets (PROTOCOL.md 15.3): each connection gets an account of ``receive_budget``;
:meth:`Listener.holding` checks what a connection holds (partial frames, fragments, the read
kept before it is served) against it and refuses the connection past it (1009 for one
connection's cap, 1013 when the gateway-wide pool is spent). Frames over ``max_text_bytes`` /
``max_binary_bytes`` are skipped unread by the connection (its ``on_oversize`` handler).
"""

from __future__ import annotations

import asyncio
import http
import logging
import socket
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Sequence

from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from protocol.constants import CloseCode

from .budget import UNBOUNDED, ReceiveBudget
from .connection import WRITE_LIMIT, GatewayConnection

log = logging.getLogger("gateway.listener")

ConnectionHandler = Callable[[GatewayConnection], Awaitable[None]]
ProcessRequest = Callable[[GatewayConnection, Request], Response | Awaitable[Response] | None]
SelectSubprotocol = Callable[[GatewayConnection, Sequence[Subprotocol]], Subprotocol | None]


class Listener:
    """A listening socket whose connections speak WebSocket (module docstring); also each connection's owner."""

    def __init__(
        self,
        handler: ConnectionHandler,
        *,
        subprotocols: Sequence[Subprotocol] | None = None,
        select_subprotocol: SelectSubprotocol | None = None,
        process_request: ProcessRequest | None = None,
        max_size: int | None = 2**20,
        max_text_bytes: int = 0,
        max_binary_bytes: int = 0,
        receive_budget: ReceiveBudget = UNBOUNDED,
        server_header: str | None = None,
        open_timeout: float | None = 10.0,
        close_timeout: float | None = 10.0,
        write_limit: int = WRITE_LIMIT,
    ) -> None:
        self.handler = handler
        self.subprotocols = subprotocols
        self.select_subprotocol = select_subprotocol
        self.process_request = process_request
        self.max_size = max_size
        """Largest message; a frame announcing more fails its connection with 1009."""
        self.max_text_bytes = max_text_bytes
        """Text frames over this are skipped unread, reported to the connection's ``on_oversize`` (0: none are)."""
        self.max_binary_bytes = max_binary_bytes
        """Binary frames over this are skipped unread, likewise (0: none are)."""
        self.receive_budget = receive_budget
        """Bytes received and not yet handled, per connection and for all of them (UNBOUNDED: no bound)."""
        self.server_header = server_header
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.write_limit = write_limit
        self.connections: set[GatewayConnection] = set()
        """Open connections whose handler runs."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def listen(self, host: str | None, port: int, *, ssl: ssl_module.SSLContext | None = None,
                     reuse_port: bool = False) -> None:
        """Bind and start accepting (TLS when ``ssl`` is given; its handshake is bounded by ``open_timeout``).

        ``reuse_port``: SO_REUSEPORT, so that several processes listen on one port and the kernel spreads new
        connections over them (``--workers``; docs/CLUSTER.md, "Workers").
        """
        loop = asyncio.get_running_loop()
        if ssl is not None:
            self._server = await loop.create_server(
                self._new_connection, host, port, ssl=ssl, reuse_port=reuse_port or None,
                ssl_handshake_timeout=self.open_timeout, ssl_shutdown_timeout=self.close_timeout,
            )
        else:
            self._server = await loop.create_server(self._new_connection, host, port, reuse_port=reuse_port or None)

    def _new_connection(self) -> GatewayConnection:
        select = self.select_subprotocol
        connection: GatewayConnection | None = None

        def protocol_select(protocol: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
            assert select is not None and connection is not None
            return select(connection, offered)

        protocol = ServerProtocol(
            subprotocols=self.subprotocols,
            select_subprotocol=protocol_select if select is not None else None,
            max_size=self.max_size,
        )
        connection = GatewayConnection(
            protocol, self, max_size=self.max_size, max_text_bytes=self.max_text_bytes,
            max_binary_bytes=self.max_binary_bytes, open_timeout=self.open_timeout,
            close_timeout=self.close_timeout, write_limit=self.write_limit, account=self.receive_budget.account(),
        )
        return connection

    # ------------------------------------------------------------------ ConnectionOwner

    def respond(self, connection: GatewayConnection, request: Request) -> Response | Awaitable[Response]:
        """``process_request``'s answer, else websockets' handshake response; 503 while closing.

        ``process_request`` may answer with an awaitable (an HTTP answer that reads a file off the
        loop); it never opens a WebSocket, so it goes to the connection as it is."""
        protocol = connection.protocol
        response: Response | Awaitable[Response] | None = None
        if self.process_request is not None:
            try:
                response = self.process_request(connection, request)
            except Exception as exc:
                protocol.handshake_exc = exc
                log.exception("process_request failed")
                response = protocol.reject(
                    http.HTTPStatus.INTERNAL_SERVER_ERROR,
                    "Failed to open a WebSocket connection.\nSee server log for more information.\n",
                )
        if response is None:
            response = protocol.accept(request)
        elif not isinstance(response, Response):
            return self._with_server_header(response)
        if response.status_code == http.HTTPStatus.SWITCHING_PROTOCOLS and not self.is_serving():
            response = protocol.reject(http.HTTPStatus.SERVICE_UNAVAILABLE, "Server is shutting down.\n")
        if self.server_header is not None:
            response.headers["Server"] = self.server_header
        return response

    async def _with_server_header(self, answer: Awaitable[Response]) -> Response:
        response = await answer
        if self.server_header is not None:
            response.headers["Server"] = self.server_header
        return response

    def opened(self, connection: GatewayConnection) -> None:
        """Run ``handler`` for the new connection in its own task."""
        self.connections.add(connection)
        task = asyncio.get_running_loop().create_task(self._serve(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def holding(self, connection: GatewayConnection, size: int) -> None:
        """A connection's bytes received and not handled changed: past its budget it is refused (1009 or 1013)."""
        refusal = connection.account.hold(size)
        if refusal is not None:
            log.warning("= closing %s: %s (receive budget)", connection.remote_address, refusal.reason)
            connection.refuse(refusal.code, refusal.reason)

    async def _serve(self, connection: GatewayConnection) -> None:
        try:
            await self.handler(connection)
        except Exception:
            log.exception("connection handler failed")
            await connection.close(CloseCode.INTERNAL_ERROR)
        else:
            await connection.close()
        finally:
            self.connections.discard(connection)

    # ------------------------------------------------------------------ life cycle

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (their ``getsockname()`` gives the port bound)."""
        return tuple(self._server.sockets) if self._server is not None else ()

    def is_serving(self) -> bool:
        return self._server is not None and self._server.is_serving()

    def close(self, close_connections: bool = True) -> None:
        """Stop accepting; with ``close_connections``, close every open connection with 1001 (going away)."""
        if self._server is not None:
            self._server.close()
        if close_connections:
            for connection in list(self.connections):
                if connection.state is State.OPEN:
                    task = asyncio.get_running_loop().create_task(connection.close(CloseCode.GOING_AWAY))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def wait_closed(self) -> None:
        """Wait until the listener is closed and every connection's handler has returned."""
        if self._server is not None:
            await self._server.wait_closed()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def __aenter__(self) -> Listener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()


async def serve(
    handler: ConnectionHandler,
    host: str | None,
    port: int,
    *,
    ssl: ssl_module.SSLContext | None = None,
    subprotocols: Sequence[Subprotocol] | None = None,
    select_subprotocol: SelectSubprotocol | None = None,
    process_request: ProcessRequest | None = None,
    max_size: int | None = 2**20,
    max_text_bytes: int = 0,
    max_binary_bytes: int = 0,
    receive_budget: ReceiveBudget = UNBOUNDED,
    server_header: str | None = None,
    open_timeout: float | None = 10.0,
    close_timeout: float | None = 10.0,
    reuse_port: bool = False,
) -> Listener:
    """A :class:`Listener` bound to ``host``:``port`` and accepting (the options are :class:`Listener`'s)."""
    listener = Listener(
        handler, subprotocols=subprotocols, select_subprotocol=select_subprotocol, process_request=process_request,
        max_size=max_size, max_text_bytes=max_text_bytes, max_binary_bytes=max_binary_bytes,
        receive_budget=receive_budget, server_header=server_header, open_timeout=open_timeout,
        close_timeout=close_timeout,
    )
    await listener.listen(host, port, ssl=ssl, reuse_port=reuse_port)
    return listener
