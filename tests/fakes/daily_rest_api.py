"""A stub of Daily's REST API on 127.0.0.1: scripted replies, recorded requests.

Shared by the REST client's unit tests (tests/unit/test_daily_rest.py) and the gateway's REST
requests end to end (tests/e2e/test_rest_requests.py), which point the gateway's
``GATEWAY_DAILY_API_URL`` at :attr:`StubDaily.url`. It speaks just enough HTTP/1.1 for one
request per connection, as :class:`gateway.backends.daily.rest.DailyRestClient` sends them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Recorded", "Reply", "StubDaily"]


@dataclass
class Recorded:
    """One request as the stub server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What the stub answers: a status and JSON, raw bytes, or nothing at all (hang)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    hang: bool = False
    echo_auth: bool = False


class StubDaily:
    """A tiny HTTP/1.1 server standing in for api.daily.co, answering scripted replies."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: dict[tuple[str, str], Reply] = {}
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._release = asyncio.Event()
        self.url = ""

    def on(self, method: str, target: str, reply: Reply) -> None:
        self.replies[(method, target)] = reply

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1:``port`` (0: any free port); :attr:`url` is the API base URL."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def close(self) -> None:
        self._release.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Recorded(method, target, headers, body))
            reply = self.replies.get((method, target), Reply(404, {"error": "not-found", "info": "no route"}))
            if reply.hang:
                await self._release.wait()
                return
            if reply.raw is not None:
                writer.write(reply.raw)
            else:
                payload = reply.body
                if reply.echo_auth:  # a misbehaving proxy that reflects the request headers
                    payload = {"error": "invalid-request-error", "info": f"bad header {headers['authorization']}"}
                data = b"" if payload is None else json.dumps(payload).encode()
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} Whatever\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n{extra}Connection: close\r\n\r\n".encode()
                    + data
                )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
