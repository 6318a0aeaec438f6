"""The cluster's directory in Redis: which nodes are alive, which node hosts each local room and session.

A *lease* is a Redis hash naming its holder (``node``) and a random ``lease`` token, taken and
renewed by Lua scripts so each step is atomic: two nodes never both win a room. A lease counts
only while its holder's node key exists, and a node key expires ``node_ttl_ms`` after the node's
last heartbeat; so when a node dies (kill -9, a lost machine) everything it held can be taken
over within ``node_ttl_ms``, without waiting for each lease's own TTL, which only collects
garbage (docs/CLUSTER.md, "Leases").

Every Redis failure (refused, reset, timed out, a replica that will not write, a server loading
its data) is raised as :class:`DirectoryUnavailable` within ``Timing.redis_timeout_s``: callers
keep serving what they host and refuse what they cannot place (docs/CLUSTER.md, "Redis down").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .keys import KeyLayout
from .node import NodeInfo

LeaseKind = Literal["room", "session"]


CALL_BOUND_FACTOR = 4
"""A directory call ends within this many ``redis_timeout_s`` (pool wait, connect, command and one retry)."""


class DirectoryUnavailable(Exception):
    """Redis could not be reached or refused the command; nothing was changed that the caller can rely on."""


@dataclass(frozen=True)
class Timing:
    """How often a node speaks to Redis and how long what it wrote lasts (docs/CLUSTER.md, "Timing")."""

    heartbeat_ms: int = 1000
    """Period of the node's heartbeat (its load, its key's expiry pushed back)."""
    node_ttl_ms: int = 5000
    """A node whose heartbeat stopped this long is gone: its leases may be taken over. The bound on
    failure detection; at least three heartbeats, so one slow Redis round trip is not a death."""
    renew_ms: int = 5000
    """Period of lease renewal (each lease's own TTL pushed back, in batches)."""
    room_ttl_ms: int = 20000
    """TTL of a room lease: only collects a dead node's leases (takeover does not wait for it)."""
    session_ttl_ms: int = 50000
    """TTL of a session lease and record: long enough for its client to resume and re-join
    elsewhere after its node died (``resume_grace_ms`` + ``node_ttl_ms`` + two renewals)."""
    redis_timeout_s: float = 1.0
    """Bound on one Redis call (connect or command); past it the directory is unavailable."""

    @classmethod
    def for_resume_grace(cls, resume_grace_ms: int, **overrides: Any) -> Timing:
        """Timing whose session records outlive a dead node by ``resume_grace_ms``."""
        base = cls(**overrides)
        session_ttl = max(resume_grace_ms, 0) + base.node_ttl_ms + 2 * base.renew_ms
        return cls(**{**overrides, "session_ttl_ms": overrides.get("session_ttl_ms", session_ttl)})

    def ttl_ms(self, kind: LeaseKind) -> int:
        return self.room_ttl_ms if kind == "room" else self.session_ttl_ms


@dataclass(frozen=True)
class Lease:
    """A lease this node holds: the proof (``token``) that its renewals and releases are its own."""

    kind: LeaseKind
    name: str
    """Room URL or session id."""
    token: str


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to take a lease."""

    holder: str
    """The node holding it now (this node when ``lease`` is set)."""
    lease: Lease | None = None
    """Set when this node holds it (taken now or already held)."""
    previous: str | None = None
    """Whom it was taken over from: a dead node's id, ``""`` for a lease its holder gave up (orphaned),
    None when it was free or already this node's."""

    @property
    def mine(self) -> bool:
        return self.lease is not None

    @property
    def took_over(self) -> bool:
        """Whether another node held it before (dead, or gave it up)."""
        return self.previous is not None


@dataclass(frozen=True)
class SessionRecord:
    """What another node needs to resume or re-join a session (PROTOCOL.md, "Clusters: many gateway nodes")."""

    session_id: str
    kind: Literal["join", "observe"]
    room_url: str
    backend: str
    params: dict[str, Any] = field(default_factory=dict)
    """The ``join`` or ``observe`` request's fields (id and type aside) with defaults applied: a re-join sends them again."""
    principal: dict[str, Any] = field(default_factory=dict)
    """Who opened the session (auth.Principal as data): a resume must come from the same."""
    resume_digest: str = ""
    """SHA-256 of the resume token (hex): the token itself is never written to Redis."""
    created_at: float = 0.0

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__)

    @classmethod
    def from_json(cls, raw: bytes | str) -> SessionRecord:
        data = orjson.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a session record is a JSON object")
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def token_matches(self, resume_token: str) -> bool:
        """Whether ``resume_token`` is this session's, compared in constant time."""
        return bool(self.resume_digest) and hmac.compare_digest(resume_digest(resume_token), self.resume_digest)


def resume_digest(resume_token: str) -> str:
    """What the directory keeps of a resume token: enough to check one, useless to forge one."""
    return hashlib.sha256(resume_token.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A lease as read from the directory, with whether its holder is alive."""

    holder: str
    """Node id; ``""`` when the holder gave it up (a drained node's sessions, waiting for a re-join)."""
    alive: bool
    """Whether the holder's node key exists: only then is the lease in force."""
    data: bytes | None = None

    @property
    def in_force(self) -> bool:
        return bool(self.holder) and self.alive


@dataclass(frozen=True)
class Renewal:
    """The outcome of one batch renewal: what is still ours, what vanished, what another node took."""

    renewed: list[Lease] = field(default_factory=list)
    missing: list[Lease] = field(default_factory=list)
    """Gone from Redis (it lost its data, or the TTL passed while Redis was away): claim again."""
    lost: list[Lease] = field(default_factory=list)
    """Held by another node now (it took over while this one seemed dead): stop hosting them."""


# Lease scripts. ARGV[1] is always the node key prefix, so a script can test whether a holder
# is alive (``EXISTS <prefix><holder>``). Keys other than KEYS[] are touched, so the directory
# needs one Redis (or a primary with replicas), not Redis Cluster (docs/CLUSTER.md, "Limits").

CLAIM = """
local holder = redis.call('HGET', KEYS[1], 'node')
if holder and holder ~= '' then
  if holder == ARGV[2] then
    return {'held', holder, redis.call('HGET', KEYS[1], 'lease') or '', ''}
  end
  if redis.call('EXISTS', ARGV[1] .. holder) == 1 then
    return {'other', holder, '', ''}
  end
end
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'lease', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'data', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if holder then return {'taken', ARGV[2], ARGV[3], '1', holder} end
return {'taken', ARGV[2], ARGV[3], ''}
"""
"""KEYS: lease. ARGV: node prefix, me, token, ttl ms, data ('' keeps the record). Takes a lease that
is free, given up (holder '') or held by a dead node; returns {status, holder, token, taken_over, previous}."""

RENEW = """
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('HGET', key, 'node')
  local token = redis.call('HGET', key, 'lease')
  if not holder then
    out[i] = 0
  elseif holder == ARGV[2] and token == ARGV[1 + 2 * i] then
    redis.call('PEXPIRE', key, ARGV[2 + 2 * i])
    out[i] = 1
  else
    out[i] = -1
  end
end
return out
"""
"""KEYS: leases. ARGV: node prefix, me, then token and ttl ms per key. Per key: 1 renewed, 0 missing,
-1 held by another node (or re-taken under another token)."""

RELEASE = """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
if ARGV[2] == 'orphan' then
  redis.call('HSET', KEYS[1], 'node', '')
else
  redis.call('DEL', KEYS[1])
end
return 1
"""
"""KEYS: lease. ARGV: token, 'delete' or 'orphan' (keep the record, holder '': any node may re-join it)."""

LOOKUP = """
local got = redis.call('HMGET', KEYS[1], 'node', 'data')
if not got[1] then return false end
local alive = 0
if got[1] ~= '' then alive = redis.call('EXISTS', ARGV[1] .. got[1]) end
return {got[1], alive, got[2] or ''}
"""
"""KEYS: lease. ARGV: node prefix. Returns {holder, alive (0/1), data} or nil."""

HEARTBEAT = """
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  redis.call('SET', KEYS[3], ARGV[3])
  epoch = ARGV[3]
end
return epoch
"""
"""KEYS: node, nodes set, epoch. ARGV: ttl ms, node id, epoch candidate, then field, value pairs.
Returns the data set's epoch (the candidate when Redis had none: its data is new)."""

RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HINCRBY', KEYS[1], 'sessions', ARGV[1]) end
return 0
"""
"""KEYS: node. ARGV: sessions to add. Only to a live record: HINCRBY alone would create one without a TTL."""


def connect(url: str, timing: Timing, *, max_connections: int = 16) -> redis_asyncio.Redis:
    """A redis-py asyncio client whose every call ends within about ``timing.redis_timeout_s``.

    One immediate retry on a broken connection (a pooled connection Redis closed when it restarted: without it the
    first call on each of them would fail once Redis is back), none on a timeout (the heartbeat is the retry);
    bounded connect and command timeouts; at most
    ``max_connections`` connections, further callers waiting their turn (up to the same timeout)
    rather than failing: a burst of joins queues instead of opening a connection each.
    """
    pool = redis_asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timing.redis_timeout_s,
        socket_timeout=timing.redis_timeout_s,
        socket_connect_timeout=timing.redis_timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        client_name="daily-gateway",
    )
    return redis_asyncio.Redis.from_pool(pool)


class Directory:
    """One node's handle on the directory: node registry, room and session leases, session records."""

    def __init__(self, client: redis_asyncio.Redis, node_id: str, *, timing: Timing | None = None,
                 layout: KeyLayout | None = None) -> None:
        self.redis = client
        self.node_id = node_id
        self.timing = timing or Timing()
        self.keys = layout or KeyLayout()
        self._claim = client.register_script(CLAIM)
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self._lookup = client.register_script(LOOKUP)
        self._heartbeat = client.register_script(HEARTBEAT)
        self._reserve = client.register_script(RESERVE)

    @classmethod
    def from_url(cls, url: str, node_id: str, *, timing: Timing | None = None, namespace: str | None = None) -> Directory:
        timing = timing or Timing()
        layout = KeyLayout(namespace) if namespace else KeyLayout()
        return cls(connect(url, timing), node_id, timing=timing, layout=layout)

    async def close(self) -> None:
        await self.redis.aclose()

    async def _run(self, call: Any) -> Any:
        # redis-py bounds the pool wait, the connect and each command; this bounds the whole call (a retry
        # included) whatever happens inside the library, so no caller can wait on Redis without end.
        try:
            async with asyncio.timeout(CALL_BOUND_FACTOR * self.timing.redis_timeout_s):
                return await call
        except (RedisError, OSError) as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise DirectoryUnavailable(f"no answer within {CALL_BOUND_FACTOR * self.timing.redis_timeout_s:g} s") from exc

    async def ping(self) -> None:
        """Raises :class:`DirectoryUnavailable` unless Redis answers."""
        await self._run(self.redis.ping())

    # ------------------------------------------------------------------ nodes

    async def heartbeat(self, info: NodeInfo) -> str:
        """Publish this node's record and push its expiry back; returns the data set's epoch."""
        pairs: list[str] = []
        for name, value in info.to_fields().items():
            pairs += [name, value]
        epoch = await self._run(self._heartbeat(
            keys=[self.keys.node(info.node_id), self.keys.nodes, self.keys.epoch],
            args=[self.timing.node_ttl_ms, info.node_id, secrets.token_hex(8), *pairs],
        ))
        return _text(epoch)

    async def deregister(self) -> None:
        """Remove this node at once (a clean exit), so its leases may be taken over without waiting."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.node(self.node_id), self.keys.node_rooms(self.node_id))
        pipe.srem(self.keys.nodes, self.node_id)
        await self._run(pipe.execute())

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes, sorted by id; ids whose record expired are pruned from the set."""
        ids = sorted(_text(raw) for raw in await self._run(self.redis.smembers(self.keys.nodes)))
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for node_id in ids:
            pipe.hgetall(self.keys.node(node_id))
        records = await self._run(pipe.execute())
        live: list[NodeInfo] = []
        dead: list[str] = []
        for node_id, record in zip(ids, records, strict=True):
            if not record:
                dead.append(node_id)
                continue
            try:
                live.append(NodeInfo.from_fields(record))
            except ValueError:
                dead.append(node_id)
        if dead:
            await self._run(self.redis.srem(self.keys.nodes, *dead))
        return live

    async def node(self, node_id: str) -> NodeInfo | None:
        record = await self._run(self.redis.hgetall(self.keys.node(node_id)))
        return NodeInfo.from_fields(record) if record else None

    async def reserve(self, node_id: str, sessions: int = 1) -> None:
        """Count a placement on ``node_id`` at once (its next heartbeat replaces the count with the truth)."""
        await self._run(self._reserve(keys=[self.keys.node(node_id)], args=[sessions]))

    async def publish_rooms(self, rooms: bytes) -> None:
        """This node's rooms (``list-rooms`` entries, JSON) for the other nodes; they expire with its node key."""
        await self._run(self.redis.set(self.keys.node_rooms(self.node_id), rooms, px=self.timing.node_ttl_ms))

    async def touch_rooms(self) -> bool:
        """Push back the expiry of this node's published rooms; False when Redis no longer has them."""
        return bool(await self._run(self.redis.pexpire(self.keys.node_rooms(self.node_id), self.timing.node_ttl_ms)))

    async def rooms_of(self, node_ids: Sequence[str]) -> dict[str, bytes]:
        """The rooms each node published last (JSON), by node id; nodes that published nothing are left out."""
        if not node_ids:
            return {}
        values = await self._run(self.redis.mget([self.keys.node_rooms(node_id) for node_id in node_ids]))
        return {node_id: value for node_id, value in zip(node_ids, values, strict=True) if value}

    # ------------------------------------------------------------------ leases

    def _key(self, kind: LeaseKind, name: str) -> str:
        return self.keys.room(name) if kind == "room" else self.keys.session(name)

    async def claim(self, kind: LeaseKind, name: str, data: bytes = b"") -> Claim:
        """Take the lease on a room or session unless a live node holds it (then learn which).

        ``data`` replaces the record when the lease is taken (sessions); ``b""`` keeps what is there.
        """
        token = secrets.token_hex(12)
        reply = await self._run(self._claim(
            keys=[self._key(kind, name)],
            args=[self.keys.node_prefix, self.node_id, token, self.timing.ttl_ms(kind), data],
        ))
        status, holder = _text(reply[0]), _text(reply[1])
        if status == "other":
            return Claim(holder=holder)
        lease = Lease(kind, name, _text(reply[2]))
        previous = _text(reply[4]) if status == "taken" and len(reply) > 4 else None
        return Claim(holder=holder, lease=lease, previous=previous)

    async def lookup(self, kind: LeaseKind, name: str) -> Entry | None:
        """Who holds a room or session (and whether that node is alive), with the session's record."""
        reply = await self._run(self._lookup(keys=[self._key(kind, name)], args=[self.keys.node_prefix]))
        if not reply:
            return None
        data = reply[2] if isinstance(reply[2], bytes) else str(reply[2]).encode()
        return Entry(holder=_text(reply[0]), alive=int(reply[1]) == 1, data=data or None)

    async def room_host(self, room_url: str) -> str | None:
        """The live node hosting a local room, or None (nobody, or its node died)."""
        entry = await self.lookup("room", room_url)
        return entry.holder if entry is not None and entry.in_force else None

    async def session(self, session_id: str) -> tuple[Entry, SessionRecord] | None:
        """A session's lease and record, or None if the directory has no record (ended, expired, unknown)."""
        entry = await self.lookup("session", session_id)
        if entry is None or entry.data is None:
            return None
        try:
            return entry, SessionRecord.from_json(entry.data)
        except ValueError:
            return None

    async def renew(self, leases: Sequence[Lease], *, batch: int = 500) -> Renewal:
        """Push back the TTL of every lease still this node's, in scripts of ``batch`` leases."""
        outcome = Renewal()
        for start in range(0, len(leases), batch):
            chunk = leases[start:start + batch]
            args: list[Any] = [self.keys.node_prefix, self.node_id]
            for lease in chunk:
                args += [lease.token, self.timing.ttl_ms(lease.kind)]
            codes = await self._run(self._renew(keys=[self._key(lease.kind, lease.name) for lease in chunk], args=args))
            for lease, code in zip(chunk, codes, strict=True):
                {1: outcome.renewed, 0: outcome.missing}.get(int(code), outcome.lost).append(lease)
        return outcome

    async def release(self, lease: Lease, *, orphan: bool = False) -> bool:
        """Give a lease up: delete it, or (``orphan``, sessions) keep the record for a re-join elsewhere.

        False when it was no longer this lease (expired, taken over): nothing was changed.
        """
        done = await self._run(self._release(keys=[self._key(lease.kind, lease.name)],
                                             args=[lease.token, "orphan" if orphan else "delete"]))
        return int(done) == 1

    async def release_all(self, leases: Iterable[Lease], *, orphan_sessions: bool = True) -> None:
        """Give every lease up at once (a drained node's exit): rooms deleted, sessions orphaned."""
        pipe = self.redis.pipeline(transaction=False)
        for lease in leases:
            orphan = orphan_sessions and lease.kind == "session"
            await self._release(keys=[self._key(lease.kind, lease.name)],
                                args=[lease.token, "orphan" if orphan else "delete"], client=pipe)
        await self._run(pipe.execute())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
