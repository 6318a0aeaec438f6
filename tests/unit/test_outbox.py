"""The outbox: sequence numbers, text before media, bounded queues, the replay buffer, detach and attach."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.session.outbox import Outbox
from gateway.session.replay import ReplayBuffer, ended_on_purpose, new_token, token_matches, token_session_id
from protocol.errors import InvalidParams


class RecordingSocket:
    """Stands in for the gateway's connection: records what is written; a closed gate is a full transport buffer."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    @property
    def writable(self) -> bool:
        return self.gate.is_set()

    def write_message(self, data: bytes, *, text: bool) -> bool:
        self.sent.append(("text" if text else "binary", data))
        return True

    async def wait_writable(self) -> None:
        await self.gate.wait()


async def test_sequence_numbers_start_at_one_and_increase():
    """Each text frame gets seq = previous + 1, in queue order, across kinds."""
    ws = RecordingSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.hello(protocol="p", version=1, session_id="s", resume_token="t", server={}, limits={}, capabilities={})
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
    await asyncio.sleep(0)  # the writer now waits for the buffer to drain
    box.media(b"frame-2")
    box.event("track-started", {"track": 16})
    assert ws.sent == []
    ws.gate.set()
    await box.close()
    kinds = [kind for kind, _ in ws.sent]
    assert kinds == ["text", "binary", "binary"]


async def test_frames_are_written_at_once_while_the_connection_takes_data():
    """With nothing queued and a writable connection, each frame is written by the producer itself, in order."""
    ws = RecordingSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.media(b"f1")
    box.event("track-started", {"track": 16})
    box.media(b"f2")
    assert [data if kind == "binary" else orjson.loads(data)["event"] for kind, data in ws.sent] == [
        b"f1", "track-started", b"f2",
    ]
    assert box.media_queued == 0 and box.text_queued == 0 and box.media_sent == 2 and box.text_sent == 1
    await box.close()


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


async def test_text_past_max_pending_calls_on_overflow_once_and_nothing_is_dropped():
    """A client that does not read: past max_pending queued text frames on_overflow fires once; the frames stay for replay."""
    ws = RecordingSocket()
    ws.gate.clear()
    calls: list[int] = []
    box = Outbox(ws, max_pending=10, on_overflow=lambda: calls.append(box.text_queued))  # type: ignore[arg-type]
    box.start()
    await asyncio.sleep(0)
    for i in range(30):
        box.event("app-message", {"i": i})
    assert calls == [11]
    assert orjson.loads(box.replay.since(29)[0])["data"] == {"i": 29}
    box.detach()
    assert box.text_queued == 0 and len(box.replay) == 30


async def test_detached_outbox_keeps_text_drops_media_and_attach_replays_after_last_seq():
    """Detached: events go to the replay buffer only, media is counted as dropped; attach writes first, then seq > last_seq, then live."""
    first = RecordingSocket()
    box = Outbox(first)  # type: ignore[arg-type]
    box.start()
    for i in range(5):
        box.event("e", {"i": i})
    await asyncio.sleep(0.01)
    box.detach()
    box.event("e", {"i": 5})
    box.media(b"lost")
    assert box.media_dropped == 1 and box.text_queued == 0
    second = RecordingSocket()
    assert box.can_replay(3) and not box.can_replay(7)
    replayed = box.attach(second, 3, first=b'{"type":"reply","seq":2,"id":"r","ok":true,"result":{}}')  # type: ignore[arg-type]
    assert replayed == 3
    box.event("e", {"i": 6})
    await box.close()
    decoded = [orjson.loads(data) for _, data in second.sent]
    assert [m["seq"] for m in decoded] == [2, 4, 5, 6, 7, 8]
    assert decoded[-2]["event"] == "media-dropped" and decoded[-2]["data"] == {"dropped": 1, "total": 1, "reason": "detached"}
    assert decoded[-1]["data"] == {"i": 6}


def test_replay_buffer_bounds_evict_oldest_and_say_what_they_cover():
    """The replay buffer keeps the newest frames within both bounds; covers() fails once a needed frame was evicted."""
    buf = ReplayBuffer(max_events=3, max_bytes=1000)
    for seq in range(1, 6):
        buf.append(seq, b"x" * 10)
    assert buf.first_seq == 3 and len(buf) == 3 and buf.evicted == 2
    assert buf.covers(2, 5) and not buf.covers(1, 5) and buf.covers(5, 5)
    assert buf.since(3) == [b"x" * 10, b"x" * 10]
    by_bytes = ReplayBuffer(max_events=100, max_bytes=25)
    for seq in range(1, 4):
        by_bytes.append(seq, b"y" * 10)
    assert by_bytes.first_seq == 2 and by_bytes.size_bytes == 20
    by_bytes.append(4, b"z" * 100)  # one frame over the byte bound is still kept: the newest always is
    assert by_bytes.first_seq == 4 and len(by_bytes) == 1


def test_resume_tokens_name_their_session_and_compare_whole():
    """A token carries its session id; a token with the same id and another secret does not match."""
    token = new_token("abc")
    assert token_session_id(token) == "abc" and token_session_id("garbage") == ""
    assert token_matches(token, token) and not token_matches("abc." + "A" * 43, token)
    assert token != new_token("abc")


def test_a_close_is_meant_or_a_drop():
    """1000/1001 from the client and any gateway close but 4010 end the session; no close frame or 4010 is a drop."""
    from types import SimpleNamespace

    from websockets.frames import Close

    def conn(sent: int | None, received: int | None, received_first: bool | None) -> Any:
        protocol = SimpleNamespace(
            close_sent=Close(sent, "") if sent else None,
            close_rcvd=Close(received, "") if received else None,
            close_rcvd_then_sent=received_first,
        )
        return SimpleNamespace(protocol=protocol)

    assert ended_on_purpose(conn(1000, 1000, True)) and ended_on_purpose(conn(1001, 1001, True))
    assert not ended_on_purpose(conn(4000, 4000, True))  # a client's own code: not "I am done"
    assert not ended_on_purpose(conn(None, None, None))  # no close frame at all (1006)
    assert ended_on_purpose(conn(1001, 1001, False)) and ended_on_purpose(conn(4009, None, None))  # the gateway closed
    assert not ended_on_purpose(conn(4010, 4010, False)) and not ended_on_purpose(conn(4010, None, None))
