"""Gateway processes as cluster nodes (real processes, a real redis-server): any node serves any client."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from gateway_client import GatewayClient

from tests.cluster.nodes import Cluster, eventually


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
