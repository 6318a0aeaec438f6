"""InboundTrack with an input filter: audio goes through it in order, a backlog is bounded, a closed track sends nothing."""

from __future__ import annotations

import asyncio

import pytest

from gateway.backends.base import AudioFormat
from gateway.media.filters import FilterSpec
from gateway.session.tracks import FILTER_BACKLOG_MS, InboundTrack
from protocol.media import decode_frame

pytest.importorskip("noisereduce")

RATE = 16000


def track(sent: list[bytes]) -> InboundTrack:
    return InboundTrack(16, "p-1", "microphone", AudioFormat(RATE), 20, sent.append, audio_filter=FilterSpec())


async def settle(t: InboundTrack, timeout: float = 10.0) -> None:
    """Wait until the filter has nothing in flight."""
    async with asyncio.timeout(timeout):
        while t._filter_busy:
            await asyncio.sleep(0.01)


async def test_filtered_frames_come_out_whole_and_in_order(demo):
    """3 s of speech in 20 ms chunks give 20 ms frames with consecutive seq: all of it but the delay (and any drop)."""
    sent: list[bytes] = []
    t = track(sent)
    for i in range(0, 2 * RATE * 3, 640):
        t.push(demo.pcm[i : i + 640], RATE, 1)
        await asyncio.sleep(0)
    await settle(t)
    frames = [decode_frame(f) for f in sent]
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
    assert all(len(f.payload) == 640 for f in frames)
    assert 3000 - t.filter_latency_ms - 120 <= len(frames) * 20 + t.filter_dropped_ms <= 3000
    assert t.stats()["filter_latency_ms"] == 132.0


async def test_backlog_beyond_the_limit_is_dropped_and_counted():
    """Audio pushed far faster than the filter runs is capped at FILTER_BACKLOG_MS, the excess counted."""
    sent: list[bytes] = []
    t = track(sent)
    for _ in range(300):  # 6 s at once, while the first call is in flight
        t.push(bytes(640), RATE, 1)
    assert t.filter_dropped_ms >= 6000 - FILTER_BACKLOG_MS - 20 - 1
    await settle(t)
    await asyncio.sleep(0.05)
    await settle(t)
    assert len(sent) * 20 <= FILTER_BACKLOG_MS + 20


async def test_a_closed_track_sends_no_late_filter_result():
    """A result that comes back after close() is dropped: no frame follows track-stopped."""
    sent: list[bytes] = []
    t = track(sent)
    for _ in range(20):
        t.push(bytes(640), RATE, 1)
    assert t._filter_busy
    t.close()
    await settle(t)
    assert sent == []
