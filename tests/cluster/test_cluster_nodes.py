"""Gateway processes as cluster nodes (real processes, a real redis-server): any node serves any client."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from gateway_client import GatewayClient

from protocol.media import encode_audio
from tests.cluster.nodes import Cluster, eventually, room_holder, session_holder


def tone(rate: int, seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16).tobytes()


async def heard(listener: GatewayClient, speaker: GatewayClient, rate: int, timeout: float = 10.0) -> int:
    """Samples of ``speaker``'s audio ``listener`` received at ``rate`` (at least 0.2 s with sound in it)."""
    samples = 0

    async def collect() -> None:
        nonlocal samples
        async for frame in listener.audio():
            if frame.participant_id != speaker.participant_id:
                continue
            assert frame.sample_rate == rate
            pcm = np.frombuffer(frame.pcm, np.int16)
            if np.abs(pcm).max() > 1000:
                samples += len(pcm)
                if samples >= rate // 5:
                    return

    await asyncio.wait_for(collect(), timeout)
    return samples


async def test_clients_on_two_nodes_share_a_local_room_and_hear_each_other_at_8_and_48_khz(cluster: Cluster, room):
    """A client of node B joining a room hosted by node A is relayed to A: both hear each other (receivers at 8 kHz
    and 48 kHz), app messages cross both ways, and B's client sees one gap-free seq sequence from B's hello on."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    a = await GatewayClient.connect(node_a.url)
    b = await GatewayClient.connect(node_b.url)
    try:
        await a.join(room, user_name="on-a", audio_in={"sample_rate": 8000}, audio_out={"sample_rate": 8000})
        joined = await b.join(room, user_name="on-b", audio_in={"sample_rate": 48000}, audio_out={"sample_rate": 48000})
        assert a.participant_id in joined["participants"], "B's client is not in the room A hosts"
        assert "relayed to node" in node_b.log()
        await a.wait_for("participant-joined", lambda d: d["participant"]["id"] == b.participant_id)

        await a.send_audio(tone(8000, 1.0), chunk_ms=20)
        await b.send_audio(tone(48000, 1.0, hz=660), chunk_ms=20)
        assert await heard(b, a, 48000) >= 48000 // 5
        assert await heard(a, b, 8000) >= 8000 // 5

        await a.send_app_message({"from": "a"})
        await b.send_app_message({"from": "b"})
        await b.wait_for("app-message", lambda d: d["message"] == {"from": "a"})
        await a.wait_for("app-message", lambda d: d["message"] == {"from": "b"})
        assert b.seq_gaps == [] and a.seq_gaps == []
    finally:
        await a.close()
        await b.close()


async def test_clients_on_three_nodes_share_one_room_and_each_hears_the_other_two(cluster: Cluster, room):
    """Three nodes, a client on each in one local room (receivers at 16, 24 and 8 kHz): the room lives on one node,
    the other two relay to it, everyone hears both others, and list-rooms on any node shows the three."""
    nodes = [cluster.start_node(name=f"node-{n}") for n in "abc"]
    rates = [16000, 24000, 8000]
    clients = [await GatewayClient.connect(node.url) for node in nodes]
    try:
        for i, (client, rate) in enumerate(zip(clients, rates, strict=True)):
            await client.join(room, user_name=f"on-{'abc'[i]}", audio_in={"sample_rate": rate},
                              audio_out={"sample_rate": rate})
        relayed = [node for node in nodes if "relayed to node" in node.log()]
        assert len(relayed) == 2, "two of the three nodes should relay to the one hosting the room"
        for i, (client, rate) in enumerate(zip(clients, rates, strict=True)):
            await client.send_audio(tone(rate, 1.0, hz=300.0 + 200 * i), chunk_ms=20)
        for listener, rate in zip(clients, rates, strict=True):
            for speaker in clients:
                if speaker is not listener:
                    assert await heard(listener, speaker, rate) >= rate // 5

        async def all_three_listed() -> bool:
            for client in clients:
                listed = await client.request("list-rooms")
                names = sorted(p["info"]["userName"] for r in listed["rooms"] if r["room_url"] == room
                               for p in r["participants"].values())
                if names != ["on-a", "on-b", "on-c"]:
                    return False
            return True

        await eventually(all_three_listed, 10)
    finally:
        for client in clients:
            await client.close()


async def test_oversize_frames_from_a_relayed_client_get_too_large_from_the_serving_node(cluster: Cluster, room):
    """A relayed client's frames over the limit (binary, then text) are skipped unread by the relaying node and
    answered too_large by the serving node, with the binary frame's track and seq, in the client's one seq sequence;
    the session goes on."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    a = await GatewayClient.connect(node_a.url)
    b = await GatewayClient.connect(node_b.url)
    try:
        await a.join(room, user_name="host-side")
        await b.join(room, user_name="relayed")
        assert "relayed to node" in node_b.log()
        limit = b.limits["max_frame_bytes"]
        await b.send_raw(encode_audio(1, 9, 0, 24000, 1, b"\x00" * (limit + 2)))
        error = await b.next_protocol_error()
        assert error.code == "too_large" and error.details == {"track": 1, "seq": 9}, error.details
        text_limit = b.limits["max_message_bytes"]
        await b.send_raw('{"type": "ping", "id": "big", "pad": "' + "x" * text_limit + '"}')
        assert (await b.next_protocol_error()).code == "too_large"
        assert (await b.request("ping")) is not None
        assert b.seq_gaps == []
    finally:
        await a.close()
        await b.close()


async def test_list_rooms_shows_the_rooms_of_every_node(cluster: Cluster):
    """Rooms hosted on node A and on node B are both listed by a client of either node."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    a, b, watcher = (await GatewayClient.connect(node_a.url), await GatewayClient.connect(node_b.url),
                     await GatewayClient.connect(node_b.url))
    try:
        await a.join("local://only-on-a", user_name="alice")
        await b.join("local://only-on-b", user_name="bob")

        async def both_listed() -> bool:
            rooms = {r["room_url"]: r for r in (await watcher.request("list-rooms"))["rooms"]}
            return {"local://only-on-a", "local://only-on-b"} <= set(rooms) and \
                [p["info"]["userName"] for p in rooms["local://only-on-a"]["participants"].values()] == ["alice"]

        await eventually(both_listed, 5)
        listed = await watcher.request("list-rooms")
        assert "incomplete" not in listed
    finally:
        for client in (a, b, watcher):
            await client.close()


async def test_a_client_dropped_from_node_a_resumes_through_node_b_and_misses_no_event(cluster: Cluster, room):
    """A session hosted by A whose connection dropped is resumed by a connection to B: the resume token leads B to
    A through the directory, B relays, and the event sent while the client was away is replayed, seq without gap."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    client = await GatewayClient.connect(node_a.url, auto_resume=True)
    other = await GatewayClient.connect(node_a.url)
    try:
        await client.join(room, user_name="traveller")
        await other.join(room, user_name="stays")
        await client.wait_for("participant-joined", lambda d: d["participant"]["id"] == other.participant_id)
        client._url = node_b.url  # the balancer sends the reconnection elsewhere
        client.resume_backoff = (0.3, 0.5)
        client.ws.transport.abort()  # a drop: no close frame
        await other.send_app_message({"while": "away"})
        resumed = await client.wait_resumed(timeout=10)
        assert resumed["replayed"] >= 1 and resumed["session_id"] == client.session_id
        await client.wait_for("app-message", lambda d: d["message"] == {"while": "away"})
        assert client.seq_gaps == []
        assert "relayed to node" in node_b.log()
        await client.send_app_message({"back": True})  # the relayed connection serves the session on A
        await other.wait_for("app-message", lambda d: d["message"] == {"back": True})
    finally:
        await client.close()
        await other.close()


async def test_a_room_of_a_node_killed_with_sigkill_is_hosted_again_on_the_next_join(cluster: Cluster, room):
    """After kill -9 of the node hosting a room, a join of that room through another node succeeds within the
    failure bound (node_ttl_ms) plus a heartbeat: the room's lease is taken over."""
    import time

    from tests.cluster.nodes import HEARTBEAT_MS, NODE_TTL_MS

    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    a = await GatewayClient.connect(node_a.url)
    await a.join(room, user_name="doomed")
    node_a.process.kill()
    node_a.process.wait(5)
    killed = time.monotonic()
    b = await GatewayClient.connect(node_b.url)
    try:
        async def joined() -> bool:
            try:
                await b.join(room, user_name="survivor")
                return True
            except Exception as exc:  # noqa: BLE001 - unavailable until the lease expires
                assert getattr(exc, "code", "") == "unavailable", exc
                return False

        await eventually(joined, (NODE_TTL_MS + 3 * HEARTBEAT_MS) / 1000 + 3)
        took = time.monotonic() - killed
        assert took <= (NODE_TTL_MS + 3 * HEARTBEAT_MS) / 1000 + 2, took
        assert list(await b.participants()) == [b.participant_id]  # the room is new on B: A's member went with A
        assert "taken over from" in node_b.log()
    finally:
        await a.close()
        await b.close()


async def test_nodes_serve_what_they_host_while_redis_is_down_refuse_what_they_cannot_place_and_recover(
        cluster: Cluster, room):
    """Redis stopped: a room hosted by A goes on (messages, a new member on A), a new local room gets the typed error
    unavailable; Redis restarted empty: A re-asserts its room (a client of B is relayed to A, not given a second
    room) and new rooms are placed again."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    first, second = await GatewayClient.connect(node_a.url), await GatewayClient.connect(node_a.url)
    late, fresh = await GatewayClient.connect(node_a.url), await GatewayClient.connect(node_a.url)
    via_b = await GatewayClient.connect(node_b.url)
    try:
        await first.join(room, user_name="first")
        cluster.redis.stop()
        await second.join(room, user_name="second")  # A hosts the room: no Redis needed
        await second.send_app_message({"redis": "down"})
        await first.wait_for("app-message", lambda d: d["message"] == {"redis": "down"})
        with pytest.raises(Exception) as refused:
            await fresh.join(f"{room}-new", user_name="nowhere")
        assert getattr(refused.value, "code", None) == "unavailable", refused.value

        cluster.redis.restart()

        async def placed_again() -> bool:
            try:
                await late.join(f"{room}-new", user_name="placed")
                return True
            except Exception as exc:  # noqa: BLE001 - unavailable until the node re-registered and settled
                assert getattr(exc, "code", None) == "unavailable", exc
                return False

        await eventually(placed_again, 10)
        await eventually(lambda: room_holder(cluster, room), 5)  # A re-asserted the room it hosts
        joined = await via_b.join(room, user_name="from-b")
        assert {first.participant_id, second.participant_id} <= set(joined["participants"])
    finally:
        for client in (first, second, late, fresh, via_b):
            await client.close()


async def test_sigterm_drains_a_node_its_clients_resume_elsewhere_rejoined_and_it_exits(cluster: Cluster, room):
    """SIGTERM on node A, which hosts a room with a direct client and a client relayed from B: both are closed with
    1012, resume through B, which re-joins the room for them (rejoined, reason drained, a joined event follows,
    one seq sequence), they hear each other's messages again, and A exits 0 within the drain bound."""
    import signal
    import time

    node_a = cluster.start_node("--drain-timeout", "15", name="node-a")
    node_b = cluster.start_node(name="node-b")
    direct = await GatewayClient.connect(node_a.url, auto_resume=True)
    relayed = await GatewayClient.connect(node_b.url, auto_resume=True)
    try:
        await direct.join(room, user_name="direct")
        await relayed.join(room, user_name="relayed")
        assert "relayed to node" in node_b.log()
        direct._url = node_b.url  # the balancer sends reconnections to the nodes that remain
        for client in (direct, relayed):
            client.resume_backoff = (0.2, 0.5)
        started = time.monotonic()
        node_a.process.send_signal(signal.SIGTERM)
        for client in (direct, relayed):
            resumed = await client.wait_resumed(timeout=10)
            assert (resumed["rejoined"], resumed["reason"], resumed["replayed"]) == (True, "drained", 0), resumed
            assert client.drops[0][0] == 1012
            await client.wait_for("joined")
            assert client.seq_gaps == []
        assert node_a.process.wait(15) == 0
        assert time.monotonic() - started < 15
        await direct.send_app_message({"after": "drain"})
        await relayed.wait_for("app-message", lambda d: d["message"] == {"after": "drain"})
        rooms = (await relayed.request("list-rooms"))["rooms"]
        assert [len(r["participants"]) for r in rooms if r["room_url"] == room] == [2]
    finally:
        await direct.close()
        await relayed.close()


async def test_a_session_of_a_node_killed_with_sigkill_resumes_on_another_node_rejoined(cluster: Cluster, room):
    """kill -9 of the node serving a session: its client, resuming through another node, gets unavailable while the
    dead node still counts, then the session re-joined there (rejoined, reason node_lost) with its resume token
    still valid, its seq continuing, and the room again (a joined event)."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    client = await GatewayClient.connect(node_a.url, auto_resume=True)
    try:
        await client.join(room, user_name="survivor")
        await eventually(lambda: session_holder(cluster, client.session_id), 3)  # its lease, with its record
        client._url = node_b.url
        client.resume_backoff = (0.2, 0.4)
        token = client.resume_token
        node_a.process.kill()
        node_a.process.wait(5)
        resumed = await client.wait_resumed(timeout=10)
        assert (resumed["rejoined"], resumed["reason"], resumed["session_id"]) == (True, "node_lost", client.session_id)
        joined = await client.wait_for("joined")
        assert joined.data["participant_id"] and client.resume_token == token
        assert client.seq_gaps == []
    finally:
        await client.close()


async def test_a_hand_over_signed_with_another_secret_or_to_a_single_gateway_is_refused(cluster: Cluster):
    """Only a peer holding the cluster secret may relay a client with a principal: a forged hand-over is closed with
    4001 before any hello, by a cluster node and by a gateway that is not one."""
    import time

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from gateway.cluster.bridge import HANDOVER_HEADER, Handover
    from tests.conftest import start_gateway

    node = cluster.start_node("--cluster-secret", "the-real-cluster-secret-0123", name="node")
    single = start_gateway(name="single")
    forged = Handover("forged-session", "forged-session.x", next_seq=2, principal={"name": "key:admin"},
                      issued_at=time.time()).header(b"not-the-cluster-secret-at-all")
    try:
        for url in (node.url, single.url):
            async with connect(url, additional_headers={HANDOVER_HEADER: forged}, proxy=None) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    finally:
        single.stop()


async def test_a_client_that_opts_in_is_redirected_with_4307_to_the_node_hosting_its_room(cluster: Cluster, room):
    """With ?redirect=1, a join of a room hosted by a node with a public URL is not answered: the connection closes
    with 4307 and `redirect <url>`, and the same join at that URL puts the client in the room."""
    from websockets.exceptions import ConnectionClosed

    from gateway.cluster.redis_server import free_loopback_port

    port = free_loopback_port()
    public = f"ws://127.0.0.1:{port}/v1"
    node_a = cluster.start_node(name="node-a")
    cluster.start_node("--port", str(port), "--cluster-public-url", public, name="node-b")
    host = await GatewayClient.connect(public)
    mover = await GatewayClient.connect(node_a.url + "?redirect=1")
    try:
        await host.join(room, user_name="host")
        with pytest.raises((ConnectionError, ConnectionClosed)):
            await mover.join(room, user_name="mover")
        assert (mover.close_code, mover.close_reason) == (4307, f"redirect {public}")
        moved = await GatewayClient.connect(mover.close_reason.split(" ", 1)[1] + "?redirect=1")
        try:
            joined = await moved.join(room, user_name="mover")
            assert host.participant_id in joined["participants"]
        finally:
            await moved.close()
    finally:
        await host.close()
        await mover.close()


async def test_a_daily_join_goes_to_the_least_loaded_node_and_is_rejoined_elsewhere_when_that_node_dies(
        cluster: Cluster, tmp_path):
    """Daily rooms need no co-location: a Daily join reaching a busy node is placed on the idle one (relayed there);
    when that node is killed with -9, the client resumes through the other, which joins the Daily room again for
    it (rejoined, node_lost) with the join's parameters (daily-python's fake on each node)."""
    from tests.fakes.daily_remote import gateway_env, room_url

    busy = cluster.start_node(name="node-busy", env=gateway_env(tmp_path / "busy.port"))
    idle = cluster.start_node(name="node-idle", env=gateway_env(tmp_path / "idle.port"))
    loungers = [await GatewayClient.connect(busy.url) for _ in range(4)]  # open sessions: the busy node's load
    client = await GatewayClient.connect(busy.url, auto_resume=True)
    try:
        await asyncio.sleep(0.6)  # a heartbeat or two: the busy node's load is in the directory
        url = room_url("cluster")
        joined = await client.join(url, user_name="bot")
        assert joined["room_url"] == url
        assert "relayed to node" in busy.log() and f"joined {url}" in idle.log()
        await eventually(lambda: session_holder(cluster, client.session_id), 3)
        client._url = busy.url
        client.resume_backoff = (0.2, 0.4)
        idle.process.kill()
        idle.process.wait(5)
        resumed = await client.wait_resumed(timeout=10)
        assert (resumed["rejoined"], resumed["reason"]) == (True, "node_lost")
        await client.wait_for("joined")
        assert f"joined {url}" in busy.log()
        assert client.seq_gaps == []
    finally:
        await client.close()
        for lounger in loungers:
            await lounger.close()


async def test_an_observer_on_another_node_watches_a_room_hosted_elsewhere(cluster: Cluster, room):
    """`observe` is placed like a join: an observer reaching node B watches the room node A hosts, with its
    participants in the snapshot and its later events live."""
    node_a, node_b = cluster.start_node(name="node-a"), cluster.start_node(name="node-b")
    member = await GatewayClient.connect(node_a.url)
    observer = await GatewayClient.connect(node_b.url)
    late = await GatewayClient.connect(node_a.url)
    try:
        await member.join(room, user_name="member")
        snapshot = await observer.request("observe", {"room_url": room, "audio": "none"})
        assert member.participant_id in snapshot["participants"]
        await late.join(room, user_name="late")
        await observer.wait_for("participant-joined", lambda d: d["participant"]["id"] == late.participant_id)
        await member.send_app_message({"seen": "by the observer"})
        await observer.wait_for("app-message", lambda d: d["message"] == {"seen": "by the observer"})
    finally:
        for client in (member, observer, late):
            await client.close()
