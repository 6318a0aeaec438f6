"""The directory against a real redis-server: nodes, leases taken atomically, expiry, takeover, Redis loss."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.cluster.directory import (
    Directory,
    DirectoryUnavailable,
    SessionRecord,
    Timing,
    resume_digest,
)
from gateway.cluster.membership import Membership
from gateway.cluster.node import NodeInfo
from gateway.cluster.redis_server import RedisServer

FAST = Timing(heartbeat_ms=100, node_ttl_ms=400, renew_ms=200, room_ttl_ms=1000, session_ttl_ms=2000,
              redis_timeout_s=0.5)
"""Short enough for tests to wait out expiries in well under a second each."""


def info(node_id: str, **load: object) -> NodeInfo:
    return NodeInfo(node_id=node_id, address=f"ws://127.0.0.1:1/{node_id}", version="test", **load)  # type: ignore[arg-type]


@pytest.fixture
async def directories(redis_server: RedisServer) -> AsyncIterator[Callable[..., Directory]]:
    """Factory of directories on the test's Redis (one namespace per test), all closed at the end."""
    made: list[Directory] = []
    namespace = f"t-{uuid.uuid4().hex[:8]}"

    def make(node_id: str, timing: Timing = FAST) -> Directory:
        directory = Directory.from_url(redis_server.url, node_id, timing=timing, namespace=namespace)
        made.append(directory)
        return directory

    yield make
    for directory in made:
        await directory.close()


async def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.02) -> float:
    """Poll an async-or-sync predicate until true; returns the seconds it took (fails past ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return time.monotonic() - start
        await asyncio.sleep(step)
    raise AssertionError(f"not true within {timeout} s")


async def test_nodes_register_with_their_load_and_vanish_when_their_heartbeat_stops(directories):
    """Heartbeats list a node with what it published; a node silent for node_ttl_ms drops out of the list."""
    a, b = directories("a"), directories("b")
    await a.heartbeat(info("a", sessions=3, cpu=0.25, draining=False))
    await b.heartbeat(info("b", sessions=1, draining=True))
    listed = {node.node_id: node for node in await a.nodes()}
    assert listed.keys() == {"a", "b"}
    assert (listed["a"].sessions, listed["a"].cpu, listed["b"].draining) == (3, 0.25, True)
    assert listed["a"].address == "ws://127.0.0.1:1/a"

    async def only_b_left() -> bool:
        await b.heartbeat(info("b", sessions=1))
        return [node.node_id for node in await b.nodes()] == ["b"]

    waited = await wait_for(only_b_left, timeout=2.0)
    assert FAST.node_ttl_ms / 1000 * 0.5 <= waited <= FAST.node_ttl_ms / 1000 + 0.5
    assert await b.redis.smembers(b.keys.nodes) == {b"b"}  # the dead id was pruned


async def test_concurrent_claims_of_one_room_have_exactly_one_winner(directories):
    """Ten nodes claiming one room at once: one holds it, the nine others learn that one."""
    nodes = [directories(f"n{i}") for i in range(10)]
    for directory in nodes:
        await directory.heartbeat(info(directory.node_id))
    claims = await asyncio.gather(*(d.claim("room", "local://r") for d in nodes for _ in range(2)))
    winners = {claim.holder for claim in claims if claim.mine}
    assert len(winners) == 1
    (winner,) = winners
    assert all(claim.holder == winner for claim in claims)
    assert await nodes[0].room_host("local://r") == winner


async def test_a_dead_nodes_room_is_taken_over_after_node_ttl_and_its_renewal_reports_the_loss(directories):
    """While its holder heartbeats the room is refused to others; once silent for node_ttl_ms it is taken over,
    and the old holder, back again, learns at its next renewal that it lost it."""
    a, b = directories("a"), directories("b")
    await a.heartbeat(info("a"))
    await b.heartbeat(info("b"))
    first = await a.claim("room", "local://r")
    assert first.mine and not first.took_over
    assert (await b.claim("room", "local://r")).holder == "a"

    async def b_takes_it():
        await b.heartbeat(info("b"))
        return (await b.claim("room", "local://r")).mine

    waited = await wait_for(b_takes_it, timeout=2.0)
    assert waited >= FAST.node_ttl_ms / 1000 * 0.5
    taken = await b.claim("room", "local://r")
    assert taken.mine and taken.holder == "b"
    await a.heartbeat(info("a"))  # a comes back (a long pause, a partition)
    renewal = await a.renew([first.lease])
    assert renewal.lost == [first.lease] and not renewal.renewed
    assert await a.room_host("local://r") == "b"


async def test_renewal_keeps_a_lease_past_its_ttl_and_without_it_the_lease_expires(directories):
    """A renewed room lease outlives room_ttl_ms several times over; an unrenewed one is gone after it."""
    a = directories("a")
    await a.heartbeat(info("a"))
    kept = (await a.claim("room", "local://kept")).lease
    dropped = (await a.claim("room", "local://dropped")).lease
    deadline = time.monotonic() + FAST.room_ttl_ms / 1000 * 1.6
    while time.monotonic() < deadline:
        await a.heartbeat(info("a"))
        outcome = await a.renew([kept])
        assert outcome.renewed == [kept]
        await asyncio.sleep(0.1)
    assert await a.room_host("local://kept") == "a"
    assert await a.lookup("room", "local://dropped") is None
    assert (await a.renew([dropped])).missing == [dropped]


async def test_release_frees_a_room_and_orphans_a_session_for_a_rejoin_elsewhere(directories):
    """A released room is free at once; an orphaned session keeps its record, and another node takes it over."""
    a, b = directories("a"), directories("b")
    await a.heartbeat(info("a"))
    await b.heartbeat(info("b"))
    room = (await a.claim("room", "local://r")).lease
    assert await a.release(room)
    assert await a.lookup("room", "local://r") is None
    assert not await a.release(room)  # twice: no longer this lease, nothing changed

    record = SessionRecord("s1", "join", "https://x.daily.co/r", "daily", params={"user_name": "bot"},
                           principal={"name": "key:k1"}, resume_digest=resume_digest("s1.secret"), created_at=1.0)
    session = (await a.claim("session", "s1", record.to_json())).lease
    assert await a.release(session, orphan=True)
    entry, kept = await b.session("s1")
    assert (entry.holder, entry.in_force) == ("", False)
    assert kept == record and kept.token_matches("s1.secret") and not kept.token_matches("s1.other")
    takeover = await b.claim("session", "s1")
    assert takeover.mine and takeover.previous == ""
    entry, kept = await b.session("s1")
    assert (entry.holder, entry.in_force, kept.params) == ("b", True, {"user_name": "bot"})


async def test_reserve_raises_a_live_nodes_load_and_never_creates_a_dead_one(directories):
    """A placement counts on the chosen node at once; reserving on a node without a record writes nothing."""
    a = directories("a")
    await a.heartbeat(info("a", sessions=2))
    await a.reserve("a")
    await a.reserve("a", 2)
    await a.reserve("ghost")
    listed = await a.nodes()
    assert [(node.node_id, node.sessions) for node in listed] == [("a", 5)]
    assert await a.redis.exists(a.keys.node("ghost")) == 0


HOLDER = """
import asyncio, sys
from gateway.cluster.directory import Directory, Timing
from gateway.cluster.membership import Membership
from gateway.cluster.node import NodeInfo

async def main():
    timing = Timing(heartbeat_ms=100, node_ttl_ms=400, renew_ms=200, room_ttl_ms=5000, session_ttl_ms=5000)
    directory = Directory.from_url(sys.argv[1], "victim", timing=timing, namespace=sys.argv[2])
    member = Membership(directory, lambda: NodeInfo("victim", "ws://127.0.0.1:1/v1"))
    await member.start()
    claim = await member.claim("room", "local://r")
    assert claim.mine
    print("holding", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_a_node_killed_with_sigkill_loses_its_rooms_within_node_ttl(directories, redis_server):
    """A real node process holding a room is killed -9; another node takes the room within node_ttl_ms
    (plus a heartbeat), long before the room lease's own TTL (5 s)."""
    b = directories("b")
    namespace = b.keys.namespace
    victim = subprocess.Popen([sys.executable, "-c", HOLDER, redis_server.url, namespace],
                              stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert victim.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(victim.stdout.readline), 15)
        assert line.strip() == "holding"
        await b.heartbeat(info("b"))
        assert (await b.claim("room", "local://r")).holder == "victim"
        await asyncio.sleep(0.3)  # it keeps the room while it heartbeats
        assert (await b.claim("room", "local://r")).holder == "victim"
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        victim.wait(5)

        async def taken() -> bool:
            return (await b.claim("room", "local://r")).mine

        await wait_for(taken, timeout=3.0)
        took = time.monotonic() - killed_at
        assert took <= (FAST.node_ttl_ms + FAST.heartbeat_ms) / 1000 + 0.3, took
        claim = await b.claim("room", "local://r")
        assert claim.holder == "b"
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(5)


async def test_membership_takes_back_its_leases_when_redis_restarts_empty(directories, redis_server):
    """Redis restarted without its data: the node notices (new epoch), writes its room and session leases
    and records again within a few heartbeats, and places nothing new until every node had time to."""
    a = directories("a")
    member = Membership(a, lambda: info("a", sessions=1))
    await member.start()
    try:
        record = SessionRecord("s1", "join", "local://r", "local", resume_digest=resume_digest("tok"))
        assert (await member.claim("room", "local://r")).mine
        assert (await member.claim("session", "s1", record.to_json())).mine
        assert member.placeable
        epoch = member.epoch
        redis_server.restart()
        await wait_for(lambda: not member.reachable or member.epoch != epoch, timeout=3.0)

        async def back() -> bool:
            if member.epoch == epoch or not member.reachable:
                return False
            found = await a.session("s1")
            return await a.room_host("local://r") == "a" and found is not None and found[1] == record

        await wait_for(back, timeout=3.0)
        assert not member.placeable  # settling: other nodes may still be re-asserting theirs
        await wait_for(lambda: member.placeable, timeout=FAST.node_ttl_ms / 1000 + 1.0)
        assert [node.node_id for node in await a.nodes()] == ["a"]
    finally:
        await member.stop()


async def test_redis_down_is_a_typed_error_within_the_timeout_and_membership_recovers(directories, redis_server):
    """With redis-server stopped every call raises DirectoryUnavailable within the bound, the node reports it
    cannot place and keeps its leases in memory; when Redis returns it is placeable and holds them again."""
    a = directories("a")
    member = Membership(a, lambda: info("a"))
    await member.start()
    try:
        assert (await member.claim("room", "local://r")).mine
        redis_server.stop()
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable):
            await a.claim("room", "local://other")
        assert time.monotonic() - started <= FAST.redis_timeout_s + 1.0
        await wait_for(lambda: not member.placeable, timeout=2.0)
        assert ("room", "local://r") in member.held
        redis_server.restart()

        async def recovered() -> bool:
            return member.reachable and await a.room_host("local://r") == "a"

        await wait_for(recovered, timeout=3.0)
    finally:
        await member.stop()


async def test_a_node_back_from_a_pause_is_told_which_leases_another_node_took(directories):
    """A node whose heartbeat stopped past node_ttl_ms (a GC pause, a partition) gets on_lost for the room
    taken over meanwhile, and keeps the one nobody took."""
    a, b = directories("a"), directories("b")
    lost: list[str] = []
    member = Membership(a, lambda: info("a"), on_lost=lambda lease: lost.append(lease.name))
    await member.beat()
    await member.claim("room", "local://taken")
    await member.claim("room", "local://kept")
    await b.heartbeat(info("b"))

    async def b_took_it() -> bool:
        await b.heartbeat(info("b"))
        return (await b.claim("room", "local://taken")).mine

    await wait_for(b_took_it, timeout=2.0)
    await member.beat()
    await member.renew()
    assert lost == ["local://taken"]
    assert set(name for _, name in member.held) == {"local://kept"}
    assert await a.room_host("local://kept") == "a"


async def test_a_clean_stop_frees_everything_at_once(directories):
    """Membership.stop() deletes its rooms, orphans its sessions and deregisters: another node takes both
    without waiting node_ttl_ms."""
    a, b = directories("a"), directories("b")
    member = Membership(a, lambda: info("a"))
    await member.start()
    await member.claim("room", "local://r")
    await member.claim("session", "s1", SessionRecord("s1", "join", "local://r", "local").to_json())
    await b.heartbeat(info("b"))
    await member.stop()
    assert [node.node_id for node in await b.nodes()] == ["b"]
    room = await b.claim("room", "local://r")
    session = await b.claim("session", "s1")
    assert room.mine and room.previous is None  # deleted, not inherited
    assert session.mine and session.previous == ""
