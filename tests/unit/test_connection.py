"""GatewayConnection and Listener: frames, handshake and close behave as RFC 6455 and websockets do, over real loopback sockets."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import AsyncIterator, Callable

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve as websockets_serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from gateway.net.budget import ReceiveBudget
from gateway.net.connection import APPLY_MASK, GatewayConnection, frame_header, unmask
from gateway.net.listener import Listener, serve
from gateway.session.replay import ended_on_purpose


class Harness:
    """A loopback server whose connections record what they receive; ``serve_after`` delays the handler."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []
        self.connections: list[GatewayConnection] = []
        self.serve_after = 0.0
        self.handler: Callable[[str | bytes], None] = self.received.append
        self.closed = asyncio.Event()
        self.port = 0

    async def handle(self, connection: GatewayConnection) -> None:
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
    async with await serve(h.handle, "127.0.0.1", 0, max_size=1 << 16, close_timeout=0.5) as server:
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


def upgrade_request(port: int, path: str = "/", extra: str = "") -> bytes:
    """A client's opening handshake request (RFC 6455 4.1), with ``extra`` header lines."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    ).encode()


async def raw_client(port: int, *, after_request: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP client that completes the opening handshake by hand (``after_request`` in the same write), then sends anything."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(upgrade_request(port) + after_request)
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    return reader, writer


async def http_exchange(port: int, request: bytes, timeout: float = 3.0) -> bytes:
    """Send ``request`` on a new TCP connection; everything the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(1 << 20), timeout) + await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


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
        assert harness.received == [] and len(harness.connections[0]._waiting) > 0  # one read, kept unparsed
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


def test_unmask_and_the_mask_function_in_use_match_the_rfc_definition_at_every_length():
    """unmask and APPLY_MASK (websockets' C one) XOR byte i with mask[i % 4] (RFC 6455 5.3), bytes or memoryview."""
    mask = b"\x9a\x01\xff\x42"
    for n in [*range(10), 125, 70000]:
        data = os.urandom(n)
        expected = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        for function in (unmask, APPLY_MASK):
            assert function(data, mask) == expected
            assert function(memoryview(expected), mask) == data


def test_frame_header_encodes_the_three_length_forms():
    """Lengths < 126 in one byte, < 65536 in 16 bits after 126, else 64 bits after 127; FIN and opcode set."""
    assert frame_header(5, text=True) == b"\x81\x05"
    assert frame_header(126, text=False) == b"\x82\x7e\x00\x7e"
    assert frame_header(65536, text=False) == b"\x82\x7f" + (65536).to_bytes(8, "big")



async def test_frames_in_the_same_write_as_the_request_are_refused_400_unread(harness: Harness):
    """Frames a client sends right behind its request head, before the 101 (RFC 6455 4.1 forbids it), get 400 (15.1)."""
    got = await http_exchange(harness.port, upgrade_request(harness.port) + masked(2, b"first") + masked(1, b"second"))
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"pipelined" in body
    assert harness.connections == [] and harness.received == []


async def test_a_request_head_cut_inside_its_blank_line_opens_the_connection(harness: Harness):
    """A head whose final CRLF CRLF spans three reads opens the connection; a frame sent after the 101 is delivered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.port)
    request = upgrade_request(harness.port)
    for piece in (request[:-3], request[-3:-1], request[-1:]):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.02)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    writer.write(masked(2, b"x" * 300))
    await wait_for(lambda: harness.received == [b"x" * 300])
    writer.close()


class Hooks:
    """process_request / select_subprotocol hooks as gateway/server.py has them, recording what they saw."""

    def __init__(self) -> None:
        self.offered: list[list[str]] = []
        self.connections: list[GatewayConnection] = []

    def process_request(self, connection: GatewayConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            body = b'{"status":"ok"}'
            headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                               ("Connection", "close")])
            return Response(200, "OK", headers, body)
        if request.path == "/boom":
            raise RuntimeError("simulated bug in process_request")
        return None

    def select_subprotocol(self, connection: GatewayConnection, offered: object) -> Subprotocol | None:
        self.offered.append(list(offered))  # type: ignore[call-overload]
        return Subprotocol("test.v1") if "test.v1" in offered else None  # type: ignore[operator]

    async def handle(self, connection: GatewayConnection) -> None:
        self.connections.append(connection)
        if connection.request is not None and connection.request.path == "/deny":
            await connection.close(4003, "denied")
            return
        connection.serve(lambda message: None)
        await connection.wait_closed()


@pytest.fixture
async def hooked() -> AsyncIterator[tuple[Hooks, int]]:
    hooks = Hooks()
    async with await serve(hooks.handle, "127.0.0.1", 0, subprotocols=[Subprotocol("test.v1")],
                           select_subprotocol=hooks.select_subprotocol, process_request=hooks.process_request,
                           server_header="test-gateway/1", close_timeout=0.5) as server:
        yield hooks, server.sockets[0].getsockname()[1]


async def test_process_request_answers_plain_http_with_the_server_header(hooked: tuple[Hooks, int]):
    """A response from process_request is sent as is (plus Server), then the connection closes; no handler runs."""
    hooks, port = hooked
    got = await http_exchange(port, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"\r\nServer: test-gateway/1" in head
    assert body == b'{"status":"ok"}'
    assert hooks.connections == []


async def test_a_bug_in_process_request_is_a_500(hooked: tuple[Hooks, int], caplog):
    """process_request raising gives 500 and a logged error, as websockets does; the listener goes on."""
    hooks, port = hooked
    got = await http_exchange(port, upgrade_request(port, "/boom"))
    assert got.startswith(b"HTTP/1.1 500")
    assert any("process_request failed" in r.getMessage() for r in caplog.records)
    async with connect(f"ws://127.0.0.1:{port}/", subprotocols=[Subprotocol("test.v1")]) as ws:
        assert ws.subprotocol == "test.v1"


async def test_select_subprotocol_sees_the_offer_and_its_choice_is_in_the_response(hooked: tuple[Hooks, int]):
    """The hook gets the client's offer; the one it picks is the connection's subprotocol on both sides."""
    hooks, port = hooked
    async with connect(f"ws://127.0.0.1:{port}/", subprotocols=[Subprotocol("other"), Subprotocol("test.v1")]) as ws:
        assert ws.subprotocol == "test.v1"
        await wait_for(lambda: bool(hooks.connections))
        assert hooks.connections[0].subprotocol == "test.v1"
        assert hooks.connections[0].response is not None
        assert hooks.connections[0].response.headers["Server"] == "test-gateway/1"
    assert hooks.offered == [["other", "test.v1"]]


async def test_a_close_code_after_the_upgrade_reaches_the_client_and_counts_as_meant(hooked: tuple[Hooks, int]):
    """The handler's close(4003) arrives as code and reason; the server side knows it closed first (no resume)."""
    hooks, port = hooked
    async with connect(f"ws://127.0.0.1:{port}/deny") as ws:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 3)
    assert info.value.rcvd is not None and (info.value.rcvd.code, info.value.rcvd.reason) == (4003, "denied")
    server = hooks.connections[0]
    await asyncio.wait_for(server.wait_closed(), 3)
    assert server.protocol.close_sent is not None and server.protocol.close_sent.code == 4003
    assert ended_on_purpose(server)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
    ],
    ids=["no-key", "wrong-version", "no-upgrade", "http-1.0"],
)
async def test_bad_handshakes_get_the_same_answer_as_from_websockets_own_server(request_bytes: bytes):
    """Malformed upgrade requests the screen lets through get the status line websockets' own server sends (or none)."""

    async def idle(connection: object) -> None:
        await asyncio.sleep(0)

    async with websockets_serve(idle, "127.0.0.1", 0) as reference, \
            await serve(idle, "127.0.0.1", 0) as ours:  # type: ignore[arg-type]
        expected = await http_exchange(reference.sockets[0].getsockname()[1], request_bytes)
        got = await http_exchange(ours.sockets[0].getsockname()[1], request_bytes)
    assert got.split(b"\r\n", 1)[0] == expected.split(b"\r\n", 1)[0]
    assert got.partition(b"\r\n\r\n")[2] == expected.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"NONSENSE\r\n\r\n", 405),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(70)) + b"\r\n", 431),
    ],
    ids=["request-line-too-long", "not-http", "post", "duplicate-host", "chunked", "head-too-large"],
)
async def test_the_request_screen_answers_before_websockets_reads_the_head(request_bytes: bytes, status: int, caplog):
    """Requests websockets would drop silently or half-parse get the screen's status (PROTOCOL.md 15.1) and one log line."""
    handled: list[GatewayConnection] = []

    async def handle(connection: GatewayConnection) -> None:
        handled.append(connection)

    async with await serve(handle, "127.0.0.1", 0) as ours:
        got = await http_exchange(ours.sockets[0].getsockname()[1], request_bytes)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status) and b"\r\nConnection: close" in head and body.startswith(b'{"error":')
    assert handled == []
    assert len([r for r in caplog.records if "refused HTTP request" in r.getMessage()]) == 1


async def test_a_client_that_never_completes_the_handshake_is_dropped_after_open_timeout():
    """A TCP connection that sends half a request is aborted after open_timeout (no handler ran)."""
    handled: list[GatewayConnection] = []

    async def handle(connection: GatewayConnection) -> None:
        handled.append(connection)

    async with await serve(handle, "127.0.0.1", 0, open_timeout=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert await asyncio.wait_for(reader.read(), 3) == b""
        writer.close()
    assert handled == []


async def test_a_peer_that_does_not_answer_a_close_is_aborted_after_close_timeout(harness: Harness):
    """After the server's close frame a silent peer gets close_timeout, then TCP is aborted and wait_closed returns."""
    reader, writer = await raw_client(harness.port)
    await wait_for(lambda: bool(harness.connections))
    server = harness.connections[0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(server.close(1001, "going away"), 3)
    assert 0.4 <= loop.time() - started < 2.5  # close_timeout is 0.5 s in the harness
    opcode, payload = await read_frame(reader)
    assert opcode == 8 and struct.unpack("!H", payload[:2])[0] == 1001
    writer.close()


async def test_a_client_close_ends_the_connection_and_is_seen_as_meant(harness: Harness):
    """A client's close 1000 is echoed, TCP closes, wait_closed returns; ended_on_purpose says so."""
    async with connect(f"ws://127.0.0.1:{harness.port}") as ws:
        await ws.send(b"hi")
        await wait_for(lambda: harness.received == [b"hi"])
    await asyncio.wait_for(harness.closed.wait(), 3)
    server = harness.connections[0]
    assert server.protocol.close_rcvd is not None and server.protocol.close_rcvd.code == 1000
    assert ended_on_purpose(server) and not server.writable


async def test_a_dropped_tcp_connection_is_not_meant(harness: Harness):
    """TCP lost without a close frame: wait_closed returns and ended_on_purpose is False (the session may resume)."""
    reader, writer = await raw_client(harness.port)
    await wait_for(lambda: bool(harness.connections))
    writer.transport.abort()
    await asyncio.wait_for(harness.closed.wait(), 3)
    assert not ended_on_purpose(harness.connections[0])


async def test_ping_resolves_on_the_pong_and_fails_once_closed(harness: Harness):
    """ping() returns a future that gets the round trip when websockets' client answers; after close it raises."""
    async with connect(f"ws://127.0.0.1:{harness.port}") as ws:
        await wait_for(lambda: bool(harness.connections))
        server = harness.connections[0]
        waiter = await server.ping()
        latency = await asyncio.wait_for(waiter, 3)
        assert 0 <= latency < 3
        await ws.close()
    await asyncio.wait_for(server.wait_closed(), 3)
    with pytest.raises(ConnectionClosed):
        await server.ping()


async def test_unanswered_pings_end_with_the_connection_and_an_early_pong_answers_all(harness: Harness):
    """A pong for the last ping answers every earlier one; pings still unanswered when TCP drops are cancelled."""
    reader, writer = await raw_client(harness.port)
    await wait_for(lambda: bool(harness.connections))
    server = harness.connections[0]
    first, second = await server.ping(), await server.ping()
    _, one = await read_frame(reader)
    _, two = await read_frame(reader)
    writer.write(masked(0xA, two))
    assert await asyncio.wait_for(first, 3) >= 0 and await asyncio.wait_for(second, 3) >= 0
    third = await server.ping()
    writer.transport.abort()
    await asyncio.wait_for(server.wait_closed(), 3)
    assert third.done()


async def test_the_handlers_return_closes_with_1000_and_a_raise_with_1011(caplog):
    """The listener closes a connection whose handler returned (1000) or raised (1011, logged)."""

    async def handle(connection: GatewayConnection) -> None:
        if connection.request is not None and connection.request.path == "/raise":
            raise RuntimeError("simulated handler bug")

    async with await serve(handle, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        for path, code in (("/", 1000), ("/raise", 1011)):
            async with connect(url + path) as ws:
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 3)
            assert info.value.rcvd is not None and info.value.rcvd.code == code
    assert any("connection handler failed" in r.getMessage() for r in caplog.records)


async def test_closing_the_listener_closes_open_connections_with_1001_and_refuses_new_ones():
    """Listener.close() sends 1001 to open connections and waits for their handlers; new connections are refused."""
    async def handle(connection: GatewayConnection) -> None:
        connection.serve(lambda message: None)
        await connection.wait_closed()

    listener = await serve(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    async with connect(f"ws://127.0.0.1:{port}") as ws:
        listener.close()
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 3)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    await asyncio.wait_for(listener.wait_closed(), 3)
    with pytest.raises(OSError):
        await connect(f"ws://127.0.0.1:{port}", open_timeout=2)


async def test_the_owner_is_told_how_many_bytes_of_incomplete_messages_a_connection_holds():
    """The holding hook sees a partial frame's bytes, then a fragmented message's, then 0 once it is complete."""
    sizes: list[int] = []
    received: list[str | bytes] = []

    class Counting(Listener):
        def holding(self, connection: GatewayConnection, size: int) -> None:
            sizes.append(size)

    async def handle(connection: GatewayConnection) -> None:
        connection.serve(received.append)
        await connection.wait_closed()

    listener = Counting(handle)
    await listener.listen("127.0.0.1", 0)
    async with listener:
        reader, writer = await raw_client(listener.sockets[0].getsockname()[1])
        frame = masked(2, b"p" * 1000)
        writer.write(frame[:500])
        await wait_for(lambda: sizes == [500])
        writer.write(frame[500:] + masked(1, b"frag", fin=False))
        await wait_for(lambda: sizes == [500, 4])  # one read: the frame completed, a fragment held
        writer.write(masked(0, b"ment"))
        await wait_for(lambda: sizes == [500, 4, 0])
        await wait_for(lambda: received == [b"p" * 1000, "fragment"])
        writer.close()


async def test_tls_connections_carry_messages_both_ways(tmp_path):
    """Over TLS (the gateway's tls_cert) the handshake, the fast path, write_message and the close work."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    harness = Harness()
    harness.handler = lambda message: harness.connections[0].write_message(
        message if isinstance(message, bytes) else message.encode(), text=isinstance(message, str))
    async with await serve(harness.handle, "127.0.0.1", 0, ssl=server_context, close_timeout=1) as server:
        url = f"wss://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with connect(url, ssl=client_context) as ws:
            for message in (b"\x00" * 70000, "héllo", b"x"):
                await ws.send(message)
                assert await asyncio.wait_for(ws.recv(), 3) == message
        await asyncio.wait_for(harness.closed.wait(), 3)
    with pytest.raises((InvalidStatus, OSError, ssl.SSLError)):
        await connect(url, ssl=client_context, open_timeout=2)


# ---------------------------------------------------------------------- hostile input (PROTOCOL.md 15), issue 17


class Guarded:
    """A listener with frame limits and a receive budget, as the gateway runs it; records messages and skipped frames."""

    def __init__(self, budget: ReceiveBudget, *, serve_after: float = 0.0, deny: tuple[int, str] | None = None) -> None:
        self.budget = budget
        self.serve_after = serve_after
        self.deny = deny
        self.received: list[str | bytes] = []
        self.oversize: list[tuple[bool, int, bytes]] = []
        self.connections: list[GatewayConnection] = []
        self.listener: Listener | None = None
        self.port = 0

    async def handle(self, connection: GatewayConnection) -> None:
        self.connections.append(connection)
        if self.serve_after:
            try:
                await asyncio.wait_for(connection.wait_closed(), self.serve_after)
                return  # closed before it was served
            except TimeoutError:
                pass
        if self.deny is not None:
            connection.deny(*self.deny)
        else:
            connection.serve(self.received.append, lambda text, length, head: self.oversize.append((text, length, head)))
        await connection.wait_closed()

    async def __aenter__(self) -> Guarded:
        self.listener = await serve(self.handle, "127.0.0.1", 0, max_size=1 << 20, max_text_bytes=1000,
                                    max_binary_bytes=4000, receive_budget=self.budget, close_timeout=0.5)
        self.port = self.listener.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.listener is not None
        self.listener.close()
        await asyncio.wait_for(self.listener.wait_closed(), 5)


def roomy() -> ReceiveBudget:
    return ReceiveBudget(total=1 << 20, per_connection=1 << 20, allowance=0)


async def read_close(reader: asyncio.StreamReader) -> tuple[int, str]:
    """Skip data frames until the server's close frame: (code, reason)."""
    while True:
        opcode, payload = await asyncio.wait_for(read_frame(reader), 3)
        if opcode == 8:
            return struct.unpack("!H", payload[:2])[0], payload[2:].decode()


@pytest.mark.parametrize("pieces", [1, 7, 400], ids=["one-write", "seven-writes", "400-writes"])
async def test_an_oversize_binary_frame_is_skipped_unread_and_reported_with_its_header(pieces: int):
    """A binary frame over max_binary_bytes is dropped as it arrives (never held), reported with its first 28 bytes unmasked."""
    header = bytes(range(28))
    frame = masked(2, header + os.urandom(6000))
    async with Guarded(roomy()) as guarded:
        reader, writer = await raw_client(guarded.port)
        await wait_for(lambda: bool(guarded.received) or bool(guarded.connections))
        step = -(-len(frame) // pieces)
        for i in range(0, len(frame), step):
            writer.write(frame[i:i + step])
            await writer.drain()
        writer.write(masked(2, b"after") + masked(1, b"x" * 1001) + masked(1, b"last"))
        await wait_for(lambda: len(guarded.received) == 2)
        assert guarded.received == [b"after", "last"]
        assert guarded.oversize == [(False, 6028, header), (True, 1001, b"x" * 28)]
        assert guarded.budget.peak == 0  # nothing of the skipped frames was ever held
        writer.close()


async def test_a_frame_at_the_limits_is_delivered():
    """Frames exactly max_text_bytes / max_binary_bytes long are delivered, not skipped."""
    async with Guarded(roomy()) as guarded:
        reader, writer = await raw_client(guarded.port)
        writer.write(masked(1, b"t" * 1000) + masked(2, b"b" * 4000))
        await wait_for(lambda: len(guarded.received) == 2)
        assert guarded.received == ["t" * 1000, b"b" * 4000] and guarded.oversize == []
        writer.close()


async def test_nothing_is_parsed_before_serve_and_deny_closes_without_reading():
    """A connection denied before it is served gets its close code; frames it sent (even bad ones) are never parsed."""
    async with Guarded(roomy(), serve_after=0.2, deny=(4001, "unauthorized")) as guarded:
        reader, writer = await raw_client(guarded.port)
        writer.write(masked(2, b"secret") + bytes((0x82, 3)) + b"abc")  # a frame, then an unmasked one (1002 if parsed)
        assert await read_close(reader) == (4001, "unauthorized")
        assert await asyncio.wait_for(reader.read(), 3) == b""
        await wait_for(lambda: guarded.connections[0].state.name == "CLOSED")
        assert guarded.received == [] and guarded.budget.used == 0
        writer.close()


async def test_a_partial_frame_past_the_connection_budget_closes_1009_and_frees_it():
    """Bytes of an incomplete frame past max_receive_buffer_bytes close with 1009; the account is given back."""
    budget = ReceiveBudget(total=0, per_connection=10_000, allowance=0)
    async with Guarded(budget) as guarded:
        reader, writer = await raw_client(guarded.port)
        fragments = masked(2, os.urandom(3000), fin=False) + masked(0, os.urandom(3000), fin=False) * 2
        writer.write(fragments + masked(0, os.urandom(3000), fin=False)[:2000])  # 9000 in fragments, 2000 partial
        code, reason = await read_close(reader)
        assert code == 1009 and "max_receive_buffer_bytes" in reason
        await asyncio.wait_for(guarded.connections[0].wait_closed(), 3)
        assert budget.used == 0 and guarded.connections[0].account.held == 0
        writer.close()


async def test_the_gateway_wide_pool_closes_the_grower_1013_and_spares_the_others():
    """Past the gateway-wide pool the connection that grows is closed 1013; another keeps its frames flowing."""
    budget = ReceiveBudget(total=3000, per_connection=1 << 20, allowance=1000)
    async with Guarded(budget) as guarded:
        victim_reader, victim = await raw_client(guarded.port)
        hog_reader, hog = await raw_client(guarded.port)
        await wait_for(lambda: len(guarded.connections) == 2)
        hog.write(masked(2, os.urandom(3900))[:3500])  # 2500 of the pool: within it
        await wait_for(lambda: budget.used == 2500)
        hog2_reader, hog2 = await raw_client(guarded.port)
        hog2.write(masked(2, os.urandom(3900))[:2000])  # 1000 more of the pool: past it
        code, reason = await read_close(hog2_reader)
        assert code == 1013 and "max_receive_buffer_bytes_total" in reason
        victim.write(masked(2, b"still here"))
        await wait_for(lambda: guarded.received == [b"still here"])
        hog.transport.abort()  # a holder goes: its pool bytes come back at once
        await wait_for(lambda: budget.used == 0)
        for w in (victim, hog2):
            w.close()


async def test_what_is_read_before_serve_counts_against_the_budget():
    """The read kept unparsed before serve() is held too: past the per-connection cap the connection closes 1009."""
    budget = ReceiveBudget(total=0, per_connection=5000, allowance=0)
    async with Guarded(budget, serve_after=1.0) as guarded:
        reader, writer = await raw_client(guarded.port)
        await wait_for(lambda: bool(guarded.connections))
        writer.write(masked(2, os.urandom(6000)))
        code, _ = await read_close(reader)
        assert code == 1009 and guarded.received == []
        await wait_for(lambda: budget.used == 0)
        writer.close()


async def test_a_lost_connection_frees_what_it_held():
    """A peer that drops mid-frame: the partial frame and fragments are freed and the pool given back at once."""
    budget = roomy()
    async with Guarded(budget) as guarded:
        reader, writer = await raw_client(guarded.port)
        writer.write(masked(1, b"frag", fin=False) + masked(2, os.urandom(3000))[:2000])
        await wait_for(lambda: budget.used == 2004)
        writer.transport.abort()
        connection = guarded.connections[0]
        await asyncio.wait_for(connection.wait_closed(), 3)
        assert budget.used == 0 and connection._held == bytearray() and connection._fragments == []


async def test_closing_before_serve_reads_the_peers_close_and_ends_at_once():
    """A connection closed (1001) before it was served still completes the closing handshake, without close_timeout."""
    async with Guarded(roomy(), serve_after=5.0) as guarded:
        async with connect(f"ws://127.0.0.1:{guarded.port}") as ws:
            await ws.send(b"unread")
            await wait_for(lambda: bool(guarded.connections) and guarded.connections[0]._reading_paused)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.wait_for(guarded.connections[0].close(1001, "going away"), 3)
            assert loop.time() - started < 0.4  # close_timeout is 0.5 s: the peer's close was read
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 3)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
        assert guarded.received == []


async def test_a_partial_frame_after_the_servers_close_is_held_within_the_budget():
    """While closing, frames still go whole to websockets: a huge partial one is bounded by the budget, not max_size."""
    budget = ReceiveBudget(total=0, per_connection=8000, allowance=0)
    async with Guarded(budget) as guarded:
        reader, writer = await raw_client(guarded.port)
        await wait_for(lambda: bool(guarded.connections))
        closing = asyncio.create_task(guarded.connections[0].close(1000))
        assert (await read_close(reader))[0] == 1000
        writer.write(masked(2, os.urandom(3000))[:2500])
        await wait_for(lambda: budget.used == 2500)
        writer.write(os.urandom(8000))  # still the same partial frame (3000 bytes): past the cap
        await asyncio.wait_for(closing, 3)  # aborted: no second close frame can be sent
        assert budget.used == 0
        writer.close()
