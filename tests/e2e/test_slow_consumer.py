"""Slow consumers (PROTOCOL.md, "Slow clients"): bounded outgoing paths, 4010 at the bound, nobody else delayed."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pytest
from gateway_client import GatewayClient

from tests.conftest import start_gateway

MAX_PENDING = 50
PAD = "x" * 3000
"""Padding of each app message, so that the stalled client's socket buffers fill in a few hundred messages."""


@pytest.fixture(scope="module")
def slow_gateway():
    """A gateway with a small text bound and no request rate limit, so one sender can outrun a stalled reader."""
    gw = start_gateway(
        "--max-pending-events", str(MAX_PENDING),
        "--max-requests-per-second", "100000",
        "--replay-buffer-events", "100000",
        "--replay-buffer-bytes", "500000000",
        "--media-queue-ms", "100",
        name="gateway-slow",
    )
    yield gw
    gw.stop()
    assert "Traceback" not in gw.log(), gw.log()[-4000:]


def stall(client: GatewayClient) -> None:
    """Stop reading the socket, as a client stuck in its own code would."""
    client.ws.transport.pause_reading()


def unstall(client: GatewayClient) -> None:
    client.ws.transport.resume_reading()


async def connect_small_buffer(url: str) -> GatewayClient:
    """A client whose socket receive buffer is small (set before connecting), so a stall fills it in a moment."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return await GatewayClient.connect(url, sock=sock)


def app_numbers(client: GatewayClient) -> list[int]:
    return [e.data["message"]["n"] for e in client.event_log if e.event == "app-message"]


async def test_stalled_reader_is_cut_off_at_the_bound_and_others_are_not_delayed(slow_gateway, room):
    """A stops reading: it is closed with 4010 once max_pending_events frames wait; C gets every event in order meanwhile; A resumes losing nothing."""
    a = await GatewayClient.connect(slow_gateway.url, auto_resume=True)
    c = await GatewayClient.connect(slow_gateway.url)
    sender = await GatewayClient.connect(slow_gateway.url)
    try:
        for client, name in ((a, "a"), (c, "c"), (sender, "sender")):
            await client.join(room, user_name=name)
        await sender.send_app_message({"n": 0, "pad": PAD})
        await a.wait_for("app-message")
        stall(a)
        sent = 1
        while "slow consumer" not in slow_gateway.log():
            assert sent < 20_000, "the stalled client was never cut off"
            await asyncio.gather(*(sender.send_app_message({"n": sent + k, "pad": PAD}) for k in range(50)))
            sent += 50
            # While A is stalled, C keeps up: everything sent so far reaches it, in order, no gaps.
            await c.wait_for("app-message", lambda d, last=sent - 1: d["message"]["n"] == last, timeout=10)
        for k in range(20):  # events after the cut go to A's replay buffer
            await sender.send_app_message({"n": sent + k, "pad": PAD})
        sent += 20
        await c.wait_for("app-message", lambda d: d["message"]["n"] == sent - 1, timeout=10)
        assert app_numbers(c) == list(range(sent)) and c.seq_gaps == [] and c.drops == []
        unstall(a)
        await a.wait_resumed(timeout=20)
        code, reason = a.drops[0]
        assert code == 4010, a.drops
        assert reason.startswith(f"{MAX_PENDING + 1} messages unread"), reason
        await a.wait_for("app-message", lambda d: d["message"]["n"] == sent - 1, timeout=20)
        assert app_numbers(a) == list(range(sent)), "the resumed client lost or repeated events"
        assert a.seq_gaps == []
        assert not [e for e in c.event_log if e.event == "participant-left"], "A left the room"
    finally:
        for client in (a, c, sender):
            await client.close()


async def test_media_is_dropped_oldest_first_with_an_event_and_counters(slow_gateway, room):
    """A client that reads media too slowly gets media-dropped (reason slow) and get-stats media_dropped; seq shows the gap."""
    a = await connect_small_buffer(slow_gateway.url)
    b = await GatewayClient.connect(slow_gateway.url)
    try:
        await a.join(room, user_name="a", audio_in={"sample_rate": 48000, "channels": 2, "frame_ms": 20})
        jb = await b.join(room, user_name="b", audio_out={"sample_rate": 48000, "channels": 2})
        tone = (np.sin(np.arange(48000 * 8) * 2 * np.pi * 440 / 48000) * 8000).astype("<i2")
        await b.send_audio(np.repeat(tone, 2).tobytes())  # 8 s, paced in real time
        await a.wait_for("track-started")
        # B's camera, captured by A at 30 fps, fills A's socket buffers within a second of the stall.
        frame = bytes(range(256)) * (320 * 240 * 3 // 256)
        await b.send_video(frame, 320, 240, "RGB")
        await a.request("capture-participant-video", {"participant_id": jb["participant_id"], "framerate": 30, "color_format": "RGB"})
        await asyncio.sleep(0.3)
        stall(a)
        for _ in range(100):  # 3 s
            await b.send_video(frame, 320, 240, "RGB")
            await asyncio.sleep(0.03)
        unstall(a)
        dropped = await a.wait_for("media-dropped", timeout=10)
        assert dropped.data["reason"] == "slow" and dropped.data["dropped"] >= 1
        assert dropped.data["total"] >= dropped.data["dropped"]
        stats = await a.stats()
        assert stats["media_dropped"] >= dropped.data["total"]
        a.drain_video()
        seqs = [f.seq for f in a.drain_audio()]
        assert any(later - earlier > 1 for earlier, later in zip(seqs, seqs[1:], strict=False)), "no gap in the track seq"
        assert a.drops == [], "dropping media must not close the connection"
    finally:
        await a.close()
        await b.close()
