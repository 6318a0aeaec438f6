"""End to end: list-rooms and observe (read-only room observers) against a real gateway process."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets

from protocol import SUBPROTOCOL
from protocol.schema import validate_server_message
from tests.audio import demo_speech


def _validate_log(client) -> None:
    for event in client.event_log:
        validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


async def test_list_rooms_shows_rooms_and_participants(connect, room):
    """list-rooms needs no room of its own and lists each live room with its participants by id."""
    a, lister = await connect(), await connect()
    ja = await a.join(room, user_name="alice")
    rooms = (await lister.request("list-rooms"))["rooms"]
    by_url = {r["room_url"]: r for r in rooms}
    assert room in by_url and "local://demo" in by_url
    assert by_url[room]["backend"] == "local"
    assert by_url[room]["participants"][ja["participant_id"]]["info"]["userName"] == "alice"
    assert (await lister.request("list-rooms", {"backend": "local"}))["rooms"]
    await a.leave()
    await asyncio.sleep(0.1)
    rooms = (await lister.request("list-rooms"))["rooms"]
    assert room not in {r["room_url"] for r in rooms}, "an empty room is still listed"


async def test_observer_sees_events_levels_and_vad_but_is_invisible(connect, room):
    """An observer gets participant events, app messages, VAD and levels; participants never see it."""
    observer, a, b = await connect(), await connect(), await connect()
    snapshot = await observer.request("observe", {"room_url": room, "levels_interval_ms": 100})
    assert snapshot["room_url"] == room and snapshot["participants"] == {}
    ja = await a.join(room, user_name="alice", audio_out={"sample_rate": 16000})
    jb = await b.join(room, user_name="bob")
    assert set(jb["participants"]) == {ja["participant_id"]}, "the observer shows up as a participant"
    joined = await observer.wait_for("participant-joined", lambda d: d["participant"]["id"] == ja["participant_id"])
    assert joined.data["participant"]["info"]["userName"] == "alice"
    await a.send_app_message({"hi": "all"})
    await a.send_app_message("psst", participant_id=jb["participant_id"])
    msg = await observer.wait_for("app-message", lambda d: d["message"] == {"hi": "all"})
    assert msg.data["sender"] == ja["participant_id"] and "to" not in msg.data
    private = await observer.wait_for("app-message", lambda d: d["message"] == "psst")
    assert private.data["to"] == jb["participant_id"]
    await a.send_audio(demo_speech(16000, seconds=3.0))
    started = await observer.wait_for("speech-started", timeout=8)
    assert started.data["participant_id"] == ja["participant_id"]
    levels = await observer.wait_for("audio-levels", lambda d: any(x["level"] > 0.01 for x in d["levels"]), timeout=8)
    assert levels.data["levels"][0]["participant_id"] == ja["participant_id"]
    assert observer.drain_audio() == [], "audio=analysis must not send media frames"
    assert not [e for e in observer.event_log if e.event == "first-participant-joined"]
    await a.leave()
    await observer.wait_for("participant-left", lambda d: d["participant"]["id"] == ja["participant_id"])
    assert set(await b.participants()) == {jb["participant_id"]}
    _validate_log(observer)


async def test_observer_with_frames_receives_audio(connect, room):
    """audio=frames sends each participant's audio as binary frames in the requested format."""
    observer, a = await connect(), await connect()
    await observer.request("observe", {"room_url": room, "audio": "frames", "audio_in": {"sample_rate": 8000}})
    await a.join(room, audio_out={"sample_rate": 16000})
    await a.send_audio(demo_speech(16000, seconds=1.0))
    started = await observer.wait_for("track-started")
    assert started.data["sample_rate"] == 8000
    pcm = await observer.record(1.0)
    assert len(pcm) > 8000


async def test_observer_is_read_only_and_cannot_join(connect, room):
    """An observer's send-app-message is not_allowed, join is wrong_state; a joined session cannot observe."""
    from gateway_client import GatewayError

    observer, a = await connect(), await connect()
    await observer.request("observe", {"room_url": room})
    with pytest.raises(GatewayError) as err:
        await observer.send_app_message("x")
    assert err.value.code == "not_allowed"
    with pytest.raises(GatewayError) as err:
        await observer.join(room)
    assert err.value.code == "wrong_state"
    await a.join(room)
    with pytest.raises(GatewayError) as err:
        await a.request("observe", {"room_url": room})
    assert err.value.code == "already_joined"


async def test_observer_keeps_room_listed_and_leave_ends_it(connect, room):
    """An observed empty room stays listed with its observer count; leave ends observing with a left event."""
    observer, lister = await connect(), await connect()
    await observer.request("observe", {"room_url": room})
    listed = {r["room_url"]: r for r in (await lister.request("list-rooms"))["rooms"]}
    assert listed[room]["observers"] == 1 and listed[room]["participants"] == {}
    await observer.leave()
    assert (await observer.wait_for("left")).data["reason"] == "left"
    listed = {r["room_url"] for r in (await lister.request("list-rooms"))["rooms"]}
    assert room not in listed


async def test_observer_leave_order(gateway, connect, room):
    """An observer's leave: speech-stopped (if speaking) and track-stopped per track, left, then the reply; no call-state-updated, nothing after."""
    talker = await connect()
    await talker.join(room, user_name="talker", audio_out={"sample_rate": 16000})
    async with websockets.connect(gateway.url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        seen: list[dict] = [orjson.loads(await ws.recv())]

        async def until(match) -> dict:
            while True:
                message = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                seen.append(message)
                if match(message):
                    return message

        await ws.send(orjson.dumps({"type": "observe", "id": "o", "room_url": room, "levels_interval_ms": 100}), text=True)
        await until(lambda m: m.get("id") == "o")
        await talker.send_audio(demo_speech(16000, seconds=2.0))
        started = await until(lambda m: m.get("event") == "track-started")
        await until(lambda m: m.get("event") == "speech-started")
        before = len(seen)
        await ws.send(orjson.dumps({"type": "leave", "id": "l"}), text=True)
        reply = await until(lambda m: m.get("id") == "l")
        assert reply["ok"] is True
        with pytest.raises(asyncio.TimeoutError):
            seen.append(orjson.loads(await asyncio.wait_for(ws.recv(), 0.5)))
    after = [m.get("event", m["type"]) for m in seen[before:]]
    assert "call-state-updated" not in after, after
    assert after[-2:] == ["left", "reply"], after
    assert seen[-2]["data"] == {"reason": "left"}
    track = started["data"]["track"]
    speech = [m["event"] for m in seen[:before] if m.get("event") in ("speech-started", "speech-stopped")]
    speaking = speech[-1] == "speech-started"  # almost always: the talk lasts 2 s
    closing = [m for m in seen[before:] if m.get("event") in ("speech-stopped", "track-stopped")]
    expected = [("speech-stopped", track)] * speaking + [("track-stopped", track)]
    assert [(m["event"], m["data"]["track"]) for m in closing] == expected, after
    assert after.index("track-stopped") == len(after) - 3, "something came between track-stopped and left"
    if speaking:
        assert "offset_ms" not in closing[0]["data"], "a speech-stopped cut short by the track's end has no offset_ms"
    for message in seen:
        validate_server_message(message)


async def test_observe_bad_room_url(connect):
    """observe of a URL no backend serves is bad_room_url or unknown_backend, and the session lives on."""
    from gateway_client import GatewayError

    client = await connect()
    with pytest.raises(GatewayError) as err:
        await client.request("observe", {"room_url": "local://../etc"})
    assert err.value.code == "bad_room_url"
    with pytest.raises(GatewayError) as err:
        await client.request("observe", {"room_url": "nope://x"})
    assert err.value.code == "unknown_backend"
    assert (await client.request("ping"))["time_ms"] > 0


async def test_observer_roles_second_observe_media_and_audio_none(connect, room):
    """A second observe is wrong_state, media from an observer is not_joined, audio=none sends no tracks."""
    from gateway_client import GatewayError
    from protocol.media import encode_audio

    observer, a = await connect(), await connect()
    await observer.request("observe", {"room_url": room, "audio": "none"})
    with pytest.raises(GatewayError) as err:
        await observer.request("observe", {"room_url": room})
    assert err.value.code == "wrong_state"
    await observer.send_raw(encode_audio(1, 1, 0, 16000, 1, bytes(640)))
    assert (await observer.next_protocol_error()).code == "not_joined"
    assert (await observer.stats())["state"] == "observing"
    await a.join(room, audio_out={"sample_rate": 16000})
    await a.send_audio(demo_speech(16000, seconds=1.0))
    await observer.wait_for("participant-joined")
    await asyncio.sleep(1.2)
    names = {e.event for e in observer.event_log}
    assert not names & {"track-started", "speech-started", "audio-levels"}, names
    await observer.leave()
    with pytest.raises(GatewayError) as err:
        await observer.request("observe", {"room_url": room})
    assert err.value.code == "wrong_state"
