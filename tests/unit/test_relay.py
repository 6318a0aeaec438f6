"""The relay between a client's connection and its upstream, with stand-ins for both: order, backpressure, close codes."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from websockets.frames import Close

from gateway.cluster.bridge import Handover
from gateway.cluster.relay import Relay


class Transport:
    """What the relay uses of a transport: reading paused or not, aborted or not."""

    def __init__(self) -> None:
        self.reading = True
        self.aborted = False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


class ClientConnection:
    """The client's gateway connection: writes recorded; over its mark until ``drain``; closes recorded."""

    def __init__(self) -> None:
        self.transport = Transport()
        self.written: list[tuple[bytes, bool]] = []
        self.writable = True
        self.closes: list[tuple[int, str]] = []
        self.protocol = SimpleNamespace(close_rcvd=None, close_sent=None, close_rcvd_then_sent=None)
        self._drained = asyncio.Event()
        self._closed = asyncio.Event()

    def write_message(self, data: bytes, *, text: bool) -> bool:
        if self._closed.is_set():
            return False
        self.written.append((data, text))
        return True

    def drain(self) -> None:
        self.writable = True
        self._drained.set()

    async def wait_writable(self) -> None:
        await self._drained.wait()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def lose(self, code: int | None = None) -> None:
        """The client closed with ``code`` (None: dropped)."""
        self.protocol.close_rcvd = Close(code, "bye") if code is not None else None
        self._closed.set()

    def closed_by_this_node(self, code: int, reason: str) -> None:
        """This node closed the client (the idle watchdog's 4009) and the client answered."""
        self.protocol.close_sent = Close(code, reason)
        self.protocol.close_rcvd = Close(code, reason)
        self.protocol.close_rcvd_then_sent = False
        self._closed.set()

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        self._closed.set()


class Upstream:
    """The connection to the serving node: sends recorded, reading paused or not, how it ended."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bool]] = []
        self.reading = True
        self.aborted = False
        self.closes: list[tuple[int, str]] = []
        self.close_received: Close | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_message = None
        self.on_writable = None

    def start(self, on_message) -> None:  # noqa: ANN001
        self.on_message = on_message

    def send(self, data: bytes, *, text: bool) -> bool:
        self.sent.append((data, text))
        return True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def abort(self) -> None:
        self.aborted = True
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))
        if not self.closed.done():
            self.closed.set_result(None)

    def lose(self, code: int | None) -> None:
        """The serving node closed with ``code`` (None: it died)."""
        self.close_received = Close(code, "host says") if code is not None else None
        self.closed.set_result(None)


def relay() -> tuple[Relay, ClientConnection, Upstream]:
    client, upstream = ClientConnection(), Upstream()
    made = Relay(client, upstream, Handover("s", "s.t", next_seq=2), "node-b")  # type: ignore[arg-type]
    return made, client, upstream


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_deciding_request_then_the_held_messages_go_first_in_order_text_and_binary_kept_apart():
    """The request that decided the relay goes first, then what the client sent meanwhile, then live messages."""
    made, _, upstream = relay()
    made.start('{"type":"join"}', [b"\x01audio", '{"type":"ping"}'])
    made.to_host(b"\x02live")
    assert upstream.sent == [(b'{"type":"join"}', True), (b"\x01audio", False), (b'{"type":"ping"}', True),
                             (b"\x02live", False)]


async def test_a_client_over_its_mark_stops_the_upstream_until_it_drains():
    """A message that leaves the client's connection over its high-water mark pauses reading the serving node;
    reading resumes once the client drained: the relaying node holds at most a read's worth."""
    made, client, upstream = relay()
    made.start("{}", [])
    upstream.on_message(b"frame-1", False)
    assert upstream.reading
    client.writable = False
    upstream.on_message(b"frame-2", False)
    assert not upstream.reading
    client.drain()
    await settle()
    assert upstream.reading
    assert client.written == [(b"frame-1", False), (b"frame-2", False)]


async def test_an_upstream_over_its_mark_stops_reading_the_client():
    """The serving node not taking the client's messages fast enough pauses reading the client, until it does."""
    made, client, upstream = relay()
    made.start("{}", [])
    upstream.on_writable(False)
    assert not client.transport.reading
    upstream.on_writable(True)
    assert client.transport.reading


async def test_the_serving_nodes_close_code_reaches_the_client_and_its_death_drops_the_client():
    """A close from the serving node (4010 here) is passed on as it is; a serving node that dies drops the client."""
    made, client, upstream = relay()
    made.start("{}", [])
    upstream.lose(4010)
    await settle()
    assert client.closes == [(4010, "host says")] and made.stats.ended_by == "host"

    made, client, upstream = relay()
    made.start("{}", [])
    upstream.lose(None)
    await settle()
    assert client.transport.aborted and client.closes == []


async def test_the_clients_close_code_reaches_the_serving_node_and_its_drop_drops_the_upstream():
    """A client's close (4009 here) is passed on; a client that drops makes the upstream drop (the session is kept
    for a resume on the serving node)."""
    made, client, upstream = relay()
    made.start("{}", [])
    client.lose(4009)
    await settle()
    assert upstream.closes == [(4009, "bye")] and not upstream.aborted
    await asyncio.wait_for(made.done, 1)

    made, client, upstream = relay()
    made.start("{}", [])
    client.lose(None)
    await settle()
    assert upstream.aborted and upstream.closes == []


async def test_a_draining_node_closes_the_client_with_1012_and_drops_the_upstream():
    """end_with (draining): the client gets 1012; the serving node a drop, so it keeps the session for the resume."""
    made, client, upstream = relay()
    made.start("{}", [])
    await made.end_with(1012, "node draining")
    await settle()
    assert client.closes == [(1012, "node draining")] and upstream.aborted and not client.transport.aborted


async def test_a_client_this_node_closed_for_idling_ends_its_session_on_the_serving_node():
    """The relaying node's idle watchdog (4009) ends the session as a direct client's would: the serving node gets
    1001 (a close it takes as meant), not the client's echoed 4009 (which it would keep for a resume)."""
    made, client, upstream = relay()
    made.start("{}", [])
    client.closed_by_this_node(4009, "idle for 60 s")
    await settle()
    assert upstream.closes == [(1001, "closed by the relaying node: 4009 idle for 60 s")]
