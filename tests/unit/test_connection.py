"""GatewayConnection: its own frame parser and writer behave as RFC 6455 and websockets do, over real loopback sockets."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from gateway.net.connection import GatewayConnection, frame_header


class Harness:
    """A loopback server whose connections record what they receive; ``serve_after`` delays the handler."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []
        self.connections: list[GatewayConnection] = []
        self.serve_after = 0.0
        self.handler: Callable[[str | bytes], None] = self.received.append
        self.closed = asyncio.Event()
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        assert isinstance(connection, GatewayConnection)
        self.connections.append(connection)
        if self.serve_after:
            await asyncio.sleep(self.serve_after)
        connection.serve(self.handler)
        await connection.wait_closed()
        self.closed.set()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    async with serve(h.handle, "127.0.0.1", 0, create_connection=GatewayConnection, max_size=1 << 16,
                     ping_interval=None, compression=None, close_timeout=0.5) as server:
        h.port = server.sockets[0].getsockname()[1]
        yield h


def masked(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None, rsv: int = 0) -> bytes:
    """A client frame (masked with ``mask``, random by default)."""
    mask = os.urandom(4) if mask is None else mask
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


async def raw_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP client that completes the opening handshake by hand, to send arbitrary bytes after it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
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


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met in time")


async def test_messages_of_every_header_size_arrive_whole_and_in_order(harness: Harness):
    """Text and binary messages across the 7/16/64-bit length boundaries, randomly masked, arrive intact and in order."""
    sizes = [0, 1, 125, 126, 127, 65535, 65536 - 14]
    sent: list[str | bytes] = []
    async with connect(f"ws://127.0.0.1:{harness.port}", max_size=None, compression=None) as ws:
        for i, n in enumerate(sizes):
            message: str | bytes = os.urandom(n) if i % 2 else "é" * (n // 2)
            sent.append(message)
            await ws.send(message)
        await wait_for(lambda: len(harness.received) == len(sent))
    assert harness.received == sent


async def test_frames_split_byte_by_byte_or_packed_together_are_parsed_the_same(harness: Harness, caplog):
    """A stream cut at every byte, then many frames in one write (zero and random masks), yields the same messages."""
    frames = [masked(2, bytes([i]) * (i * 40), mask=b"\0\0\0\0" if i % 2 else None) for i in range(1, 8)]
    frames.append(masked(1, b"done"))
    reader, writer = await raw_client(harness.port)
    for byte in b"".join(frames):
        writer.write(bytes([byte]))
        await writer.drain()
    writer.write(b"".join(frames))
    await wait_for(lambda: len(harness.received) == 16)
    expected = [bytes([i]) * (i * 40) for i in range(1, 8)] + ["done"]
    assert harness.received == expected + expected
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "data_received raised"
    assert not harness.closed.is_set()
    writer.close()


async def test_a_frame_cut_inside_its_payload_then_more_frames_in_one_chunk(harness: Harness, caplog):
    """Held bytes of a cut frame are completed by a chunk that carries further frames; nothing is lost or raised."""
    frames = [masked(2, os.urandom(300)) for _ in range(4)]
    stream = b"".join(frames)
    reader, writer = await raw_client(harness.port)
    for cut in (150, 700, len(stream)):
        writer.write(stream[:cut] if cut == 150 else stream[150:cut] if cut == 700 else stream[700:])
        await writer.drain()
        await asyncio.sleep(0.02)
    await wait_for(lambda: len(harness.received) == 4)
    assert b"".join(harness.received) == b"".join(  # type: ignore[arg-type]
        bytes(b ^ f[4 + i % 4] for i, b in enumerate(f[8:])) for f in frames
    )
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "data_received raised"
    writer.close()


async def test_ping_between_data_frames_is_answered_and_order_kept(harness: Harness):
    """A ping amid data frames gets its pong from websockets; the data around it is delivered in order."""
    reader, writer = await raw_client(harness.port)
    writer.write(masked(2, b"before") + masked(9, b"are you there") + masked(2, b"after"))
    opcode, payload = await asyncio.wait_for(read_frame(reader), 3)
    assert (opcode, payload) == (0xA, b"are you there")
    await wait_for(lambda: len(harness.received) == 2)
    assert harness.received == [b"before", b"after"]
    writer.close()


async def test_fragmented_message_is_reassembled_in_order_with_whole_frames(harness: Harness):
    """A text message in three fragments (with a ping inside) is one message, between the whole frames around it."""
    reader, writer = await raw_client(harness.port)
    writer.write(
        masked(2, b"one")
        + masked(1, b"fr", fin=False)
        + masked(0, b"ag", fin=False)
        + masked(9, b"p")
        + masked(0, b"ment")
        + masked(2, b"two")
    )
    await wait_for(lambda: len(harness.received) == 3)
    assert harness.received == [b"one", "fragment", b"two"]
    writer.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(1, b"\xff\xfe"), 1007),  # invalid UTF-8
        (masked(2, b"x" * 70000), 1009),  # over max_size
        (bytes((0x82, 3)) + b"abc", 1002),  # unmasked client frame
        (masked(2, b"x", rsv=0x40), 1002),  # reserved bit without an extension
        (masked(0, b"x"), 1002),  # continuation without a start
    ],
    ids=["invalid-utf8", "oversize", "unmasked", "reserved-bit", "stray-continuation"],
)
async def test_bad_frames_close_with_the_rfc_code(harness: Harness, frame: bytes, code: int):
    """Invalid UTF-8, oversize, unmasked, reserved-bit and stray continuation frames fail the connection with their code."""
    reader, writer = await raw_client(harness.port)
    writer.write(masked(2, b"ok") + frame)
    opcode, payload = await asyncio.wait_for(read_frame(reader), 3)
    assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == code
    assert await asyncio.wait_for(reader.read(), 3) == b""  # the server closed TCP after its close frame
    writer.close()
    await asyncio.wait_for(harness.closed.wait(), 3)
    assert harness.received == [b"ok"]


async def test_nothing_is_read_before_serve_then_every_message_arrives_in_order(harness: Harness):
    """Before the handler is set, reading is paused after one read (nothing parsed); after serve() all arrive in order."""
    harness.serve_after = 0.3
    count = 200
    async with connect(f"ws://127.0.0.1:{harness.port}", compression=None) as ws:
        for i in range(count):
            await ws.send(i.to_bytes(2, "big"))
        await wait_for(lambda: bool(harness.connections) and harness.connections[0]._reading_paused)
        assert harness.received == [] and harness.connections[0]._early == []
        await wait_for(lambda: len(harness.received) == count)
    assert harness.received == [i.to_bytes(2, "big") for i in range(count)]


async def test_a_handler_exception_closes_with_1011_and_is_not_raised(harness: Harness):
    """A bug in the handler fails that connection with 1011; the server keeps serving others."""

    def broken(message: str | bytes) -> None:
        if message == b"boom":
            raise RuntimeError("simulated handler bug")
        harness.received.append(message)

    harness.handler = broken
    async with connect(f"ws://127.0.0.1:{harness.port}", compression=None) as ws:
        await ws.send(b"boom")
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 3)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    harness.handler = harness.received.append
    async with connect(f"ws://127.0.0.1:{harness.port}", compression=None) as ws:
        await ws.send(b"fine")
        await wait_for(lambda: harness.received == [b"fine"])


async def test_written_messages_read_back_identically_by_a_websockets_client(harness: Harness):
    """write_message frames (text, binary, all three header sizes) parse in websockets' client as the same messages."""
    messages: list[tuple[bytes, bool]] = [(b"", False), ("héllo".encode(), True), (os.urandom(126), False),
                                          (os.urandom(70000), False), (b"x" * 65535, True)]
    async with connect(f"ws://127.0.0.1:{harness.port}", max_size=None, compression=None) as ws:
        await wait_for(lambda: bool(harness.connections))
        server = harness.connections[0]
        assert server.writable
        for data, text in messages:
            assert server.write_message(data, text=text)
        got = [await asyncio.wait_for(ws.recv(), 3) for _ in messages]
    assert got == [data.decode() if text else data for data, text in messages]
    await asyncio.wait_for(harness.closed.wait(), 3)
    assert not server.writable and not server.write_message(b"late", text=False)


async def test_writable_goes_false_on_a_full_buffer_and_wait_writable_returns_when_it_drains(harness: Harness):
    """A client that stops reading fills the transport; writable turns False, and wait_writable returns once it reads."""
    reader, writer = await raw_client(harness.port)
    await wait_for(lambda: bool(harness.connections))
    server = harness.connections[0]
    chunk = b"z" * 60000
    written = 0
    while server.writable and written < 2000:
        server.write_message(chunk, text=False)
        written += 1
    assert not server.writable
    waiter = asyncio.ensure_future(server.wait_writable())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    for _ in range(written):
        opcode, payload = await asyncio.wait_for(read_frame(reader), 5)
        assert opcode == 2 and payload == chunk
    await asyncio.wait_for(waiter, 3)
    assert server.writable
    writer.close()


def test_frame_header_encodes_the_three_length_forms():
    """Lengths < 126 in one byte, < 65536 in 16 bits after 126, else 64 bits after 127; FIN and opcode set."""
    assert frame_header(5, text=True) == b"\x81\x05"
    assert frame_header(126, text=False) == b"\x82\x7e\x00\x7e"
    assert frame_header(65536, text=False) == b"\x82\x7f" + (65536).to_bytes(8, "big")


async def test_the_fast_parser_takes_over_once_the_connection_is_open(harness: Harness):
    """After the handshake the connection parses frames itself (websockets' parser sits at a frame boundary)."""
    async with connect(f"ws://127.0.0.1:{harness.port}", compression=None) as ws:
        await ws.send(b"a")
        await wait_for(lambda: harness.received == [b"a"])
        assert harness.connections[0]._fast
