"""A client's WebSocket relayed frame for frame to the node that hosts its room or session.

This module holds the signed :class:`Handover` every relay carries, and :class:`Bridge`, the relay
between two websockets asyncio connections (tools and tests). The gateway's own relay passes messages
on synchronously between its connection and a sans-I/O upstream (``relay.py``, ``upstream.py``), with
the same rules; a task per message here cost about as much CPU per relayed frame as the serving node's
whole work for it (bench/results/cluster.md).

Node A accepted the client; node B hosts the local room it joins (or the session it resumes).
A opens one WebSocket to B (the *upstream*) carrying a signed :class:`Handover` (the session id,
resume token and next ``seq`` A already announced, and the client's principal), drops B's hello,
sends the request that decided the bridge, then copies every message both ways unchanged.
B runs the session exactly as for a direct client; A parses nothing after the hand-over.

What the protocol promises survives the hop (docs/CLUSTER.md, "Bridging"):

- order: one task per direction, each awaits its send before reading the next message, so
  nothing is reordered and A holds at most one message per direction plus the WebSocket
  write buffers; a slow client therefore slows B's writer and meets B's own slow-consumer
  policy (4010), as it would directly;
- ``seq``: B numbers from the hand-over's ``next_seq``, so the client sees one sequence;
- close codes: B's close (code and reason) reaches the client; the client's close reaches B;
  a client that *drops* (no close frame) makes A drop the upstream too (B sees 1006 and keeps
  the session DETACHED for a resume), and a host that dies makes A drop the client.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from protocol.constants import SUBPROTOCOL

HANDOVER_HEADER = "X-Gateway-Handover"
"""The upstream handshake's header carrying the signed :class:`Handover`."""
HANDOVER_MAX_AGE_S = 30.0
"""A hand-over older than this is refused (a captured handshake cannot be replayed later)."""
MAX_HOPS = 2
"""A bridged connection may be bridged once more (a resume that failed on B and joins a room on C);
never further, so a directory in flux cannot make a loop."""


class HandoverError(ValueError):
    """A hand-over header that is malformed, badly signed, too old or over :data:`MAX_HOPS`."""


@dataclass(frozen=True)
class Handover:
    """What the accepting node tells the hosting node about the client it bridges."""

    session_id: str
    """The session id the client got in the accepting node's hello: the host adopts it."""
    resume_token: str
    """The resume token of that hello (a secret: sent only node to node, never written to Redis)."""
    next_seq: int
    """The ``seq`` of the host's first frame to the client (the accepting node sent the ones before)."""
    principal: dict[str, Any] = field(default_factory=dict)
    """Who the client authenticated as, at the accepting node (auth.Principal as data)."""
    origin_node: str = ""
    hops: int = 1
    issued_at: float = 0.0

    def header(self, secret: bytes) -> str:
        """``<payload>.<HMAC-SHA256>``, both base64url: the value of :data:`HANDOVER_HEADER`."""
        body = asdict(self)
        if not body["issued_at"]:
            body["issued_at"] = time.time()
        payload = _b64(orjson.dumps(body))
        return f"{payload}.{_b64(_sign(secret, payload))}"

    @classmethod
    def from_header(cls, value: str, secret: bytes, *, now: float | None = None) -> Handover:
        """Check and read a header written by :meth:`header`; raises :class:`HandoverError`."""
        payload, _, signature = value.partition(".")
        try:
            given = _unb64(signature)
        except ValueError as exc:
            raise HandoverError("malformed hand-over signature") from exc
        if not hmac.compare_digest(given, _sign(secret, payload)):
            raise HandoverError("hand-over signature does not match")
        try:
            body = orjson.loads(_unb64(payload))
            handover = cls(**body)
        except (ValueError, TypeError) as exc:
            raise HandoverError(f"malformed hand-over: {exc}") from exc
        age = (time.time() if now is None else now) - handover.issued_at
        if not -5.0 <= age <= HANDOVER_MAX_AGE_S:
            raise HandoverError(f"hand-over issued {age:.0f} s ago")
        if not 1 <= handover.hops <= MAX_HOPS:
            raise HandoverError(f"hand-over after {handover.hops} hops")
        return handover


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, b"daily-gateway.handover." + payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


class UpstreamError(Exception):
    """The hosting node could not be reached, refused the bridge, or did not greet in time."""


async def open_upstream(address: str, handover: Handover, secret: bytes, *, open_timeout: float = 5.0,
                        max_size: int | None = None) -> ClientConnection:
    """Open the WebSocket to the hosting node and consume its hello (which must adopt the hand-over's session).

    ``max_size``: the largest message the host may send (video frames: 4 x ``max_frame_bytes``); None: no bound
    (the host is trusted and bounds what it sends).
    """
    try:
        upstream = await asyncio.wait_for(connect(
            address,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            additional_headers={HANDOVER_HEADER: handover.header(secret)},
            compression=None,
            proxy=None,  # node to node, never through a proxy the environment names
            ping_interval=None,  # the host pings this connection; its pongs are answered here
            max_size=max_size,
            open_timeout=open_timeout,
        ), open_timeout)
    except (TimeoutError, OSError, Exception) as exc:  # noqa: BLE001 - every failure is "cannot bridge"
        raise UpstreamError(f"cannot open the bridge to {address}: {exc}") from exc
    try:
        hello = orjson.loads(await asyncio.wait_for(upstream.recv(), open_timeout))
    except (TimeoutError, ConnectionClosed, orjson.JSONDecodeError) as exc:
        await _abort(upstream)
        raise UpstreamError(f"no hello from {address}: {exc}") from exc
    if not isinstance(hello, dict) or hello.get("type") != "hello" or hello.get("session_id") != handover.session_id:
        await _abort(upstream)
        raise UpstreamError(f"{address} did not adopt the hand-over (hello: {str(hello)[:200]})")
    return upstream


async def _abort(upstream: ClientConnection) -> None:
    transport = upstream.transport
    if transport is not None:
        transport.abort()
    try:
        await asyncio.wait_for(upstream.wait_closed(), 1.0)
    except TimeoutError:
        pass


class EndClosed(Exception):
    """The client's side ended: ``code`` None when it dropped (no close frame)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class ClientEnd(Protocol):
    """The accepting node's side of the client's connection, as the bridge needs it.

    The gateway's connection (gateway/net) adapts to this; :class:`WebSocketEnd` adapts a
    websockets asyncio connection (tests, tools).
    """

    async def recv(self) -> str | bytes:
        """The client's next message; raises :class:`EndClosed` when the connection ended."""

    async def send(self, message: str | bytes) -> None:
        """Write a message, waiting while the client's write buffer is over its high-water mark."""

    async def close(self, code: int, reason: str) -> None:
        """Close with a close frame."""

    def abort(self) -> None:
        """Drop the connection without a close frame (the client sees 1006 and resumes)."""


class WebSocketEnd:
    """:class:`ClientEnd` over a websockets asyncio connection (server or client side)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def recv(self) -> str | bytes:
        try:
            message: str | bytes = await self.ws.recv()
            return message
        except ConnectionClosed as exc:
            raise EndClosed(exc.rcvd.code if exc.rcvd is not None else None,
                            exc.rcvd.reason if exc.rcvd is not None else "") from exc

    async def send(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)

    def abort(self) -> None:
        if self.ws.transport is not None:
            self.ws.transport.abort()


@dataclass
class BridgeStats:
    """What crossed the bridge: messages and bytes each way, and how it ended."""

    to_host: int = 0
    to_client: int = 0
    bytes_to_host: int = 0
    bytes_to_client: int = 0
    ended_by: str = ""
    """``client`` or ``host``."""
    close_code: int | None = None
    """The close code passed on (None: a drop, passed on as a drop)."""


UNSENDABLE = frozenset({1005, 1006, 1015})
"""Close codes a peer reports but that cannot be sent in a close frame: passed on as a drop."""


class Bridge:
    """Relays one client to its hosting node until either side ends (:meth:`run`)."""

    def __init__(self, client: ClientEnd, upstream: ClientConnection) -> None:
        self.client = client
        self.upstream = upstream
        self.stats = BridgeStats()

    async def run(self, first: str | bytes | None = None) -> BridgeStats:
        """Send ``first`` (the request that decided the bridge) to the host, then relay until one side ends."""
        if first is not None:
            try:
                await self.upstream.send(first)
                self._count_up(first)
            except ConnectionClosed as exc:
                await self._host_ended(exc)
                return self.stats
        up = asyncio.create_task(self._client_to_host(), name="bridge-up")
        down = asyncio.create_task(self._host_to_client(), name="bridge-down")
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                if not task.done():
                    task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
        return self.stats

    async def _client_to_host(self) -> None:
        try:
            while True:
                message = await self.client.recv()
                await self.upstream.send(message)
                self._count_up(message)
        except EndClosed as exc:
            await self._client_ended(exc)
        except ConnectionClosed as exc:
            await self._host_ended(exc)

    async def _host_to_client(self) -> None:
        try:
            while True:
                message = await self.upstream.recv()
                await self.client.send(message)
                self.stats.to_client += 1
                self.stats.bytes_to_client += len(message)
        except ConnectionClosed as exc:
            await self._host_ended(exc)
        except EndClosed as exc:
            await self._client_ended(exc)

    def _count_up(self, message: str | bytes) -> None:
        self.stats.to_host += 1
        self.stats.bytes_to_host += len(message)

    async def _client_ended(self, exc: EndClosed) -> None:
        """The client closed (its code goes to the host, which decides: end, or keep for a resume) or dropped."""
        self.stats.ended_by = self.stats.ended_by or "client"
        if exc.code is None or exc.code in UNSENDABLE:
            await _abort(self.upstream)
            return
        self.stats.close_code = exc.code
        await self.upstream.close(exc.code, exc.reason)

    async def _host_ended(self, exc: ConnectionClosed) -> None:
        """The host closed (its code and reason go to the client as they are) or died (the client is dropped)."""
        self.stats.ended_by = self.stats.ended_by or "host"
        if exc.rcvd is None or exc.rcvd.code in UNSENDABLE:
            self.client.abort()
            return
        self.stats.close_code = exc.rcvd.code
        await self.client.close(exc.rcvd.code, exc.rcvd.reason)

    async def end(self, client_code: int, reason: str, *, host_code: int | None = None) -> None:
        """End the bridge from the accepting node (draining, idle client): the client gets ``client_code``;
        the host gets ``host_code`` or, when None, a drop (it keeps the session DETACHED for a resume)."""
        self.stats.ended_by = self.stats.ended_by or "front"
        await self.client.close(client_code, reason)
        if host_code is None:
            await _abort(self.upstream)
        else:
            await self.upstream.close(host_code, reason)


OVERSIZE_NOTICE = b"gateway-oversize:"
"""A ping a relaying node sends the serving node for a frame it skipped unread (over its limit): the serving node
answers its client ``too_large`` as for a frame of its own. A ping, not a message: it never mixes with the client's
messages, which cross unread, and only a relayed connection (a signed hand-over) acts on it."""


def oversize_notice(text: bool, length: int, head: bytes) -> bytes:
    """The ping payload: kind, length and the frame's first payload bytes (at most 28, to quote track and seq)."""
    return OVERSIZE_NOTICE + (b"t" if text else b"b") + length.to_bytes(8, "big") + head[:28]


def read_oversize_notice(payload: bytes) -> tuple[bool, int, bytes] | None:
    """``(text, length, head)`` of a notice, or None for any other ping."""
    start = len(OVERSIZE_NOTICE)
    if not payload.startswith(OVERSIZE_NOTICE) or len(payload) < start + 9 or payload[start:start + 1] not in b"tb":
        return None
    return payload[start:start + 1] == b"t", int.from_bytes(payload[start + 1:start + 9], "big"), payload[start + 9:]
