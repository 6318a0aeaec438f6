"""The bridge between real WebSocket connections on loopback: order, bytes, seq, close codes, backpressure."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from gateway.cluster.bridge import (
    HANDOVER_HEADER,
    Bridge,
    BridgeStats,
    Handover,
    HandoverError,
    UpstreamError,
    WebSocketEnd,
    open_upstream,
)

SECRET = b"cluster-secret-for-tests-0123456789"


@dataclass
class Host:
    """A stand-in for the hosting node: adopts the hand-over, numbers its frames, echoes, closes on request."""

    url: str = ""
    handovers: list[Handover] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    """Close code received from the bridge per connection (None: it dropped)."""
    flood_sent: list[int] = field(default_factory=list)
    adopt: bool = True
    connections: list[ServerConnection] = field(default_factory=list)

    async def handler(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        handover = Handover.from_header(ws.request.headers[HANDOVER_HEADER], SECRET)
        self.handovers.append(handover)
        seq = handover.next_seq
        session_id = handover.session_id if self.adopt else "someone-else"
        await ws.send(orjson.dumps({"type": "hello", "seq": 1, "session_id": session_id}).decode())
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await ws.send(message)  # media echoed as it is
                    continue
                request = orjson.loads(message)
                if request["type"] == "close":
                    await ws.close(request["code"], request["reason"])
                    continue
                if request["type"] == "flood":
                    asyncio.get_running_loop().create_task(self.flood(ws, request["count"], request["size"]))
                await ws.send(orjson.dumps({"type": "reply", "seq": seq, "id": request["id"], "ok": True}).decode())
                seq += 1
        except ConnectionClosed:
            pass
        self.closes.append(ws.close_code if ws.protocol.close_rcvd is not None else None)

    async def flood(self, ws: ServerConnection, count: int, size: int) -> None:
        self.flood_sent.append(0)
        try:
            for i in range(count):
                await ws.send(i.to_bytes(4, "little") + bytes(size - 4))
                self.flood_sent[-1] = i + 1
        except ConnectionClosed:
            pass


@dataclass
class Front:
    """A stand-in for the accepting node: its own hello, then the bridge on the first request."""

    host: Host
    url: str = ""
    stats: list[BridgeStats] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)

    async def handler(self, ws: ServerConnection) -> None:
        await ws.send(orjson.dumps({"type": "hello", "seq": 1, "session_id": "s-1", "resume_token": "s-1.x"}).decode())
        first = await ws.recv()
        handover = Handover("s-1", "s-1.x", next_seq=2, principal={"name": "key:k"}, origin_node="front")
        try:
            upstream = await open_upstream(self.host.url, handover, SECRET, open_timeout=3)
        except UpstreamError as exc:
            self.errors.append(exc)
            await ws.close(1011, "no host")
            return
        self.stats.append(await Bridge(WebSocketEnd(ws), upstream).run(first))


@pytest.fixture
async def front() -> AsyncIterator[Front]:
    """A host and a front node on free loopback ports."""
    host = Host()
    front = Front(host)
    async with serve(host.handler, "127.0.0.1", 0, max_size=None, compression=None) as host_server, \
            serve(front.handler, "127.0.0.1", 0, max_size=None, compression=None) as front_server:
        host.url = f"ws://127.0.0.1:{host_server.sockets[0].getsockname()[1]}/v1"
        front.url = f"ws://127.0.0.1:{front_server.sockets[0].getsockname()[1]}/v1"
        yield front


async def client_of(front: Front, **kwargs: object) -> ClientConnection:
    return await connect(front.url, proxy=None, compression=None, max_size=None, **kwargs)  # type: ignore[arg-type]


async def test_messages_cross_in_order_byte_exact_and_seq_continues_from_the_handover(front):
    """Requests and binary frames interleaved reach the host and come back in order, unchanged; the client
    sees the front's hello (seq 1) then the host's frames from seq 2 on, never the host's hello."""
    client = await client_of(front)
    hello = orjson.loads(await client.recv())
    assert (hello["type"], hello["seq"]) == ("hello", 1)
    sent: list[str | bytes] = []
    for i in range(300):
        message: str | bytes = (orjson.dumps({"type": "echo", "id": str(i)}).decode() if i % 3 == 0
                                else os.urandom(100 + i))
        sent.append(message)
        await client.send(message)
    seqs, echoed = [], []
    for expected in sent:
        got = await asyncio.wait_for(client.recv(), 5)
        if isinstance(expected, bytes):
            assert got == expected
            echoed.append(got)
        else:
            reply = orjson.loads(got)
            assert (reply["type"], reply["id"]) == ("reply", orjson.loads(expected)["id"])
            seqs.append(reply["seq"])
    assert seqs == list(range(2, 2 + len(seqs)))
    assert len(echoed) == 200
    await client.close()
    await asyncio.wait_for(_until(lambda: front.stats), 5)
    (handover,) = front.host.handovers
    assert (handover.session_id, handover.resume_token, handover.principal) == ("s-1", "s-1.x", {"name": "key:k"})
    assert (front.stats[0].to_host, front.stats[0].to_client) == (300, 300)


@pytest.mark.parametrize(("code", "reason"), [(4011, "replaced"), (1001, "gateway shutting down"), (4010, "slow")])
async def test_the_hosts_close_code_and_reason_reach_the_client(front, code, reason):
    """The host closing with a code (replaced, shutdown, slow consumer) closes the client with the same code and reason."""
    client = await client_of(front)
    await client.recv()
    await client.send(orjson.dumps({"type": "close", "code": code, "reason": reason}).decode())
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.recv(), 5)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (code, reason)


@pytest.mark.parametrize("code", [1000, 1001, 4000])
async def test_the_clients_close_code_reaches_the_host(front, code):
    """A client closing with a code (normal, going away, any other) closes the upstream with that code, which
    is what the host reads to end the session or keep it for a resume."""
    client = await client_of(front)
    await client.recv()
    await client.send(orjson.dumps({"type": "echo", "id": "1"}).decode())
    await client.recv()
    await client.close(code)
    await asyncio.wait_for(_until(lambda: front.host.closes), 5)
    assert front.host.closes == [code]


async def test_a_client_that_drops_makes_the_host_see_a_drop(front):
    """A client gone without a close frame is passed on as a drop (no close frame to the host: it detaches)."""
    client = await client_of(front)
    await client.recv()
    await client.send(orjson.dumps({"type": "echo", "id": "1"}).decode())
    await client.recv()
    client.transport.abort()
    await asyncio.wait_for(_until(lambda: front.host.closes), 5)
    assert front.host.closes == [None]


async def test_a_host_that_dies_drops_the_client_so_it_resumes(front):
    """The host's connection vanishing (its process killed) drops the client's connection: 1006, no close frame."""
    client = await client_of(front)
    await client.recv()
    await client.send(orjson.dumps({"type": "echo", "id": "1"}).decode())
    await client.recv()
    front.host.connections[0].transport.abort()
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.recv(), 5)
    assert closed.value.rcvd is None


async def test_a_client_that_reads_nothing_stalls_the_host_instead_of_filling_the_front(front):
    """The front holds a bounded amount for a client that stops reading: the host's writes block (so its
    slow-consumer policy applies) long before 128 MiB went through; once the client reads, every frame
    arrives in order."""
    client = await client_of(front, max_queue=4)
    await client.recv()
    count, size = 2048, 64 * 1024
    await client.send(orjson.dumps({"type": "flood", "id": "f", "count": count, "size": size}).decode())
    await asyncio.sleep(1.5)
    stalled_at = front.host.flood_sent[0]
    assert stalled_at < count // 4, f"the host sent {stalled_at} of {count} frames to a client reading nothing"
    got = 0
    reply_seen = False
    while got < count:
        message = await asyncio.wait_for(client.recv(), 10)
        if isinstance(message, str):
            reply_seen = True
            continue
        assert int.from_bytes(message[:4], "little") == got
        got += 1
    assert reply_seen and front.host.flood_sent[0] == count
    await client.close()


async def test_a_host_that_does_not_adopt_the_handover_is_refused(front):
    """A host whose hello names another session is not bridged to: UpstreamError, and the client is closed 1011."""
    front.host.adopt = False
    client = await client_of(front)
    await client.recv()
    await client.send(orjson.dumps({"type": "echo", "id": "1"}).decode())
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.recv(), 5)
    assert closed.value.rcvd.code == 1011
    assert "did not adopt" in str(front.errors[0])


async def test_an_unreachable_host_is_a_typed_error_within_the_timeout():
    """Bridging to a port nobody listens on raises UpstreamError at once, not after the open timeout."""
    from gateway.cluster.redis_server import free_loopback_port

    handover = Handover("s", "s.x", next_seq=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamError):
        await open_upstream(f"ws://127.0.0.1:{free_loopback_port()}/v1", handover, SECRET, open_timeout=2)
    assert loop.time() - started < 2


def test_handover_headers_are_checked():
    """A hand-over with a bad signature, another secret, too old or too many hops is refused; a good one reads back."""
    good = Handover("s-1", "s-1.x", next_seq=5, principal={"name": "token:bot"}, hops=2)
    assert Handover.from_header(good.header(SECRET), SECRET).next_seq == 5
    payload, _, signature = good.header(SECRET).partition(".")
    with pytest.raises(HandoverError):
        Handover.from_header(f"{payload}.{signature[:-2]}AA", SECRET)
    with pytest.raises(HandoverError):
        Handover.from_header(good.header(SECRET), b"another-secret")
    with pytest.raises(HandoverError):
        Handover.from_header(Handover("s", "t", 2, issued_at=1000.0).header(SECRET), SECRET)
    with pytest.raises(HandoverError):
        Handover.from_header(Handover("s", "t", 2, hops=3).header(SECRET), SECRET)
    with pytest.raises(HandoverError):
        Handover.from_header("not a header", SECRET)


async def _until(predicate) -> None:  # noqa: ANN001
    while not predicate():
        await asyncio.sleep(0.01)


def test_oversize_notice_round_trip_and_other_pings_are_not_notices():
    """A notice carries kind, length and the head to quote; any other ping payload reads as no notice."""
    from gateway.cluster.bridge import oversize_notice, read_oversize_notice

    head = bytes(range(28))
    assert read_oversize_notice(oversize_notice(False, 70_000, head + b"more")) == (False, 70_000, head)
    assert read_oversize_notice(oversize_notice(True, 5, b"")) == (True, 5, b"")
    for other in (b"", b"keepalive", b"gateway-oversize:", b"gateway-oversize:x" + bytes(8), b"gateway-oversize:b\0"):
        assert read_oversize_notice(other) is None
    assert len(oversize_notice(False, 2**40, head)) <= 125  # a control frame's payload limit
