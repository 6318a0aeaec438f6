"""End to end against a real gateway process: handshake, rooms, audio, messages, VAD, participants."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import numpy as np
import pytest

from protocol import SUBPROTOCOL
from protocol.schema import validate_server_message
from tests.audio import best_correlation, collect_frames, demo_speech, silence


def _validate_log(client) -> None:
    for event in client.event_log:
        validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


async def test_hello_advertises_version_limits_and_capabilities(connect):
    """The first message is a hello with protocol version, limits and capabilities, valid per the schema."""
    client = await connect()
    hello = client.hello
    assert hello.seq == 1
    assert hello.protocol == SUBPROTOCOL and hello.version == 1
    assert client.ws.subprotocol == SUBPROTOCOL
    assert hello.limits["max_message_bytes"] > 0 and hello.limits["max_frame_bytes"] > 0
    assert "join" in hello.capabilities["requests"] and "participant-left" in hello.capabilities["events"]
    assert "local" in hello.capabilities["backends"]
    assert hello.resume_token.startswith(hello.session_id + "."), "every hello carries its resume token"
    validate_server_message(
        {"type": "hello", "seq": 1, "protocol": hello.protocol, "version": hello.version,
         "session_id": hello.session_id, "resume_token": hello.resume_token, "server": hello.server,
         "limits": hello.limits, "capabilities": hello.capabilities, **hello.extra}
    )


async def test_healthz_reports_status(gateway):
    """GET /healthz on the WebSocket port answers 200 with JSON status."""
    with urllib.request.urlopen(gateway.http_url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.read())
    assert body["status"] == "ok" and body["protocol"] == SUBPROTOCOL


async def test_join_emits_call_states_then_joined(connect, room):
    """Joining emits call-state joining, joined, then the joined event with our id; the reply carries the same."""
    client = await connect()
    result = await client.join(room, user_name="alice")
    assert result["participant_id"] and result["room_url"] == room
    assert result["participant"]["info"]["isLocal"] is True
    names = [e.event for e in client.event_log]
    assert names[:3] == ["call-state-updated", "call-state-updated", "joined"]
    assert [e.data["state"] for e in client.event_log[:2]] == ["joining", "joined"]
    assert client.event_log[2].data["participant_id"] == result["participant_id"]
    _validate_log(client)


async def test_participant_events_and_first_participant(connect, room):
    """A sees first-participant-joined then participant-joined for B, with B's name; B sees A in joined."""
    a, b = await connect(), await connect()
    ja = await a.join(room, user_name="alice")
    jb = await b.join(room, user_name="bob")
    assert ja["participant_id"] in jb["participants"]
    first = await a.wait_for("first-participant-joined")
    joined = await a.wait_for("participant-joined")
    assert first.seq < joined.seq
    assert joined.data["participant"]["id"] == jb["participant_id"]
    assert joined.data["participant"]["info"]["userName"] == "bob"
    participants = await a.participants()
    assert set(participants) == {ja["participant_id"], jb["participant_id"]}
    assert participants[ja["participant_id"]]["info"]["isLocal"] is True
    _validate_log(a)


async def test_audio_reaches_other_participant_resampled(connect, room):
    """A publishes speech at 16 kHz; B receives it at 24 kHz as A's track and the content survives (correlation)."""
    a, b = await connect(), await connect()
    ja = await a.join(room, user_name="alice", audio_out={"sample_rate": 16000})
    await b.join(room, user_name="bob", audio_in={"sample_rate": 24000, "frame_ms": 20})
    speech = demo_speech(16000, seconds=2.5)
    await a.send_audio(speech)
    started = await b.wait_for("track-started")
    assert started.data["participant_id"] == ja["participant_id"]
    assert started.data["sample_rate"] == 24000 and started.data["source"] == "microphone"
    frames = await collect_frames(b, 120)
    assert all(len(f.pcm) == 24000 * 2 * 20 // 1000 for f in frames), "frames are not 20 ms at 24 kHz"
    assert {f.participant_id for f in frames} == {ja["participant_id"]}
    received = b"".join(f.pcm for f in frames)
    peak, _ = best_correlation(speech, 16000, received, 24000)
    assert peak > 0.9, f"received audio does not match what was sent (correlation {peak:.3f})"


async def test_paced_playout_takes_real_time(connect, room):
    """Audio sent in one burst is played into the room at real time, not all at once."""
    a, b = await connect(), await connect()
    await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, audio_in={"sample_rate": 16000})
    await a.send_audio(demo_speech(16000, seconds=2.0))
    await b.wait_for("track-started")
    loop = asyncio.get_running_loop()
    first = loop.time()
    frames = await collect_frames(b, 100)  # 2 s of 20 ms frames
    elapsed = loop.time() - first
    assert elapsed > 1.5, f"2 s of audio arrived in {elapsed:.2f} s: not paced"
    seqs = [f.seq for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "frames lost or out of order"


async def test_no_audio_from_silent_participants(connect, room):
    """B receives no track from a participant who publishes nothing."""
    a, b = await connect(), await connect()
    await a.join(room)
    await b.join(room)
    await asyncio.sleep(0.5)
    assert b.tracks == {} and b.drain_audio() == []
    assert not [e for e in b.event_log if e.event == "track-started"]


async def test_vad_fires_on_speech_not_on_silence(connect, room):
    """B gets speech-started then speech-stopped for A's speech, and nothing while A sends silence."""
    a, b = await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, audio_in={"sample_rate": 16000}, vad={"start_ms": 200, "stop_ms": 500})
    await a.send_audio(silence(16000, 1.5))
    await asyncio.sleep(1.8)
    assert not [e for e in b.event_log if e.event.startswith("speech-")], "VAD fired on silence"
    await a.send_audio(demo_speech(16000, seconds=3.0))
    started = await b.wait_for("speech-started", timeout=5)
    stopped = await b.wait_for("speech-stopped", timeout=5)
    assert started.data["participant_id"] == ja["participant_id"] == stopped.data["participant_id"]
    assert started.seq < stopped.seq


async def test_demo_talker_is_heard_in_demo_room(connect):
    """Joining local://demo gives the demo talker's audio and its VAD events."""
    client = await connect()
    joined = await client.join("local://demo", audio_in={"sample_rate": 16000})
    names = [p["info"]["userName"] for p in joined["participants"].values()]
    assert "Demo Talker" in names
    await client.wait_for("track-started", timeout=5)
    await client.wait_for("speech-started", timeout=10)
    pcm = await client.record(1.0)
    level = np.abs(np.frombuffer(pcm, dtype=np.int16)).max()
    assert len(pcm) > 16000 and level > 1000


async def test_app_messages_broadcast_and_targeted(connect, room):
    """A broadcast reaches everyone else with the sender id; a targeted message reaches only its target."""
    a, b, c = await connect(), await connect(), await connect()
    ja = await a.join(room, user_name="a")
    jb = await b.join(room, user_name="b")
    await c.join(room, user_name="c")
    await a.send_app_message({"hello": "all"})
    for client in (b, c):
        msg = await client.wait_for("app-message")
        assert msg.data == {"message": {"hello": "all"}, "sender": ja["participant_id"]}
    await a.send_app_message("just for b", participant_id=jb["participant_id"])
    msg = await b.wait_for("app-message", lambda d: d["message"] == "just for b")
    assert msg.data["sender"] == ja["participant_id"]
    await asyncio.sleep(0.3)
    assert [e.data["message"] for e in c.event_log if e.event == "app-message"] == [{"hello": "all"}]
    assert not [e for e in a.event_log if e.event == "app-message"], "sender got its own broadcast"


async def test_app_message_to_unknown_participant_is_not_found(connect, room):
    """A targeted message to an id not in the room gets not_found."""
    from gateway_client import GatewayError

    a = await connect()
    await a.join(room)
    with pytest.raises(GatewayError) as err:
        await a.send_app_message("x", participant_id="nobody")
    assert err.value.code == "not_found"


async def test_participant_left_on_leave_and_on_disconnect(connect, room):
    """Others get participant-left (reason leftCall) when A leaves, and when B's connection drops."""
    a, b, c = await connect(), await connect(), await connect()
    ja = await a.join(room)
    jb = await b.join(room)
    await c.join(room)
    await a.leave()
    left = await c.wait_for("participant-left", lambda d: d["participant"]["id"] == ja["participant_id"])
    assert left.data["reason"] == "leftCall" and left.data["cause"] == "left"
    assert (await a.wait_for("left")).data["reason"] == "left"
    await b.ws.close()
    left = await c.wait_for("participant-left", lambda d: d["participant"]["id"] == jb["participant_id"])
    assert left.data["reason"] == "leftCall" and left.data["cause"] == "disconnected"
    assert set(await c.participants()) == {c.participant_id}
    _validate_log(c)


async def test_track_stopped_before_participant_left(connect, room):
    """When a publishing participant leaves, the receiver gets track-stopped before participant-left."""
    a, b = await connect(), await connect()
    await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room)
    await a.send_audio(demo_speech(16000, seconds=0.5))
    await b.wait_for("track-started")
    await asyncio.sleep(0.6)
    await a.leave()
    left = await b.wait_for("participant-left")
    stopped = await b.wait_for("track-stopped")
    assert stopped.seq < left.seq


async def test_sequence_numbers_increase_by_one(connect, room):
    """Every text frame from the gateway carries seq, increasing by one from the hello."""
    a, b = await connect(), await connect()
    await a.join(room)
    await b.join(room)
    await a.send_app_message("x")
    await b.wait_for("app-message")
    await b.request("ping")
    seqs = [e.seq for e in b.event_log]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert b.last_seq >= max(seqs)
    # replies take the gaps: hello(1) + events + 2 replies (join, ping)
    assert b.last_seq == 1 + len(b.event_log) + 2


async def test_audio_levels_follow_the_speaker(connect):
    """With levels_interval_ms, audio-levels events report the demo talker's track with a level that moves."""
    client = await connect()
    await client.join("local://demo", levels_interval_ms=100)
    levels = []
    for _ in range(30):
        event = await client.wait_for("audio-levels", timeout=5)
        levels.extend(entry["level"] for entry in event.data["levels"])
    assert max(levels) > 0.05, "the talker's level never rose"
    assert len({round(v, 3) for v in levels}) > 5, "the level does not move"
    assert all(0.0 <= v <= 1.0 for v in levels)
