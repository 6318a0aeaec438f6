"""Reference 1: a bare relay, the ceiling for a Python WebSocket relay.

A minimal websockets server (the library and event loop the gateway uses) that pairs
connections by path (``/pair/<key>``) and forwards each message to the paired peer
unchanged, and nothing else: no parsing, no pacing, no room, no resampling.

    .venv/bin/python bench/relay.py --port 0
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

_waiting: dict[str, ServerConnection] = {}
_peers: dict[ServerConnection, ServerConnection] = {}
_paired: dict[ServerConnection, asyncio.Event] = {}


async def handle(ws: ServerConnection) -> None:
    key = ws.request.path if ws.request else ""
    ready = _paired[ws] = asyncio.Event()
    other = _waiting.pop(key, None)
    if other is None:
        _waiting[key] = ws
    else:
        _peers[ws], _peers[other] = other, ws
        ready.set()
        _paired[other].set()
    try:
        await ready.wait()
        peer = _peers[ws]
        async for message in ws:
            try:
                await peer.send(message)
            except ConnectionClosed:
                pass
    except ConnectionClosed:
        pass
    finally:
        _paired.pop(ws, None)
        _peers.pop(ws, None)
        if _waiting.get(key) is ws:
            del _waiting[key]


async def main(host: str, port: int) -> None:
    async with serve(handle, host, port, compression=None, max_size=2**20) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"bare-relay listening on ws://{host}:{bound}/pair/", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        uvloop.run(main(args.host, args.port))
    except KeyboardInterrupt:
        pass
