"""This gateway process as a node of a cluster (``--redis-url``; docs/CLUSTER.md).

:class:`GatewayNode` joins the gateway to the directory and keeps it there: the node's record and
heartbeat (``membership.py``), a lease on each local room this process hosts (taken when the
room is first placed here, given up when it has emptied) and on each session in a room (with
the record another node needs to find it), and the node's rooms published for every node's
``list-rooms``.

It also decides where a session is served. A connection's first ``join``, ``observe`` or
``resume`` is *placed* (:meth:`GatewayNode.place`) while the link holds what the client sends
next: served here (this node hosts the room or the session, claims the room, or is the least
loaded for a Daily join), or relayed to the node that must serve it (``relay.py``). A client
relayed here by another node (a hand-over) is always served here. Redis away: what this node
hosts is served, what it cannot place gets ``unavailable``, a Daily join is served here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson

from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

from .. import build_info
from ..auth import ConfigError
from ..net.connection import GatewayConnection
from ..session.replay import token_session_id
from ..session.state import SessionState
from .bridge import HANDOVER_HEADER, MAX_HOPS, Handover, HandoverError, UpstreamError
from .directory import Directory, DirectoryUnavailable, Lease, SessionRecord, Timing, resume_digest
from .membership import Membership
from .node import NodeInfo, new_node_id
from .placement import choose_host, takes_work
from .rejoin import rejoin
from .relay import Relay
from .upstream import open_upstream

if TYPE_CHECKING:
    from ..config import Config
    from ..handlers import RequestHandler
    from ..server import Gateway
    from ..session import Session
    from ..session.link import Link

log = logging.getLogger("gateway.cluster")

PLACING_REQUESTS = frozenset({"join", "observe", "resume"})
"""The requests that decide which node serves a connection (PROTOCOL.md 16.1)."""
MIN_SECRET_CHARS = 16
ROOM_RELEASE_GRACE_S = 5.0
"""A room lease taken for a join is kept at least this long before an empty room gives it up (the join
that claimed it may still be creating the room)."""
DRAIN_REASON = "node draining: resume now, on any node"
"""The reason of the 1012 close a draining node's clients get (PROTOCOL.md 16.4)."""
MAX_CLOSE_REASON_BYTES = 123
"""A close frame's reason fits in 123 bytes (RFC 6455 5.5): ``redirect <url>`` must."""
ROOMS_PUBLISH_DELAY_S = 0.05
"""A change of this node's rooms is published this soon after (changes meanwhile go with it)."""


def cluster_secret(config: Config, auth_enabled: bool) -> bytes:
    """The secret signing hand-overs: ``cluster_secret``; for an open gateway (loopback only, no credentials to
    carry) one derived from the Redis URL and namespace. Raises ConfigError when one is needed and missing."""
    if config.cluster_secret:
        if len(config.cluster_secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"cluster_secret is shorter than {MIN_SECRET_CHARS} characters")
        return config.cluster_secret.encode()
    if auth_enabled:
        raise ConfigError("redis_url with API keys or a token secret needs a cluster_secret shared by the nodes "
                          "(--cluster-secret or GATEWAY_CLUSTER_SECRET): it signs the clients one node relays to another")
    return hashlib.sha256(f"daily-gateway.open-cluster.{config.redis_url}.{config.cluster_namespace}".encode()).digest()


def unavailable(message: str) -> CommandError:
    return CommandError(ErrorCode.UNAVAILABLE, message)


def wants_redirect(ws: object) -> bool:
    """Whether the client opted in to redirects: ``redirect=1`` in its endpoint's query (PROTOCOL.md 16.2)."""
    request = getattr(ws, "request", None)
    query = urlsplit(request.path).query if request is not None else ""
    return parse_qs(query).get("redirect") == ["1"]


def local_room(room_url: str) -> str:
    """A local room's URL as its room server names it (``LocalRoom.url``): the lease's name."""
    return f"local://{room_url.split('://', 1)[1].rstrip('/')}"


@dataclass(frozen=True)
class Placement:
    """Where a placing request is served: ``node`` (relayed there), else here; here by re-joining ``rejoin``."""

    node: NodeInfo | None = None
    rejoin: SessionRecord | None = None
    reason: str = ""
    """Why a re-join: ``node_lost`` or ``drained`` (PROTOCOL.md 16.3)."""


HERE = Placement()


class GatewayNode:
    """The gateway's membership in a cluster, and where its sessions are served (module docstring)."""

    def __init__(self, gateway: Gateway, config: Config) -> None:
        assert config.redis_url is not None
        if config.cluster_node_ttl_ms < 3 * config.cluster_heartbeat_ms:
            raise ConfigError("cluster_node_ttl_ms must be at least 3 cluster_heartbeat_ms (a late beat is not a death)")
        self.gateway = gateway
        self.config = config
        self.secret = cluster_secret(config, gateway.auth.enabled)
        self.node_id = new_node_id()
        self.timing = Timing.for_resume_grace(config.resume_grace_ms, heartbeat_ms=config.cluster_heartbeat_ms,
                                              node_ttl_ms=config.cluster_node_ttl_ms)
        self.directory = Directory.from_url(config.redis_url, self.node_id, timing=self.timing,
                                            namespace=config.cluster_namespace)
        self.membership = Membership(self.directory, self.describe, on_lost=self._lost)
        self.address = ""
        """Where other nodes relay clients to (set by :meth:`start`)."""
        self.started_at = time.time()
        self.draining = False
        self.recycling = False
        """Draining to be replaced (under ``--workers``): the drain waits for another node to take work first, so
        the shared port always has a listener."""
        self.relays: set[Relay] = set()
        """Clients this node accepted and relays to other nodes."""
        self.placed: set[str] = set()
        """Ids of this node's sessions already placed (their next join or resume is not placed again)."""
        self.unrecorded: dict[str, bytes] = {}
        """Session id -> record of sessions served here whose lease Redis has not taken yet (it was away)."""
        self._split_rooms: set[str] = set()
        self.room_claimed_at: dict[str, float] = {}
        """Room URL -> when this node claimed its lease (monotonic)."""
        self._publish: asyncio.TimerHandle | None = None
        self._published_at = 0.0
        self._room_count = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._cpu = (time.monotonic(), time.process_time())
        self._cpu_share = 0.0

    # ------------------------------------------------------------------ life cycle

    async def start(self, scheme: str, host: str, port: int) -> None:
        """Register (Redis may be away: the node starts anyway and registers when it answers) and keep registered."""
        if self.config.cluster_address:
            self.address = self.config.cluster_address
        else:
            reach = socket.gethostname() if host in ("0.0.0.0", "", "::") else host
            self.address = f"{scheme}://{f'[{reach}]' if ':' in reach else reach}:{port}/v1"
        await self.membership.start()
        try:
            await self._claim_unplaced_rooms()  # the demo talker's room
        except DirectoryUnavailable:
            pass  # the upkeep claims them when Redis answers
        self._loop_task = asyncio.create_task(self._upkeep(), name="cluster-upkeep")
        log.info("= cluster node %s at %s (Redis %s)", self.node_id, self.address,
                 "reachable" if self.membership.reachable else "unreachable for now")

    async def stop(self) -> None:
        """Leave the cluster: end the relays, give every lease up, deregister (bounded by the Redis timeout)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._publish is not None:
            self._publish.cancel()
            self._publish = None
        for relay in list(self.relays):
            relay.abort()
        if self.relays:
            await asyncio.wait([r.done for r in self.relays], timeout=self.timing.redis_timeout_s)
        if self._session_tasks:
            await asyncio.wait(self._session_tasks, timeout=self.timing.redis_timeout_s)
        await self.membership.stop(leave=True)
        await self.directory.close()

    async def drain(self, timeout: float) -> None:
        """Move what this node serves to the others, within ``timeout`` (SIGTERM; PROTOCOL.md 16.4).

        It says it is draining (placement skips it; new clients are relayed elsewhere), gives up its rooms
        (they move with their first member) and orphans its sessions' leases (another node may re-join them),
        closes the clients it relays with 1012 (their sessions live elsewhere) and each session it serves with
        1012 once what was queued for it is written; such a session waits DETACHED in its room until its
        client resumes on another node, then leaves. Returns when nothing is left, or at ``timeout``.
        """
        self.draining = True
        deadline = time.monotonic() + timeout
        log.info("= draining: %d sessions, %d relayed clients; at most %g s", len(self.gateway.sessions),
                 len(self.relays), timeout)
        try:
            await self.membership.beat()
            for kind, name in list(self.membership.held):
                await self.membership.release(kind, name, orphan=kind == "session")
            self.room_claimed_at.clear()
        except DirectoryUnavailable:
            log.warning("= draining without Redis: other nodes take this node's rooms and sessions once its "
                        "leases expire")
        while self.recycling and time.monotonic() < deadline and not await self._others_take_work():
            await asyncio.sleep(min(0.2, self.timing.heartbeat_ms / 1000))  # the replacement is starting
        await asyncio.gather(*(relay.end_with(CloseCode.SERVICE_RESTART, DRAIN_REASON) for relay in list(self.relays)),
                             return_exceptions=True)
        await asyncio.gather(*(self._send_away(s) for s in list(self.gateway.sessions)), return_exceptions=True)
        while self.gateway.sessions and time.monotonic() < deadline:
            await asyncio.sleep(min(0.2, self.timing.heartbeat_ms / 1000))
            await self._let_go_of_rejoined()
            if not await self._others_take_work():
                log.warning("= no other node takes work: ending the drain")
                break
        log.info("= drained%s", f"; {len(self.gateway.sessions)} sessions left" if self.gateway.sessions else "")

    async def _others_take_work(self) -> bool:
        """Whether another live node takes new sessions (True when Redis cannot tell: wait for the timeout)."""
        try:
            nodes = await self.directory.nodes()
        except DirectoryUnavailable:
            return True
        return any(node.node_id != self.node_id and takes_work(node) for node in nodes)

    async def _send_away(self, session: Session) -> None:
        """Tell a session's client to resume elsewhere (1012), after what was queued for it; resumable ones wait."""
        link = session.link
        if link is None:
            return  # detached already: its client resumes wherever it reconnects
        if not session.resumable():
            await session.close(CloseCode.SERVICE_RESTART, DRAIN_REASON, cause="shutdown")
            return
        await session.outbox.drain()
        session.detach("node draining")
        await link.ws.close(CloseCode.SERVICE_RESTART, DRAIN_REASON)

    async def _let_go_of_rejoined(self) -> None:
        """A draining node's detached sessions that another node re-joined leave their room here."""
        for session in [s for s in self.gateway.sessions if s.detached]:
            try:
                found = await self.directory.session(session.id)
            except DirectoryUnavailable:
                return
            if found is not None and found[0].holder not in ("", self.node_id):
                log.info("= %s re-joined on node %s: leaving its room here", session.id[:8], found[0].holder)
                await session.finish("disconnected")
                self.gateway.forget(session)

    async def _upkeep(self) -> None:
        """Every heartbeat: give up the leases of rooms that emptied, publish this node's rooms."""
        period = self.timing.heartbeat_ms / 1000
        while True:
            await asyncio.sleep(period)
            if not self.draining:
                self._recycle_if_due()
            try:
                for session_id in list(self.unrecorded):
                    await self._record(session_id)
                await self._claim_unplaced_rooms()
                await self._release_empty_rooms()
                if time.monotonic() >= self._published_at + self.timing.renew_ms / 1000:
                    await self._publish_rooms()  # remote participants of Daily rooms change without a session event
                elif not await self.directory.touch_rooms():
                    await self._publish_rooms()  # Redis lost it (a restart)
            except DirectoryUnavailable:
                pass
            except Exception:  # noqa: BLE001 - a bug in one round must not end the upkeep
                log.exception("= cluster upkeep failed")

    def _recycle_if_due(self) -> None:
        """Drain (and, under ``--workers``, be replaced) past ``max_session_hours`` or ``max_rss_mb``, or when the
        supervisor is gone (docs/CLUSTER.md, "Draining and recycling")."""
        link = self.gateway.supervisor_link
        why = ""
        if link is not None and not link.supervisor_alive():
            why = "supervisor gone"
        elif self.config.max_session_hours and time.time() - self.started_at > self.config.max_session_hours * 3600:
            why = "max_session_hours"
        elif self.config.max_rss_mb and _rss_mb() > self.config.max_rss_mb:
            why = "max_rss_mb"
        if not why:
            return
        log.warning("= recycling this node (%s): draining", why)
        self.recycling = why != "supervisor gone"
        if link is not None:
            link.tell("draining", why)
        self.gateway.request_stop()

    def describe(self) -> NodeInfo:
        """This node's record for the heartbeat: address, build, load."""
        now, cpu = time.monotonic(), time.process_time()
        last_now, last_cpu = self._cpu
        if now - last_now > 0.2:
            self._cpu_share = (cpu - last_cpu) / (now - last_now)
            self._cpu = (now, cpu)
        return NodeInfo(
            node_id=self.node_id, address=self.address, version=build_info.version(), started_at=self.started_at,
            public_url=self.config.cluster_public_url or "", draining=self.draining,
            sessions=len(self.gateway.sessions), rooms=self._room_count, cpu=round(self._cpu_share, 3), rss_mb=_rss_mb(),
        )

    def _lost(self, lease: Lease) -> None:
        """Another node took a lease of this one over (this node seemed dead to the cluster for a while)."""
        if lease.kind == "room":
            self.room_claimed_at.pop(lease.name, None)
        log.warning("= another node now holds the %s %s this node served", lease.kind, lease.name)

    # ------------------------------------------------------------------ hand-overs (this node serving)

    def handover(self, header: str) -> Handover:
        """Check a relayed connection's hand-over (signature, age, hops). Raises HandoverError."""
        return Handover.from_header(header, self.secret)

    # ------------------------------------------------------------------ placement (this node accepting)

    def places(self, session: Session, rtype: str) -> bool:
        """Whether ``rtype`` from ``session`` must be placed first: the first join, observe or resume of a fresh session."""
        return (rtype in PLACING_REQUESTS and session.state is SessionState.OPEN and session.phone is None
                and session.id not in self.placed)

    async def place(self, link: Link, entry: RequestHandler, rid: str, params: dict[str, Any], data: str,
                    held: list[str | bytes]) -> None:
        """Serve the request here or relay the connection to the node that must serve it; exactly one reply either way."""
        session = link.session
        try:
            placement = await self._where(session, entry.type, params)
            if placement.node is not None:
                if wants_redirect(link.ws) and await self._redirect(link, placement.node):
                    return
                if await self._relay(link, placement.node, data, held):
                    return
                raise unavailable(f"the node serving this {entry.type} ({placement.node.node_id}) cannot be reached; "
                                  "try again")
            if placement.rejoin is not None:
                await rejoin(link, rid, params, placement.rejoin, placement.reason)
                link.resume_serving(held)
                return
        except Exception as exc:  # one reply, and the connection goes on here
            session.requests.failed(entry.type, rid, exc)
            link.resume_serving(held)
            return
        self.placed.add(session.id)
        session.requests.start(entry, rid, params)
        link.resume_serving(held)

    async def _where(self, session: Session, rtype: str, params: dict[str, Any]) -> Placement:
        """Where this request is served: here (the default), on another node, or here by re-joining a lost session.

        Raises:
            CommandError: ``unavailable`` (Redis away, no node takes work, a node gone meanwhile), or the
                room URL's own error.
        """
        relayed_here = session.admission.handover is not None
        if rtype == "resume":
            return await self._resume_target(params["resume_token"], relayed_here)
        if params.get("room_url") is None:  # observe of a session's transport: where that session runs
            return await self._watched_target(str(params.get("session_id") or ""), relayed_here)
        backend = self.gateway.backends.for_room(params["room_url"], params.get("backend"))
        if backend.name != "local":
            if rtype != "join" or relayed_here:
                return HERE
            return Placement(await self._daily_target())
        return Placement(await self._room_target(local_room(params["room_url"]), relayed_here))

    async def _resume_target(self, token: str, relayed_here: bool) -> Placement:
        session_id = token_session_id(token)
        if not session_id:
            return HERE  # the resume handler says why not
        local = self.gateway.session_by_id(session_id)
        if local is not None:
            if self.draining and not relayed_here and local.detached:
                return Placement(await self._other_node())  # it re-joins there; this node lets the session go
            return HERE
        try:
            found = await self.directory.session(session_id)
        except DirectoryUnavailable as exc:
            raise unavailable("the cluster's directory cannot be reached to find this session; try again") from exc
        if found is None:
            return HERE
        entry, record = found
        if not record.token_matches(token) or entry.holder == self.node_id:
            return HERE
        if entry.in_force:
            return HERE if relayed_here else Placement(await self._node(entry.holder))
        reason = "drained" if entry.holder == "" else "node_lost"
        if record.backend == "local":
            node = await self._room_target(local_room(record.room_url), relayed_here)
            if node is not None:
                return Placement(node)
        elif self.draining and not relayed_here:
            return Placement(await self._other_node())
        return Placement(None, record, reason)

    async def _watched_target(self, session_id: str, relayed_here: bool) -> Placement:
        if relayed_here or not session_id or self.gateway.session_by_id(session_id) is not None:
            return HERE  # here, or nowhere (observe says why)
        try:
            found = await self.directory.session(session_id)
        except DirectoryUnavailable as exc:
            raise unavailable("the cluster's directory cannot be reached to find this session; try again") from exc
        if found is None or not found[0].in_force or found[0].holder == self.node_id:
            return HERE
        return Placement(await self._node(found[0].holder))

    async def _other_node(self) -> NodeInfo:
        """The least loaded node that takes work, for what a draining node does not serve."""
        try:
            choice = choose_host(await self.directory.nodes(), self.node_id)
        except DirectoryUnavailable as exc:
            raise unavailable("the cluster's directory cannot be reached; try again") from exc
        if choice is None or choice.node_id == self.node_id:
            raise unavailable("no other node of the cluster takes work now; try again")
        return choice

    async def _daily_target(self) -> NodeInfo | None:
        try:
            nodes = await self.directory.nodes()
        except DirectoryUnavailable:
            return None  # Daily's servers are the room: this node serves it (PROTOCOL.md 16.3)
        choice = choose_host(nodes, self.node_id)
        if choice is None and self.draining:
            raise unavailable("no other node of the cluster takes work now; try again")
        if choice is None or choice.node_id == self.node_id:
            return None
        try:
            await self.directory.reserve(choice.node_id)
        except DirectoryUnavailable:
            return None
        return choice

    async def _room_target(self, room_url: str, relayed_here: bool) -> NodeInfo | None:
        if (("room", room_url)) in self.membership.held:
            return None
        try:
            holder = await self.directory.room_host(room_url)
            if holder is None and not relayed_here:
                choice = choose_host(await self.directory.nodes(), self.node_id)
                if choice is None:
                    raise unavailable("no node of the cluster takes new rooms now (all draining or full); try again")
                if choice.node_id != self.node_id:
                    return choice  # it claims the room when the relayed join reaches it
            if holder is None or holder == self.node_id:
                if not self.membership.placeable:
                    raise unavailable("the cluster's directory is settling after a Redis restart; try again")
                claim = await self.membership.claim("room", room_url)
                if claim.mine:
                    self.room_claimed_at[room_url] = time.monotonic()
                    log.info("= this node hosts %s%s", room_url, f" (taken over from {claim.previous or 'a drained node'})"
                             if claim.took_over else "")
                    return None
                holder = claim.holder
        except DirectoryUnavailable as exc:
            raise unavailable(f"the cluster's directory cannot be reached to find which node hosts {room_url}; "
                              "try again") from exc
        if relayed_here:
            raise unavailable(f"{room_url} moved to another node meanwhile; try again")
        return await self._node(holder)

    async def _node(self, node_id: str) -> NodeInfo:
        try:
            node = await self.directory.node(node_id)
        except DirectoryUnavailable as exc:
            raise unavailable("the cluster's directory cannot be reached; try again") from exc
        if node is None:
            raise unavailable(f"node {node_id} left the cluster meanwhile; try again")
        return node

    async def _redirect(self, link: Link, target: NodeInfo) -> bool:
        """Send a client that opted in (``?redirect=1``) to ``target``'s public URL: close 4307, the request unanswered
        (PROTOCOL.md 16.2). False when ``target`` has no public URL that fits a close reason: relay instead."""
        reason = f"redirect {target.public_url}"
        if not target.public_url or len(reason.encode()) > MAX_CLOSE_REASON_BYTES:
            return False
        log.info("= %s redirected to node %s (%s)", link.session.id[:8], target.node_id, target.public_url)
        await link.session.close(CloseCode.REDIRECT, reason, cause="disconnected")
        return True

    async def _relay(self, link: Link, target: NodeInfo, data: str, held: list[str | bytes]) -> bool:
        """Relay this connection to ``target``: False when it cannot be opened (the request is then answered here)."""
        session = link.session
        if not isinstance(link.ws, GatewayConnection):
            return False  # a stand-in connection (unit tests): nothing to relay
        await session.outbox.drain()  # what this node said (hello, errors) goes first
        principal = session.admission.principal
        handover = Handover(
            session_id=session.id, resume_token=session.resume_token, next_seq=session.outbox.seq + 1,
            principal=principal.to_data() if principal is not None else {}, origin_node=self.node_id,
        )
        try:
            upstream = await open_upstream(target.address, handover, self.secret,
                                           max_size=4 * self.config.max_frame_bytes + 64)
        except UpstreamError as exc:
            log.warning("= %s cannot relay to %s: %s", session.id[:8], target.node_id, exc)
            return False
        # The client is the other node's now: this node's fresh session ends without a word.
        session.outbox.detach()
        self.gateway.forget(session)
        session.discard()
        relay = Relay(link.ws, upstream, handover, target.node_id)
        self.relays.add(relay)
        relay.done.add_done_callback(lambda _: self.relays.discard(relay))
        link.relay = relay.to_host
        link.relay_oversize = relay.oversize
        relay.start(data, held)
        log.info("= %s relayed to node %s (%s)", session.id[:8], target.node_id, target.address)
        return True

    # ------------------------------------------------------------------ sessions and rooms served here

    def session_placed(self, session: Session, kind: str, params: dict[str, Any], room_url: str, backend: str) -> None:
        """``session`` joined or observes a room here: take its lease, with the record to find it by."""
        principal = session.admission.principal
        record = SessionRecord(
            session_id=session.id, kind="join" if kind == "join" else "observe", room_url=room_url, backend=backend,
            params={k: v for k, v in params.items() if k != "token"} if kind == "observe" else dict(params),
            principal=principal.to_data() if principal is not None else {},
            resume_digest=resume_digest(session.resume_token), created_at=time.time(),
        )
        self.placed.add(session.id)
        self.unrecorded[session.id] = record.to_json()
        self._spawn(self._record(session.id))
        self.rooms_changed()

    async def _record(self, session_id: str) -> None:
        """Take the lease of a session served here, with its record; kept for the next upkeep while Redis is away."""
        data = self.unrecorded.get(session_id)
        if data is None or self.gateway.session_by_id(session_id) is None:
            self.unrecorded.pop(session_id, None)
            return
        claim = await self.membership.claim("session", session_id, data)
        self.unrecorded.pop(session_id, None)
        if not claim.mine:
            log.warning("= session %s is recorded for node %s, not this one", session_id[:8], claim.holder)

    def session_ended(self, session: Session) -> None:
        """``session`` is over (or was handed to a resume): its lease goes."""
        self.placed.discard(session.id)
        self.unrecorded.pop(session.id, None)
        if ("session", session.id) in self.membership.held:
            self._spawn(self.membership.release("session", session.id))
        self.rooms_changed()

    def _spawn(self, coro: Any) -> None:
        async def quietly() -> None:
            try:
                await coro
            except DirectoryUnavailable:
                pass  # kept in memory: membership re-asserts it when Redis answers; or it expires

        task = asyncio.create_task(quietly())
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    def rooms_changed(self) -> None:
        """A session joined, observed or left here: publish this node's rooms soon."""
        if self._publish is None:
            self._publish = asyncio.get_running_loop().call_later(ROOMS_PUBLISH_DELAY_S, self._publish_soon)

    def _publish_soon(self) -> None:
        self._publish = None
        self._spawn(self._publish_rooms())

    def _local_rooms(self) -> list[dict[str, Any]]:
        """This node's rooms as ``list-rooms`` lists them (its sessions in each included)."""
        from ..handlers.rooms import with_sessions

        return with_sessions(self.gateway, [room for backend in self.gateway.backends for room in backend.rooms()])

    async def _publish_rooms(self) -> None:
        """This node's rooms for every node's ``list-rooms``: at each change, and every ``renew_ms``; their key's
        expiry is pushed back at each heartbeat in between (:meth:`Directory.touch_rooms`)."""
        rooms = self._local_rooms()
        self._room_count = len(rooms)
        self._published_at = time.monotonic()
        await self.directory.publish_rooms(orjson.dumps(rooms))

    async def _claim_unplaced_rooms(self) -> None:
        """Local rooms that came to be here without a placement (the demo talker's, a simulated phone's) are this
        node's too: take their leases, so that the cluster's clients join them here."""
        if "local" not in self.gateway.backends.names or not self.membership.placeable or self.draining:
            return
        for room in self.gateway.backends.get("local").rooms():
            url = room["room_url"]
            if ("room", url) in self.membership.held:
                continue
            claim = await self.membership.claim("room", url)
            if claim.mine:
                self.room_claimed_at[url] = time.monotonic()
                log.info("= this node hosts %s (its room was made here)", url)
            elif url not in self._split_rooms:
                self._split_rooms.add(url)
                log.warning("= %s exists here and on node %s: their members do not hear each other", url, claim.holder)

    async def _release_empty_rooms(self) -> None:
        now = time.monotonic()
        due = [name for kind, name in self.membership.held
               if kind == "room" and now - self.room_claimed_at.get(name, 0.0) >= ROOM_RELEASE_GRACE_S]
        if not due or "local" not in self.gateway.backends.names:
            return
        local = self.gateway.backends.get("local")
        here = {room["room_url"] for room in local.rooms()}
        for name in due:
            if name in here:
                continue
            self.room_claimed_at.pop(name, None)
            await self.membership.release("room", name)
            log.info("= %s emptied: this node no longer hosts it", name)

    async def cluster_rooms(self, local: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
        """``list-rooms`` of the whole cluster: ``local`` (this node's, now) and what the other live nodes published.

        Returns (rooms, complete): incomplete when Redis could not be read (then only this node's).
        """
        try:
            nodes = await self.directory.nodes()
            published = await self.directory.rooms_of([n.node_id for n in nodes if n.node_id != self.node_id])
        except DirectoryUnavailable:
            return local, False
        merged: dict[str, dict[str, Any]] = {room["room_url"]: room for room in local}
        complete = True
        for raw in published.values():
            try:
                rooms = orjson.loads(raw)
            except orjson.JSONDecodeError:
                complete = False
                continue
            for room in rooms:
                mine = merged.get(room["room_url"])
                if mine is None:
                    merged[room["room_url"]] = room
                else:  # a Daily room with sessions on several nodes: one entry, everyone in it
                    merged[room["room_url"]] = {
                        **mine, "participants": {**room["participants"], **mine["participants"]},
                        "observers": mine.get("observers", 0) + room.get("observers", 0),
                        "sessions": [*mine.get("sessions", []), *room.get("sessions", [])],
                    }
        return list(merged.values()), complete


def _rss_mb() -> float:
    """This process's resident memory now (Linux), else 0."""
    try:
        with open("/proc/self/statm") as statm:
            return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


__all__ = ["GatewayNode", "HANDOVER_HEADER", "HandoverError", "MAX_HOPS", "PLACING_REQUESTS", "cluster_secret"]
