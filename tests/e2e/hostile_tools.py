"""What the hostile end-to-end tests attack with: raw sockets speaking just enough HTTP and RFC 6455, and RSS readings."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from typing import Any
from urllib.parse import urlsplit

MIB = 1 << 20
UPGRADE_HEADERS = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def http_exchange(url: str, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``raw`` bytes to the gateway's port; everything it answers until it closes (or ``timeout``)."""
    host, port = host_port(url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                while chunk := await reader.read(65536):
                    chunks.append(chunk)
        return b"".join(chunks)
    finally:
        writer.close()


def upgrade_request(url: str, *, host: str | None = None, extra: str = "", path: str = "/v1") -> bytes:
    """A WebSocket opening handshake as a client sends it (``extra``: more header lines, each ending in CRLF)."""
    h, p = host_port(url)
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: {host or f'{h}:{p}'}\r\n{UPGRADE_HEADERS}Sec-WebSocket-Key: {key}\r\n"
            f"{extra}\r\n").encode()


async def upgraded(url: str, *, extra: str = "", hello: bool = True) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection past the opening handshake (101) and, with ``hello``, the gateway's hello: send anything now."""
    host, port = host_port(url)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(upgrade_request(url, extra=extra))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 101"), head
    if hello:
        opcode, payload = await asyncio.wait_for(read_frame(reader), 10)
        assert opcode == 1 and payload.startswith(b'{"type":"hello"'), payload[:80]
    return reader, writer


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One server frame: (opcode, payload)."""
    first, second = await reader.readexactly(2)
    n = second & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    return first & 0x0F, await reader.readexactly(n)


def frame_head(opcode: int, length: int, *, fin: bool = True, mask: bytes = b"\0\0\0\0") -> bytes:
    """A masked client frame header announcing ``length`` payload bytes (payload not included)."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes((first, 0x80 | length)) + mask
    if length < 65536:
        return struct.pack("!BBH", first, 0x80 | 126, length) + mask
    return struct.pack("!BBQ", first, 0x80 | 127, length) + mask


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A whole masked client frame (zero mask: the payload goes as is)."""
    return frame_head(opcode, len(payload), fin=fin) + payload


async def send_quietly(writer: asyncio.StreamWriter, data: bytes, *, chunk: int = MIB,
                       until: asyncio.Future[Any] | None = None) -> int:
    """Write ``data`` in chunks until done, the gateway closes, or ``until`` is done; returns the bytes written."""
    sent = 0
    view = memoryview(data)
    try:
        while sent < len(data) and not (until is not None and until.done()):
            writer.write(view[sent : sent + chunk])
            await asyncio.wait_for(writer.drain(), 10)
            sent = min(len(data), sent + chunk)
    except (ConnectionError, TimeoutError, OSError):
        pass
    return sent


async def read_close(reader: asyncio.StreamReader, *, timeout: float = 10.0) -> tuple[int | None, str]:
    """Read server frames until a close frame: (code, reason); (None, "") if the connection ended without one."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await read_frame(reader)
                if opcode == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return code, payload[2:].decode(errors="replace")
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return None, ""


def rss_bytes(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of process ``pid`` (Linux /proc)."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def audio_gaps(frames: list) -> tuple[list[tuple[int, int]], float]:  # type: ignore[type-arg]
    """Per track, (seq before, seq after) wherever a received audio frame's seq skipped; and the longest arrival gap (s)."""
    gaps: list[tuple[int, int]] = []
    last: dict[int, int] = {}
    longest = 0.0
    previous_at = None
    for f in frames:
        if f.track in last and f.seq != last[f.track] + 1:
            gaps.append((last[f.track], f.seq))
        last[f.track] = f.seq
        if previous_at is not None:
            longest = max(longest, f.received_at - previous_at)
        previous_at = f.received_at
    return gaps, longest


async def request_json(client: Any, rtype: str, params: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """``client.request`` encoded with the standard library: orjson refuses past 254 levels, an attacker does not."""
    rid = f"hostile-{next(client._ids)}"
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    client._pending[rid] = future
    try:
        await client.ws.send(json.dumps({"type": rtype, "id": rid, **params}))
        return await asyncio.wait_for(future, timeout)
    finally:
        client._pending.pop(rid, None)
