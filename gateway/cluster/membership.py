"""This node's life in the directory: heartbeat with its load, lease renewal, Redis outages and returns.

One task per node (:meth:`Membership.run`): every ``heartbeat_ms`` it publishes the node's
record (:class:`NodeInfo`, from the ``describe`` callback), every ``renew_ms`` it renews what the
node holds in one script per 500 leases. Redis going away never stops the node: it keeps serving
what it hosts, says it cannot place (``placeable`` is False) and tries again at the next beat.
When Redis comes back it re-asserts everything at once; when Redis came back *empty* (a
restart without persistence: a new ``epoch``), the node also waits ``node_ttl_ms`` before taking
rooms it does not hold, so every node re-asserts its own first and no room ends up on two
(docs/CLUSTER.md, "Redis down").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .directory import Claim, Directory, DirectoryUnavailable, Lease, LeaseKind
from .node import NodeInfo

log = logging.getLogger("gateway.cluster")


@dataclass
class Held:
    """A lease this node holds, with the record to write again if Redis loses it."""

    lease: Lease
    data: bytes = b""


class Membership:
    """Keeps this node registered and its leases renewed; tells the node what it lost."""

    def __init__(self, directory: Directory, describe: Callable[[], NodeInfo], *,
                 on_lost: Callable[[Lease], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self.describe = describe
        """Returns this node's record (address, load...) for each heartbeat."""
        self.on_lost = on_lost
        """Called with each lease another node took over (this node seemed dead): stop hosting it."""
        self.clock = clock
        self.held: dict[tuple[LeaseKind, str], Held] = {}
        self.reachable = False
        """Whether the last call to Redis succeeded."""
        self.unreachable_since: float | None = None
        self.epoch: str | None = None
        """The Redis data set's epoch seen at the last heartbeat."""
        self.settle_until = 0.0
        """Until then (clock), rooms this node does not hold are not taken: Redis came back empty."""
        self.lost_total = 0
        self._renew_due = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def timing(self):  # noqa: ANN201 - Timing, from the directory
        return self.directory.timing

    @property
    def placeable(self) -> bool:
        """Whether new rooms and sessions may be placed now: Redis reachable and settled."""
        return self.reachable and self.clock() >= self.settle_until

    # ------------------------------------------------------------------ leases

    def hold(self, lease: Lease, data: bytes = b"") -> None:
        """Keep ``lease`` renewed from now on (``data``: the record to write again after a Redis loss)."""
        self.held[(lease.kind, lease.name)] = Held(lease, data)

    def forget(self, kind: LeaseKind, name: str) -> Lease | None:
        """Stop renewing a lease (it ends with its TTL, or was released); returns it if held."""
        held = self.held.pop((kind, name), None)
        return held.lease if held else None

    async def claim(self, kind: LeaseKind, name: str, data: bytes = b"") -> Claim:
        """Take a lease (kept renewed if won). Raises DirectoryUnavailable when Redis is away."""
        claim = await self._call(self.directory.claim(kind, name, data))
        if claim.lease is not None:
            self.hold(claim.lease, data)
        return claim

    async def release(self, kind: LeaseKind, name: str, *, orphan: bool = False) -> None:
        """Give a lease up now (a room emptied, a session ended or handed over)."""
        lease = self.forget(kind, name)
        if lease is not None:
            await self._call(self.directory.release(lease, orphan=orphan))

    # ------------------------------------------------------------------ the loop

    async def start(self) -> None:
        """First heartbeat (Redis may be away: the node starts anyway), then the loop in a task."""
        await self.beat()
        self._task = asyncio.create_task(self.run(), name="cluster-membership")

    async def run(self) -> None:
        """Heartbeat every ``heartbeat_ms``, renew every ``renew_ms``; never ends on its own."""
        period = self.timing.heartbeat_ms / 1000
        while True:
            await asyncio.sleep(period)
            try:
                await self.beat()
            except Exception:  # noqa: BLE001 - a bug in one beat must not end the node's membership
                log.exception("= cluster heartbeat failed")

    async def beat(self) -> None:
        """One heartbeat, and the renewal when due or when Redis just came back."""
        was_reachable = self.reachable
        try:
            epoch = await self._call(self.directory.heartbeat(self.describe()))
        except DirectoryUnavailable:
            return
        renew_now = not was_reachable or self.clock() >= self._renew_due
        if self.epoch is not None and epoch != self.epoch:
            log.warning("= Redis lost the directory (new epoch): re-asserting %d leases, new rooms wait %d ms",
                        len(self.held), self.timing.node_ttl_ms)
            self.settle_until = self.clock() + self.timing.node_ttl_ms / 1000
            renew_now = True
        self.epoch = epoch
        if renew_now:
            await self.renew()

    async def renew(self) -> None:
        """Renew every held lease; claim again those Redis lost; report those another node took."""
        held = [entry.lease for entry in self.held.values()]
        try:
            outcome = await self._call(self.directory.renew(held))
        except DirectoryUnavailable:
            return
        self._renew_due = self.clock() + self.timing.renew_ms / 1000
        lost = list(outcome.lost)
        for lease in outcome.missing:
            entry = self.held.get((lease.kind, lease.name))
            if entry is None:
                continue
            try:
                claim = await self._call(self.directory.claim(lease.kind, lease.name, entry.data))
            except DirectoryUnavailable:
                return
            if claim.lease is not None:
                entry.lease = claim.lease
            else:
                lost.append(lease)
        for lease in lost:
            if self.held.pop((lease.kind, lease.name), None) is None:
                continue
            self.lost_total += 1
            log.warning("= lost the %s lease of %s to another node", lease.kind, lease.name)
            if self.on_lost is not None:
                self.on_lost(lease)

    async def _call(self, call):  # noqa: ANN001, ANN202 - any directory coroutine
        try:
            result = await call
        except DirectoryUnavailable as exc:
            if self.reachable or self.unreachable_since is None:
                log.warning("= Redis unreachable (%s): serving what this node hosts, placing nothing new", exc)
                self.unreachable_since = self.clock()
            self.reachable = False
            raise
        if not self.reachable:
            if self.unreachable_since is not None:
                log.info("= Redis reachable again after %.1f s", self.clock() - self.unreachable_since)
            self.unreachable_since = None
            self.reachable = True
        return result

    async def stop(self, *, leave: bool = True) -> None:
        """End the loop; with ``leave``, give everything up at once (rooms deleted, sessions orphaned for a
        re-join elsewhere) and deregister, so other nodes need not wait ``node_ttl_ms``."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if not leave:
            return
        leases = [entry.lease for entry in self.held.values()]
        self.held.clear()
        try:
            await self.directory.release_all(leases)
            await self.directory.deregister()
        except DirectoryUnavailable as exc:
            log.warning("= could not leave the directory (%s): leases expire in %d ms", exc, self.timing.node_ttl_ms)
