"""Per-frame cost of the connection layer, to compare checkouts: the one before issue 20, or gateway.net.

Runs in whichever checkout is the working directory: a websockets ``ServerConnection`` subclass
(``gateway/connection.py`` before issue 20's layout, ``gateway/net/connection.py`` on main before the
merge of branch ``net``) or ``gateway/net/connection.py`` pumping websockets' sans-I/O protocol
from our own asyncio protocol. Each is opened by a real handshake on a
fake transport, then receives 2000 masked 668-byte binary frames, one per ``data_received`` (a
zero mask as the Node load generator sends, a random one as browsers do), and writes 2000; the
figure is the best of 7 runs per frame. Results: bench/results/net-connection-2026-12-07.md.

    cd <checkout> && <venv>/bin/python <this file>
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, os.getcwd())

from websockets.server import ServerProtocol  # noqa: E402

from gateway import compiled  # noqa: E402
from protocol.media import encode_audio  # noqa: E402

REQUEST = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


class FakeTransport:
    """Takes writes and flow-control calls, keeps nothing."""

    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class AcceptAll:
    """A gateway.net connection owner that accepts the handshake and does nothing else."""

    def respond(self, connection: Any, request: Any) -> Any:
        return connection.protocol.accept(request)

    def opened(self, connection: Any) -> None:
        pass

    def holding(self, connection: Any, size: int) -> None:
        pass


def client_frame(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    head = bytes((0x82, 0x80 | n)) if n < 126 else bytes((0x82, 0x80 | 126)) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def best_us(fn: Callable[[], None], frames: int, repeats: int = 7) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - start) / 1000 / frames)
    return best


def open_connection() -> tuple[Any, str]:
    """An open connection of this checkout on a fake transport, and which one it is."""
    from websockets.asyncio.server import ServerConnection

    try:
        from gateway.net.connection import GatewayConnection
    except ImportError:  # before issue 20's layout
        from gateway.connection import GatewayConnection  # type: ignore[import-not-found,no-redef]
    if issubclass(GatewayConnection, ServerConnection):
        server = SimpleNamespace(handler=lambda c: asyncio.sleep(0), handler_tasks=set())
        connection = GatewayConnection(ServerProtocol(max_size=1 << 20), server)
        connection.connection_made(FakeTransport())
        connection.data_received(REQUEST)
        connection.protocol.send_response(connection.protocol.accept(connection.request))
        connection.protocol.data_to_send()
        return connection, f"{GatewayConnection.__module__} (websockets ServerConnection subclass, before gateway.net)"
    connection = GatewayConnection(ServerProtocol(max_size=1 << 20), AcceptAll(), open_timeout=None)
    connection.connection_made(FakeTransport())  # type: ignore[arg-type]
    connection.data_received(REQUEST)
    return connection, "gateway.net.connection (sans-I/O ServerProtocol, own fast path)"


async def main() -> None:
    received: list[Any] = []
    connection, which = open_connection()
    connection.serve(received.append)
    wire = [encode_audio(1, i, 0, 16000, 1, os.urandom(640)) for i in range(2000)]
    out = [which, compiled.summary()]
    for label, mask in (("zero mask", b"\0\0\0\0"), ("random mask", b"\x12\x34\x56\x78")):
        chunks = [client_frame(w, mask) for w in wire]

        def receive(chunks: list[bytes] = chunks) -> None:
            for chunk in chunks:
                connection.data_received(chunk)
            assert len(received) == len(chunks)
            received.clear()

        out.append(f"receive ({label}): {best_us(receive, len(chunks)):.2f} us")

    def write() -> None:
        for w in wire:
            connection.write_message(w, text=False)

    out.append(f"write: {best_us(write, len(wire)):.2f} us")
    print("; ".join(out))


if __name__ == "__main__":
    asyncio.run(main())
