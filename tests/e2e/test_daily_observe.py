"""Daily rooms in list-rooms and observe, end to end: the gateway process runs its Daily backend on the fake SDK.

A Daily room exists for the gateway only through its sessions' CallClients: list-rooms lists the
rooms they are in (with everyone in them and the sessions), and observe {room_url} on one watches it
through one of those sessions, as observe {session_id} does (docs/observe.md).
"""

from __future__ import annotations

import pytest
from gateway_client import GatewayError

from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech, silence
from tests.fakes.daily_remote import daily_fixtures, room_url

daily_gateway, daily = daily_fixtures()

RATE = 16000


async def test_list_rooms_lists_daily_rooms_with_participants_and_sessions(daily):
    """A Daily room the gateway's session is in is listed with the bot and the remote participant (none isLocal) and the session."""
    bot = await daily.connect()
    _, fake = await daily.join(bot, user_name="daily-bot")
    alice = str((await fake.add_participant(user_name="alice"))["id"])
    await bot.wait_for("participant-joined", lambda d: d["participant"]["id"] == alice)
    lister = await daily.connect()
    rooms = {r["room_url"]: r for r in await lister.list_rooms(backend="daily")}
    room = rooms[fake.info["room_url"]]
    assert room["backend"] == "daily"
    assert set(room["participants"]) == {fake.local_id, alice}
    assert room["participants"][alice]["info"]["userName"] == "alice"
    assert not any(p["info"]["isLocal"] for p in room["participants"].values())
    bot_id = (await bot.stats())["session_id"]
    assert [(s["session_id"], s["participant_id"], s["user_name"]) for s in room["sessions"]] == [
        (bot_id, fake.local_id, "daily-bot")
    ]
    assert fake.info["room_url"] in {r["room_url"] for r in await lister.list_rooms()}  # unfiltered too


async def test_observing_a_daily_room_watches_it_through_the_bot(daily):
    """observe {room_url} on a Daily room: the snapshot names the bot's session; the remote participant's speech,
    app messages and leaving reach the observer; nobody in the room sees it (no new CallClient)."""
    bot, fake, alice = await daily.join_with("alice", audio_in={"sample_rate": RATE})
    url = fake.info["room_url"]
    clients_before = len(await daily.remote.clients())
    observer = await daily.connect()
    snapshot = await observer.observe(url, levels_interval_ms=100)
    assert snapshot["backend"] == "daily" and snapshot["room_url"] == url
    assert snapshot["session_id"] == (await bot.stats())["session_id"] and snapshot["participant_id"] == fake.local_id
    assert set(snapshot["participants"]) == {fake.local_id, alice}
    assert len(await daily.remote.clients()) == clients_before, "observing made a CallClient"

    await fake.wait_for_renderer(alice)
    push = await fake.push_audio(alice, demo_speech(RATE, seconds=2.0) + silence(RATE, 1.0), RATE)
    track = await observer.wait_for("track-started", lambda d: d["participant_id"] == alice, timeout=10)
    assert track.data["source"] == "microphone"
    await observer.wait_for("speech-started", lambda d: d["track"] == track.data["track"], timeout=10)
    await observer.wait_for("audio-levels", lambda d: any(x["level"] > 0.01 for x in d["levels"]), timeout=10)
    await daily.remote.wait_push(push)
    await fake.emit("on_app_message", {"hello": "bot"}, alice)
    message = await observer.wait_for("app-message", lambda d: d["message"] == {"hello": "bot"})
    assert message.data["sender"] == alice
    await fake.remove_participant(alice)
    await observer.wait_for("participant-left", lambda d: d["participant"]["id"] == alice)
    assert observer.drain_audio() == []
    for event in observer.event_log:
        validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


@pytest.mark.parametrize("rate", [8000, 48000])
async def test_watching_a_daily_bot_with_frames(daily, rate):
    """observe {session_id} of a Daily bot with audio=frames: the remote participant's speech at the watcher's rate."""
    bot, fake, alice = await daily.join_with("alice", audio_in={"sample_rate": 24000})
    watcher = await daily.connect()
    await watcher.watch_session((await bot.stats())["session_id"], audio="frames", audio_in={"sample_rate": rate})
    await fake.wait_for_renderer(alice)
    speech = demo_speech(RATE, seconds=2.0)
    push = await fake.push_audio(alice, speech + silence(RATE, 0.5), RATE)
    pcm = await watcher.record(3.0, participant_id=alice)
    await daily.remote.wait_push(push)
    started = await watcher.wait_for("track-started", lambda d: d["participant_id"] == alice)
    assert started.data["sample_rate"] == rate
    peak, _ = best_correlation(speech, RATE, pcm, rate)
    assert peak > 0.9, f"the watcher did not hear alice (correlation {peak:.3f})"


async def test_a_daily_room_without_a_session_is_a_clear_not_found(daily):
    """observe of a Daily room no session of this gateway is in: not_found naming why, and the session may still observe."""
    observer = await daily.connect()
    with pytest.raises(GatewayError) as error:
        await observer.observe(room_url("nobody"))
    assert error.value.code == "not_found" and error.value.details == {"field": "room_url"}
    assert "no session in" in error.value.message and "join it first" in error.value.message
    assert (await observer.stats())["state"] == "open"
    await observer.observe("local://demo")


async def test_the_bot_leaving_ends_the_daily_observation(daily):
    """When the session an observer watches a Daily room through leaves, the observer gets left; the room is no longer listed."""
    bot, fake, _ = await daily.join_with("alice")
    url = fake.info["room_url"]
    observer = await daily.connect()
    await observer.observe(url)
    await bot.leave()
    assert (await observer.wait_for("left")).data["reason"] == "left"
    await fake.wait_released()
    assert url not in {r["room_url"] for r in await observer.list_rooms()}
