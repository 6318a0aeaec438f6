"""Memory under hostile clients, through a real gateway process: receive budgets, skipped oversize frames, admission.

The hostile review: twelve connections each sending an incomplete 30 MiB binary frame (under the old
4 x max_frame_bytes close threshold) took the gateway from 80 MB to 575 MB. PROTOCOL.md 15.3.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from gateway_client import GatewayClient

from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.hostile_tools import (
    MIB,
    audio_gaps,
    frame,
    frame_head,
    read_close,
    read_frame,
    rss_bytes,
    send_quietly,
    upgraded,
)

ATTACKERS = 12
KEY = "0123456789abcdef-memory-key"


@pytest.fixture
async def demo_gateway() -> AsyncIterator[GatewayProcess]:
    """A gateway with default limits and the demo talker (the victim listens to it)."""
    gw = start_gateway("--demo", name="gateway-hostile-memory")
    yield gw
    abort_attackers()
    assert gw.stop() == 0
    assert "Traceback" not in gw.log(), gw.log()[-3000:]


async def victim(url: str) -> GatewayClient:
    """A client in local://demo receiving the demo talker's audio (20 ms frames)."""
    client = await GatewayClient.connect(url)
    await client.join("local://demo", audio_in={"sample_rate": 16000, "channels": 1, "frame_ms": 20})
    await client.wait_for("track-started", timeout=10)
    await asyncio.sleep(0.5)
    client.drain_audio()
    return client


OPEN_SOCKETS: list[asyncio.StreamWriter] = []
"""Attackers' connections, aborted at the end of each test (a peer that never closes delays a gateway's exit)."""


def abort_attackers() -> None:
    for writer in OPEN_SOCKETS:
        writer.transport.abort()
    OPEN_SOCKETS.clear()


async def partial_frame_attack(url: str, announced: int, sent: int) -> tuple[int | None, int]:
    """Open a connection, announce a binary frame of ``announced`` bytes, send ``sent`` of them and hold: (close code, bytes sent)."""
    reader, writer = await upgraded(url)
    OPEN_SOCKETS.append(writer)
    closed = asyncio.ensure_future(read_close(reader, timeout=60))
    written = await send_quietly(writer, frame_head(2, announced) + bytes(sent), until=closed)  # stop once refused
    try:
        code, _ = await asyncio.wait_for(asyncio.shield(closed), 0.5)
    except TimeoutError:
        closed.cancel()
        code = None
    return code, written


def assert_continuous(client: GatewayClient, seconds: float) -> None:
    """The victim kept hearing every 20 ms frame: no seq gap, no drop, no silence longer than a generous 2.5 s (a busy machine)."""
    frames = client.drain_audio()
    assert len(frames) >= seconds * 50 * 0.6, f"only {len(frames)} frames in {seconds:.1f} s"
    gaps, longest = audio_gaps(frames)
    assert gaps == [], f"audio frames lost: {gaps[:5]}"
    assert longest < 2.5, f"audio stalled {longest:.2f} s"
    assert not [e for e in client.event_log if e.event in ("media-dropped", "error")]


async def test_partial_30_mib_frames_do_not_grow_memory_and_the_victim_hears_on(demo_gateway):
    """Twelve connections each holding an incomplete 30 MiB frame leave RSS within 64 MiB of before; the victim's audio is continuous."""
    listener = await victim(demo_gateway.url)
    before, _ = rss_bytes(demo_gateway.process.pid)
    started = time.monotonic()
    results = await asyncio.gather(*[partial_frame_attack(demo_gateway.url, 30 * MIB, 30 * MIB - 1024)
                                     for _ in range(ATTACKERS)])
    await asyncio.sleep(1.0)
    _, peak = rss_bytes(demo_gateway.process.pid)
    assert peak - before < 64 * MIB, f"RSS grew by {(peak - before) / MIB:.0f} MiB under {ATTACKERS} partial frames"
    assert all(code == 1009 for code, _ in results), results  # over 4 x max_frame_bytes: refused at its header
    assert_continuous(listener, time.monotonic() - started)
    await listener.close()


async def test_oversize_frames_are_skipped_not_buffered(demo_gateway):
    """Frames between max_frame_bytes and 4x are answered too_large without being held: memory stays flat, sessions go on."""
    listener = await victim(demo_gateway.url)
    limit = listener.limits["max_frame_bytes"]
    before, _ = rss_bytes(demo_gateway.process.pid)
    started = time.monotonic()
    attackers = [await upgraded(demo_gateway.url) for _ in range(6)]
    OPEN_SOCKETS.extend(writer for _, writer in attackers)
    for _, writer in attackers:  # announce a frame just under the 1009 cap, send half of it, hold
        await send_quietly(writer, frame_head(2, 4 * limit - 1024) + bytes(2 * limit))
    await asyncio.sleep(1.0)
    _, peak = rss_bytes(demo_gateway.process.pid)
    assert peak - before < 48 * MIB, f"RSS grew by {(peak - before) / MIB:.0f} MiB: oversize frames were buffered"
    assert_continuous(listener, time.monotonic() - started)
    for reader, writer in attackers:
        await send_quietly(writer, bytes(2 * limit - 1024))  # the rest: now the frame is complete
        opcode, payload = await asyncio.wait_for(read_frame(reader), 10)
        assert opcode == 1 and b'"too_large"' in payload, payload[:200]
        writer.transport.abort()
    await listener.close()


async def test_a_frame_just_over_the_limit_is_too_large_and_the_session_goes_on(demo_gateway):
    """A binary frame one byte over max_frame_bytes, sent in pieces, gets too_large and the next request its reply."""
    client = await GatewayClient.connect(demo_gateway.url)
    limit = client.limits["max_frame_bytes"]
    transport = client.ws.transport
    data = frame(2, bytes(limit + 1))
    for i in range(0, len(data), 300_000):
        transport.write(data[i : i + 300_000])
        await asyncio.sleep(0)
    error = await client.next_protocol_error(timeout=10)
    assert error.code == "too_large" and str(limit) in error.message
    assert (await client.request("ping"))["time_ms"] > 0
    await client.close()


async def test_gateway_wide_budget_closes_1013_and_keeps_rss_bounded(clients):
    """With a 16 MiB gateway-wide budget, held partial frames past it close with 1013, RSS stays bounded, the victim hears on."""
    gw = start_gateway("--demo", "--max-receive-buffer-bytes-total", str(16 * MIB), name="gateway-budget")
    try:
        listener = await victim(gw.url)
        clients.append(listener)
        limit = listener.limits["max_frame_bytes"]
        before, _ = rss_bytes(gw.process.pid)
        started = time.monotonic()
        results = await asyncio.gather(*[partial_frame_attack(gw.url, limit - 64, limit - 1024) for _ in range(ATTACKERS)])
        await asyncio.sleep(0.5)
        _, peak = rss_bytes(gw.process.pid)
        codes = [code for code, _ in results]
        held = codes.count(None)
        assert codes.count(1013) >= ATTACKERS - 4 and held <= 4, codes
        assert peak - before < (16 + 32) * MIB, f"RSS grew by {(peak - before) / MIB:.0f} MiB"
        assert_continuous(listener, time.monotonic() - started)
        assert "receive budget" in gw.log()
    finally:
        abort_attackers()
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0
        assert "Traceback" not in gw.log(), gw.log()[-3000:]


async def test_the_budget_is_given_back_when_a_holder_goes(clients):
    """Once connections holding the whole budget close, a legitimate large frame from another client is read again."""
    gw = start_gateway("--max-receive-buffer-bytes-total", str(8 * MIB), name="gateway-budget-release")
    try:
        probe = await GatewayClient.connect(gw.url)
        clients.append(probe)
        limit = probe.limits["max_frame_bytes"]
        hogs = [await upgraded(gw.url) for _ in range(2)]
        OPEN_SOCKETS.extend(writer for _, writer in hogs)
        for _, writer in hogs:
            await send_quietly(writer, frame_head(2, limit - 64) + bytes(limit - 1024))
        await asyncio.sleep(0.3)
        for _, writer in hogs:
            writer.transport.abort()
        await asyncio.sleep(0.3)
        publisher = await GatewayClient.connect(gw.url)
        clients.append(publisher)
        await publisher.send_raw(bytes(limit - 64))  # not a valid media frame: answered, so it was read whole
        error = await publisher.next_protocol_error(timeout=10)
        assert error.code in ("bad_frame", "unknown_kind", "bad_payload")
    finally:
        abort_attackers()
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0


async def test_a_fragmented_message_past_the_connection_budget_closes_1009(clients):
    """Fragments held past the per-connection budget (2 x max_frame_bytes by default) close the connection with 1009."""
    gw = start_gateway(name="gateway-fragments")
    try:
        probe = await GatewayClient.connect(gw.url)
        clients.append(probe)
        limit = probe.limits["max_frame_bytes"]
        reader, writer = await upgraded(gw.url)
        OPEN_SOCKETS.append(writer)
        fragment = bytes(MIB)
        data = frame(2, fragment, fin=False) + b"".join(frame(0, fragment, fin=False) for _ in range(2 * limit // MIB + 1))
        await send_quietly(writer, data)
        code, reason = await read_close(reader)
        assert code == 1009, (code, reason)
        assert (await probe.request("ping"))["time_ms"] > 0
    finally:
        abort_attackers()
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0
        assert "Traceback" not in gw.log(), gw.log()[-3000:]


async def test_nothing_is_read_before_admission(clients):
    """On a keyed gateway an unauthenticated client that streams a big frame right after the upgrade is closed 4001 at once, unread."""
    gw = start_gateway(name="gateway-admission", env={"GATEWAY_API_KEYS": f"k:{KEY}"})
    try:
        before, _ = rss_bytes(gw.process.pid)

        async def intruder() -> tuple[int | None, float]:
            reader, writer = await upgraded(gw.url, hello=False)
            started = time.monotonic()
            sending = asyncio.ensure_future(send_quietly(writer, frame_head(2, 15 * MIB) + bytes(15 * MIB - 1024)))
            code, _ = await read_close(reader)
            eof = await asyncio.wait_for(reader.read(), 5) == b""  # the gateway closed TCP without waiting for us
            elapsed = time.monotonic() - started
            sending.cancel()
            writer.transport.abort()
            assert eof
            return code, elapsed

        results = await asyncio.gather(*[intruder() for _ in range(8)])
        _, peak = rss_bytes(gw.process.pid)
        assert all(code == 4001 for code, _ in results), results
        assert max(elapsed for _, elapsed in results) < 3.0, results  # not the 10 s close_timeout of a read-on close
        assert peak - before < 40 * MIB, f"RSS grew by {(peak - before) / MIB:.0f} MiB before admission"
    finally:
        abort_attackers()
        assert gw.stop() == 0
        assert "Traceback" not in gw.log(), gw.log()[-3000:]
