"""Reference 1: a bare relay, the ceiling for a Python WebSocket relay; and the same relay on other connection layers.

A minimal server that pairs connections by path (``/pair/<key>``) and forwards each message
to the paired peer unchanged, and nothing else: no parsing, no pacing, no room, no resampling.
``--impl`` picks the WebSocket layer under it, so that the layers' cost per frame is compared
with everything else equal (bench/README.md, "The connection"):

- ``websockets`` (the reference): websockets' asyncio server, ``async for`` / ``await send``;
- ``net``: the gateway's own connection (``gateway.net``: websockets' sans-I/O protocol,
  whole frames parsed and written synchronously), as the gateway's session uses it;
- ``picows``: picows (Cython), its listener's ``on_ws_frame`` forwarding with ``send``
  (needs ``bench/.venv-picows``, made by ``bench/run.py``).

    .venv/bin/python bench/relay.py --port 0 [--impl websockets|net|picows]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvloop


async def websockets_relay(host: str, port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    waiting: dict[str, ServerConnection] = {}
    peers: dict[ServerConnection, ServerConnection] = {}
    paired: dict[ServerConnection, asyncio.Event] = {}

    async def handle(ws: ServerConnection) -> None:
        key = ws.request.path if ws.request else ""
        ready = paired[ws] = asyncio.Event()
        other = waiting.pop(key, None)
        if other is None:
            waiting[key] = ws
        else:
            peers[ws], peers[other] = other, ws
            ready.set()
            paired[other].set()
        try:
            await ready.wait()
            peer = peers[ws]
            async for message in ws:
                try:
                    await peer.send(message)
                except ConnectionClosed:
                    pass
        except ConnectionClosed:
            pass
        finally:
            paired.pop(ws, None)
            peers.pop(ws, None)
            if waiting.get(key) is ws:
                del waiting[key]

    async with serve(handle, host, port, compression=None, max_size=2**20) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"bare-relay listening on ws://{host}:{bound}/pair/", flush=True)
        await asyncio.Future()


async def net_relay(host: str, port: int) -> None:
    from gateway.net.connection import GatewayConnection
    from gateway.net.listener import serve

    waiting: dict[str, GatewayConnection] = {}
    peers: dict[GatewayConnection, GatewayConnection] = {}

    async def handle(ws: GatewayConnection) -> None:
        key = ws.request.path if ws.request else ""
        other = waiting.pop(key, None)
        if other is None:
            waiting[key] = ws
        else:
            peers[ws], peers[other] = other, ws
            _forward(ws, other)
            _forward(other, ws)
        try:
            await ws.wait_closed()
        finally:
            peers.pop(ws, None)
            if waiting.get(key) is ws:
                del waiting[key]

    def _forward(source: GatewayConnection, target: GatewayConnection) -> None:
        write = target.write_message
        source.serve(lambda message: write(message, text=False) if type(message) is bytes
                     else write(message.encode(), text=True))  # type: ignore[union-attr]

    server = await serve(handle, host, port, max_size=2**20)
    bound = server.sockets[0].getsockname()[1]
    print(f"bare-relay listening on ws://{host}:{bound}/pair/", flush=True)
    await asyncio.Future()


async def picows_relay(host: str, port: int) -> None:
    from picows import WSListener, WSUpgradeRequest, ws_create_server  # type: ignore[import-not-found]

    waiting: dict[bytes, Any] = {}

    class Pair(WSListener):  # type: ignore[misc]
        def __init__(self, key: bytes) -> None:
            self.key = key
            self.peer: Any = None
            self.transport: Any = None

        def on_ws_connected(self, transport: Any) -> None:
            self.transport = transport
            other = waiting.pop(self.key, None)
            if other is None:
                waiting[self.key] = self
            else:
                self.peer, other.peer = other, self

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            peer = self.peer
            if frame.msg_type in (1, 2) and peer is not None:  # WSMsgType.TEXT, BINARY (whole: the clients do not fragment)
                peer.transport.send(frame.msg_type, frame.get_payload_as_memoryview())
            elif frame.msg_type == 8:  # CLOSE
                transport.send_close(frame.get_close_code())
                transport.disconnect()

        def on_ws_disconnected(self, transport: Any) -> None:
            if waiting.get(self.key) is self:
                del waiting[self.key]

    def factory(request: WSUpgradeRequest) -> Pair:
        return Pair(request.path)

    server = await ws_create_server(factory, host, port, max_frame_size=2**20)
    bound = server.sockets[0].getsockname()[1]
    print(f"bare-relay listening on ws://{host}:{bound}/pair/", flush=True)
    await asyncio.Future()


IMPLEMENTATIONS = {"websockets": websockets_relay, "net": net_relay, "picows": picows_relay}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--impl", choices=sorted(IMPLEMENTATIONS), default="websockets")
    args = parser.parse_args()
    try:
        uvloop.run(IMPLEMENTATIONS[args.impl](args.host, args.port))
    except KeyboardInterrupt:
        pass
