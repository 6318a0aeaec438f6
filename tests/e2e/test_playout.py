"""End to end: published audio paced into a local room, clear-audio, mark-audio, watermarks, idle/started.

The receiver (B) joins at the publisher's rate, so the room hands it A's frames
untouched and content can be compared sample for sample.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

import numpy as np
import pytest
from gateway_client import GatewayError

from protocol.constants import OutboundTrack
from protocol.media import encode_audio
from protocol.schema import validate_server_message
from tests.audio import demo_speech

RATE = 16000
FRAME_BYTES = RATE * 2 * 20 // 1000
OUT = {"sample_rate": RATE}
IN = {"sample_rate": RATE, "frame_ms": 20}


def speech(seconds: float) -> bytes:
    """``seconds`` of the demo speech at 16 kHz, looped if needed."""
    one = demo_speech(RATE)
    reps = int(np.ceil(seconds * RATE * 2 / len(one)))
    return (one * reps)[: int(seconds * RATE) * 2]


def _validate(client) -> None:
    for e in client.event_log:
        validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def _pair(connect, room, **out: object):
    a, b = await connect(), await connect()
    ja = await a.join(room, user_name="bot", audio_out={**OUT, **out}, vad={"enabled": False})
    await b.join(room, user_name="human", audio_in=IN, vad={"enabled": False})
    return a, b, ja["participant_id"]


async def _send_raw_request(client, rtype: str, rid: str, **params: object) -> None:
    """Send a request without waiting for its reply (so binary frames can follow it at once)."""
    await client.send_raw(json.dumps({"type": rtype, "id": rid, **params}))


async def _send_frame(client, seq: int, pcm: bytes) -> None:
    await client.send_raw(encode_audio(OutboundTrack.MICROPHONE, seq, 0, RATE, 1, pcm))


def _from(frames, pid: str):
    return [f for f in frames if f.participant_id == pid]


async def test_burst_of_10s_plays_over_10s_in_order_without_gaps(connect, room):
    """10 s of speech sent in one burst reaches B over ~10 s of wall time, frame after frame, sample for sample."""
    a, b, pid = await _pair(connect, room)
    sent = speech(10.0)
    t_send = time.monotonic()
    await a.send_audio(sent, chunk_ms=250)
    burst_s = time.monotonic() - t_send
    await a.request("mark-audio", {"name": "end"})
    mark = await a.wait_for("playout-mark", timeout=20)
    await a.wait_for("playout-idle", timeout=5)
    await asyncio.sleep(0.2)
    frames = _from(b.drain_audio(), pid)
    n = len(sent) // FRAME_BYTES
    assert burst_s < 2.0, f"sending the burst took {burst_s:.2f} s: the gateway blocked the sender"
    assert len(frames) >= n
    seqs = [f.seq for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "frames lost or out of order"
    received = b"".join(f.pcm for f in frames)
    assert received[: len(sent)] == sent, "the played content differs from what was sent"
    assert not any(received[len(sent):]), "something other than silence followed the speech"
    span = frames[n - 1].received_at - frames[0].received_at
    assert 9.0 < span < 12.0, f"10 s of audio reached B over {span:.2f} s"
    gaps = np.diff([f.received_at for f in frames[:n]])
    assert gaps.max() < 0.5, f"B waited {gaps.max():.2f} s between two frames"
    assert mark.data["status"] == "played" and mark.data["played_samples"] == len(sent) // 2
    started = await a.wait_for("playout-started")
    assert started.seq < mark.seq
    _validate(a)


async def test_clear_mid_playout_stops_audio_and_cleared_mark_reports_what_b_got(connect, room):
    """clear-audio mid-utterance: B gets nothing more of it, and the cleared mark's played_samples is exactly what B got."""
    a, b, pid = await _pair(connect, room)
    sent = speech(5.0)
    await a.send_audio(sent, chunk_ms=100)
    await a.request("mark-audio", {"name": "answer-1"})
    await a.wait_for("playout-started")
    await asyncio.sleep(1.5)
    result = await a.request("clear-audio")
    t_clear = time.monotonic()
    mark = await a.wait_for("playout-mark")
    idle = await a.wait_for("playout-idle")
    await asyncio.sleep(0.5)
    frames = _from(b.drain_audio(), pid)
    received = b"".join(f.pcm for f in frames)
    assert result["cleared_marks"] == ["answer-1"]
    assert mark.data["name"] == "answer-1" and mark.data["status"] == "cleared"
    assert mark.data["played_samples"] * 2 == len(received), "played_ms disagrees with what B received"
    assert received == sent[: len(received)], "B got something other than the start of the utterance"
    assert result["dropped_samples"] + mark.data["played_samples"] == len(sent) // 2
    assert 1.0 < mark.data["played_ms"] / 1000 < 3.5
    assert idle.data["reason"] == "cleared" and idle.data["played_samples"] == mark.data["played_samples"]
    late = [f for f in frames if f.received_at > t_clear + 0.3]
    assert not late, f"{len(late)} frames reached B more than 300 ms after the clear was answered"
    _validate(a)


async def test_mark_between_binary_frames_sits_between_their_audio(connect, room):
    """A mark sent between two binary frames, with no wait, covers exactly the first frame's audio."""
    a = await connect()
    await a.join(room, audio_out=OUT)
    first, second = speech(0.3), speech(0.5)[: 2 * 4000]
    await _send_frame(a, 1, first)
    await _send_raw_request(a, "mark-audio", "m1", name="between")
    await _send_frame(a, 2, second)
    await _send_raw_request(a, "clear-audio", "c1")
    await _send_frame(a, 3, first)
    await _send_raw_request(a, "mark-audio", "m2", name="after-clear")
    between = await a.wait_for("playout-mark", lambda d: d["name"] == "between")
    after = await a.wait_for("playout-mark", lambda d: d["name"] == "after-clear", timeout=5)
    assert between.data["audio_samples"] == len(first) // 2
    assert after.data["status"] == "played", "the clear dropped audio sent after it"
    assert after.data["audio_samples"] == len(first) // 2


async def test_marks_at_exact_boundaries_many_marks_and_marks_with_nothing_buffered(connect, room):
    """A mark with nothing queued is played at once; 60 marks after frame-exact and odd chunks fire in order with exact segments."""
    a = await connect()
    await a.join(room, audio_out=OUT)  # alone: nobody subscribes, the playout must not block
    await a.request("mark-audio", {"name": "nothing"})
    first = await a.wait_for("playout-mark", timeout=2)
    assert first.data == {"name": "nothing", "status": "played", "played_ms": 0, "audio_ms": 0,
                          "played_samples": 0, "audio_samples": 0}
    sizes = [320 if i % 3 else 137 + i for i in range(60)]  # (60: under max_requests_per_second)  # exact 20 ms frames and odd sample counts
    pcm = speech(sum(sizes) / RATE + 0.1)
    pos = 0
    t0 = time.monotonic()
    for i, size in enumerate(sizes):
        await _send_frame(a, i + 1, pcm[2 * pos: 2 * (pos + size)])
        await _send_raw_request(a, "mark-audio", f"r{i}", name=f"m{i}")
        pos += size
    marks = [await a.wait_for("playout-mark", lambda d, i=i: d["name"] == f"m{i}", timeout=15) for i in range(60)]
    elapsed = time.monotonic() - t0
    assert [m.data["audio_samples"] for m in marks] == sizes
    assert all(m.data["status"] == "played" for m in marks)
    assert [m.seq for m in marks] == sorted(m.seq for m in marks), "marks out of order"
    assert elapsed > 0.8 * pos / RATE, "marks fired before their audio could have played"


async def test_watermarks_and_buffer_full(connect, room):
    """high fires at its threshold, past max_buffer_ms each frame gets buffer_full (session lives on), low fires on the way down."""
    a = await connect()
    await a.join(room, audio_out={**OUT, "max_buffer_ms": 2000, "high_watermark_ms": 1500, "low_watermark_ms": 500})
    await a.send_audio(speech(1.2), chunk_ms=100)
    snap = await a.request("get-audio-buffer")
    assert snap["max_buffer_ms"] == 2000 and 900 < snap["buffered_ms"] <= 1200 and not snap["above_high_watermark"]
    assert not [e for e in a.event_log if e.event == "playout-buffer-high"]
    await a.send_audio(speech(0.6), chunk_ms=100)
    high = await a.wait_for("playout-buffer-high", timeout=2)
    assert high.data["high_watermark_ms"] == 1500 and 1500 <= high.data["buffered_ms"] < 1700
    # Far past the maximum: 60 frames of 100 ms, more than max_consecutive_errors.
    for seq in range(1000, 1060):
        await _send_frame(a, seq, speech(0.1))
    deadline = time.monotonic() + 5
    while len(a.protocol_errors) < 55 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    errors = a.protocol_errors
    assert 55 <= len(errors) <= 60, f"{len(errors)} of 60 frames refused"
    assert {e.code for e in errors} == {"buffer_full"}
    assert errors[0].details["track"] == 1 and errors[0].details["max_buffer_ms"] == 2000
    assert (await a.request("ping"))["time_ms"] > 0, "the session did not survive buffer_full"
    snap = await a.request("get-audio-buffer")
    assert snap["buffered_ms"] <= 2000 and snap["above_high_watermark"]
    low = await a.wait_for("playout-buffer-low", timeout=5)
    assert low.data == {"buffered_ms": pytest.approx(500, abs=20), "low_watermark_ms": 500}
    _validate(a)


async def test_idle_and_started_bracket_each_utterance_without_flapping(connect, room):
    """Audio streamed at real time with jitter gives one started and one idle (drained, with its ms); a later utterance another pair."""
    a = await connect()
    await a.join(room, audio_out={**OUT, "idle_grace_ms": 300})
    pcm = speech(2.0)
    step = 2 * 640  # 40 ms chunks sent at real time with +-15 ms jitter
    rng = random.Random(7)
    t0 = time.monotonic()
    for k, pos in enumerate(range(0, len(pcm), step)):
        await _send_frame(a, k + 1, pcm[pos:pos + step])
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.04 + rng.uniform(-0.015, 0.015) - time.monotonic()))
    idle = await a.wait_for("playout-idle", timeout=5)
    assert [e.event for e in a.event_log if e.event.startswith("playout-")] == ["playout-started", "playout-idle"]
    assert idle.data["reason"] == "drained"
    assert idle.data["played_samples"] == len(pcm) // 2
    await a.send_audio(speech(0.3))
    await a.wait_for("playout-started", timeout=2)
    again = await a.wait_for("playout-idle", timeout=3)
    assert again.data["played_samples"] == int(0.3 * RATE)


async def test_drift_10s_in_irregular_chunks_plays_in_10s(connect, room):
    """10 s sent in irregular chunks at irregular times plays out at B in 10 s (first to last frame), within generous bounds."""
    a, b, pid = await _pair(connect, room)
    pcm = speech(10.0)
    rng = random.Random(11)
    pos, seq, lead = 0, 0, 1.0
    t0 = time.monotonic()
    while pos < len(pcm):
        size = 2 * rng.randint(80, 8000)  # 5 ms .. 500 ms, any sample count
        seq += 1
        await _send_frame(a, seq, pcm[pos:pos + size])
        pos += size
        # Keep ahead of real time by about `lead`, at irregular moments.
        ahead = pos / (2 * RATE) - (time.monotonic() - t0)
        if ahead > lead:
            await asyncio.sleep(rng.uniform(0, ahead - lead + 0.2))
    await a.wait_for("playout-idle", timeout=15)
    await asyncio.sleep(0.2)
    frames = _from(b.drain_audio(), pid)
    n = len(pcm) // FRAME_BYTES
    assert b"".join(f.pcm for f in frames)[: len(pcm)] == pcm
    span = frames[n - 1].received_at - frames[0].received_at
    # Only a stall of this machine beyond the catch-up bound may delay the end (counted in late_frames).
    late = (await a.request("get-audio-buffer"))["late_frames"]
    expected = (n - 1) * 0.02 + late * 0.02
    assert abs(span - expected) < 0.1, f"{n} frames spanned {span:.3f} s at B, expected {expected:.3f} s"


async def test_join_rejects_inconsistent_playout_options(connect, room):
    """low >= high, high above max_buffer_ms, or max_buffer_ms above the gateway limit give invalid_params at join."""
    a = await connect()
    limit = a.limits["max_playout_buffer_ms"]
    for audio_out, field in (
        ({"high_watermark_ms": 1000, "low_watermark_ms": 1000}, "audio_out.low_watermark_ms"),
        ({"max_buffer_ms": 1000, "high_watermark_ms": 2000}, "audio_out.high_watermark_ms"),
        ({"max_buffer_ms": limit + 1}, "audio_out.max_buffer_ms"),
    ):
        with pytest.raises(GatewayError) as err:
            await a.join(room, audio_out=audio_out)
        assert err.value.code == "invalid_params" and err.value.details["field"] == field
    await a.join(room, audio_out={"max_buffer_ms": 1000})  # watermark defaults shrink to fit


async def test_playout_requests_need_a_room_and_audio_out(connect, room):
    """clear-audio before join is not_joined; with audio_out disabled it is wrong_state."""
    a = await connect()
    with pytest.raises(GatewayError) as err:
        await a.request("clear-audio")
    assert err.value.code == "not_joined"
    await a.join(room, audio_out={"enabled": False})
    with pytest.raises(GatewayError) as err:
        await a.request("mark-audio", {"name": "x"})
    assert err.value.code == "wrong_state"


async def test_leave_reports_pending_marks_cleared(connect, room):
    """Leaving with audio queued reports its mark cleared and playout-idle (stopped) before left."""
    a = await connect()
    await a.join(room, audio_out=OUT)
    await a.send_audio(speech(3.0))
    await a.request("mark-audio", {"name": "bye"})
    await asyncio.sleep(0.3)
    await a.leave()
    mark = await a.wait_for("playout-mark")
    idle = await a.wait_for("playout-idle")
    left = await a.wait_for("left")
    assert mark.data["status"] == "cleared" and 0 < mark.data["played_ms"] < 1500
    assert idle.data["reason"] == "stopped" and mark.seq < idle.seq < left.seq
