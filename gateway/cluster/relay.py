"""The accepting node's half of a bridge: a client's gateway connection relayed to the node serving it.

The link of a connection on a cluster node holds what its client sends while the first ``join``,
``observe`` or ``resume`` is placed (``Link.relay``). When another node must serve it,
:func:`relay_link` opens the upstream with the signed hand-over (``bridge.open_upstream``), ends
the fresh session of this node without a word (the client keeps its hello: the other node adopts
its id, resume token and next ``seq``), and runs a :class:`~gateway.cluster.bridge.Bridge` between
a :class:`LinkEnd` and the upstream: the deciding request first, then what was held, then live.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection

from .bridge import Bridge, BridgeStats, EndClosed, Handover

if TYPE_CHECKING:
    from ..net.connection import GatewayConnection

log = logging.getLogger("gateway.cluster")

HOLD_MESSAGES = 64
"""Client messages queued for the upstream before this node stops reading the client (TCP pushes back);
reading starts again below a quarter of it. Memory per bridged client stays bounded."""


class LinkEnd:
    """:class:`~gateway.cluster.bridge.ClientEnd` over the gateway's own connection (``gateway.net``).

    The connection delivers messages synchronously (:meth:`feed`, set as the link's ``relay``); they
    wait here for the bridge's upstream task, and past :data:`HOLD_MESSAGES` the connection stops
    reading. The end of the connection wakes the bridge with :class:`EndClosed`.
    """

    def __init__(self, ws: GatewayConnection, held: list[str | bytes]) -> None:
        self.ws = ws
        self.queue: collections.deque[str | bytes] = collections.deque(held)
        self._wake: asyncio.Event = asyncio.Event()
        self._paused = False
        self._ended = False
        self._watch = asyncio.ensure_future(ws.wait_closed())
        self._watch.add_done_callback(self._closed)
        if self.queue:
            self._wake.set()
            self._pause_if_full()

    def feed(self, message: str | bytes) -> None:
        """One whole message from the client (the link's ``relay``)."""
        self.queue.append(message)
        self._wake.set()
        self._pause_if_full()

    def _pause_if_full(self) -> None:
        if not self._paused and len(self.queue) >= HOLD_MESSAGES:
            self._paused = True
            self.ws.transport.pause_reading()

    def _closed(self, _: object) -> None:
        self._ended = True
        self._wake.set()

    async def recv(self) -> str | bytes:
        while not self.queue:
            if self._ended:
                raise EndClosed(*self._close_received())
            self._wake.clear()
            await self._wake.wait()
        message = self.queue.popleft()
        if self._paused and len(self.queue) <= HOLD_MESSAGES // 4 and not self._ended:
            self._paused = False
            self.ws.transport.resume_reading()
        return message

    def _close_received(self) -> tuple[int | None, str]:
        """The client's close code and reason; None when it dropped (no close frame)."""
        received = self.ws.protocol.close_rcvd
        return (received.code, received.reason) if received is not None else (None, "")

    async def send(self, message: str | bytes) -> None:
        ws = self.ws
        if not ws.writable:
            await ws.wait_writable()
        text = isinstance(message, str)
        data = message.encode() if isinstance(message, str) else message
        if not ws.write_message(data, text=text):
            raise EndClosed(*self._close_received())

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)

    def abort(self) -> None:
        self.ws.transport.abort()


class Relay:
    """One client relayed to another node: its bridge and the task running it."""

    def __init__(self, end: LinkEnd, upstream: ClientConnection, handover: Handover, node_id: str) -> None:
        self.end = end
        self.bridge = Bridge(end, upstream)
        self.handover = handover
        self.node_id = node_id
        """The node serving the client."""
        self.task: asyncio.Task[BridgeStats] | None = None

    def start(self, first: str | bytes) -> asyncio.Task[BridgeStats]:
        self.task = asyncio.create_task(self.bridge.run(first), name=f"relay-{self.handover.session_id[:8]}")
        return self.task

    async def end_with(self, code: int, reason: str, *, host_code: int | None = None) -> None:
        """End from this node (draining): the client gets ``code``; the serving node ``host_code`` or a drop."""
        await self.bridge.end(code, reason, host_code=host_code)
