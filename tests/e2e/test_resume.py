"""Resume (PROTOCOL.md, "Resume"): a dropped connection continues its session with no event lost, or says why not."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
from gateway_client import GatewayClient, GatewayError

from protocol.schema import validate_server_message
from tests.audio import demo_speech
from tests.conftest import start_gateway


def drop(client: GatewayClient) -> None:
    """Cut the TCP connection with no close frame, as a network failure does."""
    client.ws.transport.abort()


def health(gw) -> dict:
    with urllib.request.urlopen(f"{gw.http_url}/healthz", timeout=5) as response:
        return json.loads(response.read())


def app_numbers(client: GatewayClient) -> list[int]:
    return [e.data["message"]["n"] for e in client.event_log if e.event == "app-message"]


async def wait_numbers(client: GatewayClient, last: int, timeout: float = 10.0) -> None:
    await client.wait_for("app-message", lambda d: d["message"]["n"] == last, timeout=timeout)


@pytest.fixture
def short_gateway():
    """A gateway with a short grace period and a small replay buffer, for the failure cases."""
    gw = start_gateway("--resume-grace-ms", "1500", "--replay-buffer-events", "20", name="gateway-resume")
    yield gw
    gw.stop()
    assert "Traceback" not in gw.log(), gw.log()[-4000:]


async def test_drop_mid_stream_resumes_with_no_event_lost_and_media_going_on(connect, room):
    """A drops while B streams audio and sends events; A resumes, gets every event once in seq order, then audio again."""
    a = await connect(auto_resume=True)
    b = await connect()
    await a.join(room, user_name="a", audio_in={"sample_rate": 16000, "frame_ms": 20})
    jb = await b.join(room, user_name="b", audio_out={"sample_rate": 16000})
    speech = demo_speech(16000, seconds=2.5)
    for _ in range(3):
        await b.send_audio(speech)  # 7.5 s of audio, paced into the room in real time
    await a.wait_for("track-started")
    for n in range(1, 6):
        await b.send_app_message({"n": n})
    await wait_numbers(a, 5)
    drop(a)
    for n in range(6, 26):  # while A is detached (or reconnecting)
        await b.send_app_message({"n": n})
    c = await connect()
    jc = await c.join(room, user_name="c")  # a participant joins while A is away
    result = await a.wait_resumed(timeout=15)
    resumed_at = time.monotonic()
    for n in range(26, 31):
        await b.send_app_message({"n": n})
    await wait_numbers(a, 30)
    assert app_numbers(a) == list(range(1, 31)), "an event was lost or repeated"
    assert a.seq_gaps == [], f"text frames missing: {a.seq_gaps}"
    assert result["session_id"] == a.session_id and result["state"] == "joined"
    # What A missed came as replayed frames (how many depends on when it reconnected; the order and
    # completeness of the whole sequence is checked above).
    assert result["replayed"] >= 1
    await a.wait_for("participant-joined", lambda d: d["participant"]["id"] == jc["participant_id"])
    # The room never saw A leave, and A's audio goes on.
    assert not [e for e in b.event_log if e.event == "participant-left"]
    deadline = time.monotonic() + 10
    while not [f for f in a.drain_audio() if f.received_at > resumed_at and f.participant_id == jb["participant_id"]]:
        assert time.monotonic() < deadline, "no audio after the resume"
        await asyncio.sleep(0.05)
    stats = await a.stats()
    assert stats["resumes"] == 1 and stats["session_id"] == a.session_id
    for event in a.event_log:
        validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


async def test_grace_over_fails_with_unknown_session_and_the_room_sees_the_participant_leave(short_gateway, room):
    """Past resume_grace_ms the session leaves the room (participant-left), and resume gets resume_failed."""
    a = await GatewayClient.connect(short_gateway.url)
    b = await GatewayClient.connect(short_gateway.url)
    try:
        ja = await a.join(room)
        await b.join(room)
        token, last_seq = a.resume_token, a.last_seq
        drop(a)
        deadline = time.monotonic() + 5
        while health(short_gateway)["detached"] != 1:  # within the grace period A's session waits, detached
            assert time.monotonic() < deadline, health(short_gateway)
            await asyncio.sleep(0.02)
        left = await b.wait_for("participant-left", lambda d: d["participant"]["id"] == ja["participant_id"])
        assert left.data["cause"] == "disconnected"
        deadline = time.monotonic() + 5
        while health(short_gateway)["sessions"] != 1:  # only B's: A's session is gone, not just out of the room
            assert health(short_gateway)["detached"] in (0, 1)
            assert time.monotonic() < deadline, health(short_gateway)
            await asyncio.sleep(0.05)
        r = await GatewayClient.connect(short_gateway.url)
        with pytest.raises(GatewayError) as failed:
            await r.request("resume", {"resume_token": token, "last_seq": last_seq})
        assert failed.value.code == "resume_failed" and failed.value.details["reason"] == "unknown_session"
        # The connection goes on as a fresh session: it can join.
        assert (await r.join(room))["participant_id"]
        await r.close()
    finally:
        await a.close()
        await b.close()


async def test_a_bad_token_is_refused_without_touching_the_session(connect, room):
    """A token with the right session id but a wrong secret, or a malformed one, gets resume_failed; A is unaffected."""
    a = await connect()
    await a.join(room)
    assert a.resume_token and "." in a.resume_token
    session_id = a.resume_token.split(".", 1)[0]
    for token in (f"{session_id}.{'x' * 43}", "nonsense", a.session_id):
        r = await connect()
        with pytest.raises(GatewayError) as failed:
            await r.request("resume", {"resume_token": token, "last_seq": 1})
        assert failed.value.code == "resume_failed" and failed.value.details["reason"] == "unknown_session"
    assert (await a.request("ping"))["time_ms"] > 0
    assert a.drops == []


async def test_replay_buffer_exceeded_fails_with_replay_gap(short_gateway, room):
    """More events than replay_buffer_events while detached: resume_failed replay_gap, and the auto-resuming client says so."""
    a = await GatewayClient.connect(short_gateway.url)
    b = await GatewayClient.connect(short_gateway.url)
    try:
        await a.join(room)
        await b.join(room)
        token, last_seq = a.resume_token, a.last_seq
        drop(a)
        for n in range(40):
            await b.send_app_message({"n": n})
        r = await GatewayClient.connect(short_gateway.url)
        with pytest.raises(GatewayError) as failed:
            await r.request("resume", {"resume_token": token, "last_seq": last_seq})
        assert failed.value.code == "resume_failed" and failed.value.details["reason"] == "replay_gap"
        assert failed.value.details["first_seq"] > last_seq + 1
        await r.close()
    finally:
        await a.close()
        await b.close()


async def test_auto_resume_past_the_buffer_leaves_a_fresh_session(short_gateway, room):
    """An auto-resuming client that missed too much gets resume_error replay_gap and a usable fresh session."""
    a = await GatewayClient.connect(short_gateway.url, auto_resume=True)
    b = await GatewayClient.connect(short_gateway.url)
    try:
        await a.join(room)
        await b.join(room)
        old_session = a.session_id
        a.resume_backoff = (0.5, 0.5)  # the first retry comes after 250-500 ms: time to overflow the buffer
        drop(a)
        for n in range(40):
            await b.send_app_message({"n": n})
        with pytest.raises(GatewayError) as failed:
            await a.wait_resumed(timeout=10)
        assert failed.value.code == "resume_failed" and failed.value.details["reason"] == "replay_gap"
        assert a.session_id != old_session and a.participant_id is None
        assert (await a.join(room))["participant_id"]
    finally:
        await a.close()
        await b.close()


async def test_resuming_an_attached_session_replaces_its_connection(connect, room):
    """A second connection resuming a connected session takes it over; the first is closed with 4011."""
    a = await connect()
    b = await connect()
    await a.join(room)
    await b.join(room)
    await b.send_app_message({"n": 1})
    await wait_numbers(a, 1)
    r = await connect()
    result = await r.request("resume", {"resume_token": a.resume_token, "last_seq": a.last_seq})
    assert result["session_id"] == a.session_id and result["replayed"] == 0
    deadline = time.monotonic() + 10
    while not a.closed:
        assert time.monotonic() < deadline, "the replaced connection stayed open"
        await asyncio.sleep(0.02)
    assert a.close_code == 4011
    await b.send_app_message({"n": 2})
    await wait_numbers(r, 2)
    assert (await r.stats())["session_id"] == a.session_id
    assert not [e for e in b.event_log if e.event == "participant-left"]


async def test_resume_only_on_a_fresh_connection(connect, room):
    """resume from a connection that already joined is wrong_state; its own session is untouched."""
    a, b = await connect(), await connect()
    await a.join(room)
    await b.join(room)
    with pytest.raises(GatewayError) as failed:
        await b.request("resume", {"resume_token": a.resume_token, "last_seq": a.last_seq})
    assert failed.value.code == "wrong_state"
    assert (await b.stats())["state"] == "joined"


async def test_a_normal_close_leaves_at_once(connect, room):
    """Closing with 1000 (the client meant it) is no drop: the room sees the participant leave at once."""
    a, b = await connect(auto_resume=True), await connect()
    ja = await a.join(room)
    await b.join(room)
    await a.close()
    await b.wait_for("participant-left", lambda d: d["participant"]["id"] == ja["participant_id"], timeout=5)
    assert a.resumes == []


async def test_a_resume_must_come_from_the_same_principal(room):
    """With API keys on, resuming another key's session is resume_failed principal; the right key resumes it."""
    ops, ci = "0123456789abcdef-ops-secret", "fedcba9876543210-ci-secret"
    gw = start_gateway(name="gateway-resume-auth", env={"GATEWAY_API_KEYS": f"ops:{ops},ci:{ci}"})
    try:
        a = await GatewayClient.connect(gw.url, api_key=ops)
        await a.join(room)
        token, last_seq = a.resume_token, a.last_seq
        drop(a)
        thief = await GatewayClient.connect(gw.url, api_key=ci)
        with pytest.raises(GatewayError) as failed:
            await thief.request("resume", {"resume_token": token, "last_seq": last_seq})
        assert failed.value.code == "resume_failed" and failed.value.details["reason"] == "principal"
        owner = await GatewayClient.connect(gw.url, api_key=ops)
        result = await owner.request("resume", {"resume_token": token, "last_seq": last_seq})
        assert result["state"] == "joined"
        await thief.close()
        await owner.close()
        await a.close()
    finally:
        gw.stop()
        assert "Traceback" not in gw.log(), gw.log()[-4000:]


async def test_published_audio_keeps_playing_while_detached(connect, room):
    """Audio A published before dropping keeps playing into the room while A is detached (B hears it after the drop)."""
    a = await connect()
    b = await connect()
    ja = await a.join(room, user_name="a", audio_out={"sample_rate": 16000})
    await b.join(room, user_name="b", audio_in={"sample_rate": 16000, "frame_ms": 20})
    await a.send_audio(demo_speech(16000, seconds=2.5))
    await b.wait_for("track-started", lambda d: d["participant_id"] == ja["participant_id"])
    drop(a)
    dropped_at = time.monotonic()
    await asyncio.sleep(1.0)
    after = [f for f in b.drain_audio() if f.participant_id == ja["participant_id"] and f.received_at > dropped_at + 0.5]
    assert len(after) >= 10, f"only {len(after)} frames of A's audio after the drop"
    assert not [e for e in b.event_log if e.event == "participant-left"]


async def test_a_request_made_while_resuming_waits_for_the_new_connection(connect, room):
    """With auto_resume, a request sent just after a drop is sent on the resumed connection and answered."""
    a = await connect(auto_resume=True)
    await a.join(room)
    a.resume_backoff = (0.5, 0.5)  # the first retry comes 250-500 ms after the drop
    drop(a)
    for _ in range(100):  # bounded: the client notices the drop within a few loop turns
        if a.drops:
            break
        await asyncio.sleep(0.005)
    assert a.drops and not a.resumes, "the drop was not seen before the retry"
    stats = await a.request("get-stats", timeout=15)
    assert stats["resumes"] == 1 and stats["state"] == "joined"


async def test_an_observer_resumes_too(connect, room):
    """An observing session that drops is resumed like a joined one: the room events it missed are replayed."""
    o = await connect(auto_resume=True)
    await o.request("observe", {"room_url": room})
    drop(o)
    b = await connect()
    jb = await b.join(room)
    result = await o.wait_resumed(timeout=15)
    assert result["state"] == "observing"
    await o.wait_for("participant-joined", lambda d: d["participant"]["id"] == jb["participant_id"])
    assert o.seq_gaps == []
