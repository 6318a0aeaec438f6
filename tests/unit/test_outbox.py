"""The outbox: sequence numbers, text before media, bounded media dropping oldest first."""

from __future__ import annotations

import asyncio

import orjson

from gateway.outbox import Outbox
from protocol.errors import InvalidParams


class RecordingSocket:
    """Stands in for a websockets connection: records what is sent, can be held to simulate a slow client."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, data: bytes, text: bool = False) -> None:
        await self.gate.wait()
        self.sent.append(("text" if text else "binary", data))


async def test_sequence_numbers_start_at_one_and_increase():
    """Each text frame gets seq = previous + 1, in queue order, across kinds."""
    ws = RecordingSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.hello(protocol="p", version=1, session_id="s", server={}, limits={}, capabilities={})
    box.event("joined", {"x": 1})
    box.result("r1", {"ok": 1})
    box.failure("r2", InvalidParams("bad"))
    box.error(InvalidParams("worse"))
    await box.close()
    decoded = [orjson.loads(data) for kind, data in ws.sent]
    assert [m["seq"] for m in decoded] == [1, 2, 3, 4, 5]
    assert [m["type"] for m in decoded] == ["hello", "event", "reply", "reply", "error"]
    assert decoded[3]["error"]["code"] == "invalid_params" and decoded[3]["id"] == "r2"


async def test_text_is_written_before_queued_media():
    """A text frame queued after media is still written first (track-started precedes its frames)."""
    ws = RecordingSocket()
    ws.gate.clear()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.media(b"frame-1")
    await asyncio.sleep(0)  # the writer is now blocked sending frame-1
    box.media(b"frame-2")
    box.event("track-started", {"track": 16})
    ws.gate.set()
    await box.close()
    kinds = [kind for kind, _ in ws.sent]
    assert kinds == ["binary", "text", "binary"]


async def test_slow_client_drops_oldest_media_and_counts():
    """Past media_limit queued frames, the oldest are dropped and counted; text is never dropped."""
    ws = RecordingSocket()
    ws.gate.clear()
    box = Outbox(ws, media_limit=5)  # type: ignore[arg-type]
    box.start()
    await asyncio.sleep(0)
    for i in range(20):
        box.media(f"f{i}".encode())
        box.event("speech-started", {"i": i})
    assert box.media_dropped == 15 and box.media_queued == 5
    ws.gate.set()
    await box.close()
    frames = [data for kind, data in ws.sent if kind == "binary"]
    assert frames == [b"f15", b"f16", b"f17", b"f18", b"f19"]
    events = [orjson.loads(data)["event"] for kind, data in ws.sent if kind == "text"]
    assert events.count("speech-started") == 20
    assert events.count("media-dropped") == 1  # rate-limited: one per second while dropping


async def test_nothing_is_queued_after_close():
    """After close, producers are no-ops (a late room event cannot resurrect the writer)."""
    ws = RecordingSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    await box.close()
    box.event("late", {})
    box.media(b"late")
    await asyncio.sleep(0.01)
    assert ws.sent == []


async def test_event_after_media_waits_for_earlier_frames_and_keeps_seq_order():
    """track-stopped (event_after_media) goes after the frames queued before it; later text waits behind it."""
    ws = RecordingSocket()
    ws.gate.clear()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    await asyncio.sleep(0)
    box.media(b"f1")
    box.media(b"f2")
    box.event_after_media("track-stopped", {"track": 16})
    box.media(b"f3")
    box.event("participant-left", {})
    ws.gate.set()
    await box.close()
    order = [data if kind == "binary" else orjson.loads(data)["event"] for kind, data in ws.sent]
    assert order == [b"f1", b"f2", "track-stopped", "participant-left", b"f3"]
