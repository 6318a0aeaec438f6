"""The accepting node's half of a bridge: a client's gateway connection relayed to the node serving it.

The link of a connection on a cluster node holds what its client sends while the first ``join``,
``observe`` or ``resume`` is placed (``Link.relay``). When another node must serve it, the node
opens the upstream with the signed hand-over (``upstream.open_upstream``), ends its own fresh
session without a word (the client keeps its hello: the other node adopts its id, resume token
and next ``seq``), and a :class:`Relay` joins the two connections: the deciding request first,
then what was held, then every message both ways as it arrives, unparsed.

Both connections deliver messages synchronously (``gateway.net.connection`` and
``upstream.Upstream``), so a message is passed on inside the read that brought it: no queue and
no task switch per frame, order kept. What the protocol promises survives the hop
(docs/CLUSTER.md, "How a client reaches the node that serves it"):

- **Bounded memory, slow clients.** When the client's connection is over its high-water mark,
  the upstream is not read until it drains: the serving node's writes then wait, and its own
  slow-consumer policy (4010) applies as if the client were its own. When the upstream is over
  its mark, the client is not read.
- **Close codes.** The serving node's close (code and reason) goes to the client; the client's
  close goes to the serving node, which decides as usual. A client that drops makes this node
  drop the upstream (the serving node sees 1006 and keeps the session DETACHED for a resume);
  a serving node that dies makes this node drop the client, which then resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protocol.constants import CloseCode

from .bridge import UNSENDABLE, Handover, oversize_notice
from .upstream import Upstream

if TYPE_CHECKING:
    from ..net.connection import GatewayConnection

log = logging.getLogger("gateway.cluster")

MAX_REASON_BYTES = 120
"""A close reason passed on is cut to fit a close frame (123 bytes)."""


@dataclass
class RelayStats:
    """What crossed the relay, and how it ended."""

    to_host: int = 0
    to_client: int = 0
    ended_by: str = ""
    """``client``, ``host`` or ``front`` (this node: draining)."""


class Relay:
    """One client relayed to another node (module docstring); :attr:`done` resolves when both ends are closed."""

    def __init__(self, ws: GatewayConnection, upstream: Upstream, handover: Handover, node_id: str) -> None:
        self.ws = ws
        self.upstream = upstream
        self.handover = handover
        self.node_id = node_id
        """The node serving the client."""
        self.stats = RelayStats()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._client_closed = False
        self._host_closed = False
        self._waiting_for_client = False
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, first: str, held: list[str | bytes]) -> None:
        """Send ``first`` (the request that decided the relay) and ``held``, then relay both ways until either ends."""
        self.upstream.on_writable = self._upstream_writable
        self.to_host(first)
        for message in held:
            self.to_host(message)
        self.upstream.start(self.to_client)
        asyncio.ensure_future(self.ws.wait_closed()).add_done_callback(self._client_ended)
        asyncio.ensure_future(asyncio.shield(self.upstream.closed)).add_done_callback(self._host_ended)

    # ------------------------------------------------------------------ messages, as they arrive

    def to_host(self, message: str | bytes) -> None:
        """One message from the client (the link's ``relay``)."""
        if isinstance(message, str):
            sent = self.upstream.send(message.encode(), text=True)
        else:
            sent = self.upstream.send(message, text=False)
        if sent:
            self.stats.to_host += 1

    def oversize(self, text: bool, length: int, head: bytes) -> None:
        """A frame from the client this node skipped unread (over its limit): the serving node answers too_large."""
        self.upstream.ping(oversize_notice(text, length, head))

    def to_client(self, data: bytes, text: bool) -> None:
        """One message from the serving node: written now; past the client's mark, the upstream waits."""
        ws = self.ws
        if not ws.write_message(data, text=text):
            return  # the client is gone: _client_ended does the rest
        self.stats.to_client += 1
        if not ws.writable and not self._waiting_for_client:
            self._waiting_for_client = True
            self.upstream.pause_reading()
            self._spawn(self._resume_when_client_drains())

    async def _resume_when_client_drains(self) -> None:
        await self.ws.wait_writable()
        self._waiting_for_client = False
        self.upstream.resume_reading()

    def _upstream_writable(self, writable: bool) -> None:
        transport = self.ws.transport
        if transport.is_closing():
            return
        if writable:
            transport.resume_reading()
        else:
            transport.pause_reading()

    # ------------------------------------------------------------------ ends

    def _client_ended(self, _: object) -> None:
        """The client's connection closed: its close code goes to the serving node; a drop drops the upstream."""
        self._client_closed = True
        self.stats.ended_by = self.stats.ended_by or "client"
        protocol = self.ws.protocol
        sent, received = protocol.close_sent, protocol.close_rcvd
        if self.stats.ended_by == "front":
            self.upstream.abort()  # draining: the serving node keeps the session for the client's resume
        elif sent is not None and (received is None or not protocol.close_rcvd_then_sent):
            # This node closed the client (idle 4009, a receive budget's 1009 / 1013): for a direct client the
            # serving node would have, and the session would end; so it does there.
            reason = f"closed by the relaying node: {sent.code} {sent.reason}".encode()[:MAX_REASON_BYTES].decode(
                errors="ignore")
            self._spawn(self.upstream.close(CloseCode.GOING_AWAY, reason))
        elif received is None or received.code in UNSENDABLE:
            self.upstream.abort()
        else:
            self._spawn(self.upstream.close(received.code, received.reason))
        self._check_done()

    def _host_ended(self, _: object) -> None:
        """The upstream closed: the serving node's close code and reason go to the client; a death drops it."""
        self._host_closed = True
        self.stats.ended_by = self.stats.ended_by or "host"
        received = self.upstream.close_received
        if not self._client_closed and self.stats.ended_by != "front":
            if received is None or received.code in UNSENDABLE:
                self.ws.transport.abort()
            else:
                self._spawn(self.ws.close(received.code, received.reason))
        self._check_done()

    def _check_done(self) -> None:
        if self._client_closed and self._host_closed and not self.done.done():
            self.done.set_result(None)

    async def end_with(self, code: int, reason: str) -> None:
        """End from this node (draining): the client gets ``code``; the serving node a drop (it keeps the session
        DETACHED for the client's resume)."""
        self.stats.ended_by = self.stats.ended_by or "front"
        self.upstream.abort()
        await self.ws.close(code, reason)

    def abort(self) -> None:
        """Drop both ends at once (this node stops)."""
        self.stats.ended_by = self.stats.ended_by or "front"
        self.upstream.abort()
        self.ws.transport.abort()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
