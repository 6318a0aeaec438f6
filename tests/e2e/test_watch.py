"""Watching a bot end to end (local rooms): observe {session_id}, list-rooms' sessions, who may watch whom.

docs/observe.md, "Watching a bot"; PROTOCOL.md, "observe". The Daily side is tests/e2e/test_daily_observe.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from gateway_client import GatewayClient, GatewayError

from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech
from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.test_auth import KEYS, OPS, signer


async def bot_session(client: GatewayClient) -> str:
    return str((await client.stats())["session_id"])


async def test_a_watcher_receives_what_the_bot_receives(connect, room):
    """observe {session_id}: the bot's view (its participant isLocal), its events and app messages, the others' VAD."""
    bot, talker, watcher = await connect(), await connect(), await connect()
    joined = await bot.join(room, user_name="bot", audio_in={"sample_rate": 16000})
    bot_id = await bot_session(bot)
    snapshot = await watcher.watch_session(bot_id, levels_interval_ms=100)
    assert snapshot["session_id"] == bot_id and snapshot["participant_id"] == joined["participant_id"]
    assert snapshot["room_url"] == room and snapshot["backend"] == "local"
    assert snapshot["participants"][joined["participant_id"]]["info"]["isLocal"] is True
    t = await talker.join(room, user_name="talker", audio_out={"sample_rate": 16000})
    await watcher.wait_for("participant-joined", lambda d: d["participant"]["id"] == t["participant_id"])
    assert set(await talker.participants()) == {joined["participant_id"], t["participant_id"]}, "the watcher is seen"

    await talker.send_app_message({"to": "bot"}, joined["participant_id"])
    message = await watcher.wait_for("app-message", lambda d: d["message"] == {"to": "bot"})
    assert message.data["sender"] == t["participant_id"] and "to" not in message.data  # as the bot got it
    await talker.send_audio(demo_speech(16000, seconds=2.0))
    started = await watcher.wait_for("speech-started", timeout=8)
    assert started.data["participant_id"] == t["participant_id"]
    await watcher.wait_for("audio-levels", lambda d: any(x["level"] > 0.01 for x in d["levels"]), timeout=8)
    assert watcher.drain_audio() == [], "audio=analysis sends no frames"
    assert not [e for e in watcher.event_log if e.event == "first-participant-joined"]
    for event in watcher.event_log:
        validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


async def test_a_message_to_someone_else_is_not_seen_by_the_bots_watcher(connect, room):
    """The watcher sees only what the bot gets: a message targeted at another participant never reaches it."""
    bot, other, talker, watcher = await connect(), await connect(), await connect(), await connect()
    await bot.join(room, user_name="bot")
    o = await other.join(room, user_name="other")
    await talker.join(room, user_name="talker")
    await watcher.watch_session(await bot_session(bot))
    await talker.send_app_message("private", o["participant_id"])
    await talker.send_app_message("everyone")
    await watcher.wait_for("app-message", lambda d: d["message"] == "everyone")
    assert [e.data["message"] for e in watcher.event_log if e.event == "app-message"] == ["everyone"]


@pytest.mark.parametrize("rate", [8000, 48000])
async def test_a_watcher_with_frames_hears_the_room_at_its_own_rate(connect, room, rate):
    """audio=frames: the watcher gets the others' audio in its own format (8 and 48 kHz), the same speech."""
    bot, talker, watcher = await connect(), await connect(), await connect()
    await bot.join(room, user_name="bot", audio_in={"sample_rate": 24000})
    await watcher.watch_session(await bot_session(bot), audio="frames", audio_in={"sample_rate": rate})
    t = await talker.join(room, user_name="talker", audio_out={"sample_rate": 16000})
    speech = demo_speech(16000, seconds=2.0)
    await talker.send_audio(speech)
    started = await watcher.wait_for("track-started", lambda d: d["participant_id"] == t["participant_id"])
    assert started.data["sample_rate"] == rate
    pcm = await watcher.record(3.0, participant_id=t["participant_id"])
    peak, _ = best_correlation(speech, 16000, pcm, rate)
    assert peak > 0.9, f"the watcher did not hear the talker's speech (correlation {peak:.3f})"


async def test_when_the_bot_leaves_its_watcher_gets_left(connect, room):
    """The watched session leaving ends the watch with left (the bot's reason); the watcher's connection lives on."""
    bot, watcher = await connect(), await connect()
    await bot.join(room, user_name="bot")
    await watcher.watch_session(await bot_session(bot))
    await bot.leave()
    assert (await watcher.wait_for("left")).data["reason"] == "left"
    assert (await watcher.stats())["state"] == "left"
    assert (await watcher.request("ping"))["time_ms"] > 0


async def test_the_watcher_leaving_leaves_the_bot_alone(connect, room):
    """A watcher's leave ends its watch (left) while the bot stays in the room and keeps its events."""
    bot, talker, watcher = await connect(), await connect(), await connect()
    await bot.join(room, user_name="bot")
    await watcher.watch_session(await bot_session(bot))
    await watcher.leave()
    assert (await watcher.wait_for("left")).data["reason"] == "left"
    t = await talker.join(room, user_name="talker")
    await bot.wait_for("participant-joined", lambda d: d["participant"]["id"] == t["participant_id"])
    await asyncio.sleep(0.2)
    assert not [e for e in watcher.event_log if e.event == "participant-joined"]


async def test_list_rooms_lists_the_gateways_sessions_and_their_watchers(connect, room):
    """list-rooms gives each room's sessions (id, participant, name, watchers), oldest first; observers count watchers."""
    first, second, watcher, lister = await connect(), await connect(), await connect(), await connect()
    j1 = await first.join(room, user_name="bot-1")
    j2 = await second.join(room, user_name="bot-2")
    await watcher.watch_session(await bot_session(second))
    listed = {r["room_url"]: r for r in await lister.list_rooms()}[room]
    sessions = listed["sessions"]
    assert [s["session_id"] for s in sessions] == [await bot_session(first), await bot_session(second)]
    assert [s["participant_id"] for s in sessions] == [j1["participant_id"], j2["participant_id"]]
    assert [s["user_name"] for s in sessions] == ["bot-1", "bot-2"]
    assert [s["watchers"] for s in sessions] == [0, 1] and listed["observers"] == 1
    assert not any(s["detached"] for s in sessions) and all(s["started_at"] > 0 for s in sessions)
    assert all(not p["info"]["isLocal"] for p in listed["participants"].values())


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_params"),
        ({"room_url": "local://x", "session_id": "y"}, "invalid_params"),
        ({"session_id": "no-such-session"}, "not_found"),
    ],
)
async def test_bad_targets_are_typed_errors_and_the_session_goes_on(connect, params, code):
    """Neither or both targets: invalid_params; an unknown session: not_found; the session may still observe."""
    client = await connect()
    with pytest.raises(GatewayError) as error:
        await client.request("observe", params)
    assert error.value.code == code, error.value.message
    assert (await client.stats())["state"] == "open"
    await client.observe("local://demo")


async def test_a_session_in_no_room_cannot_be_watched(connect):
    """Watching a session that is not in a room is not_joined on an open gateway (nothing to hide there)."""
    idle, watcher = await connect(), await connect()
    with pytest.raises(GatewayError) as error:
        await watcher.watch_session(await bot_session(idle))
    assert error.value.code == "not_joined", error.value.message


# ---------------------------------------------------------------------------------- who may watch whom


@pytest.fixture(scope="module")
def keyed() -> Iterator[GatewayProcess]:
    """A gateway with API keys (tokens signed by them)."""
    gw = start_gateway(name="gateway-watch-auth", env={"GATEWAY_API_KEYS": KEYS})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def test_who_may_watch_whom(keyed, clients):
    """An admin key and a token of the bot's room may watch it; a token of another room gets exactly what an unknown id gets."""
    room, elsewhere = "local://watch-a", "local://watch-b"
    bot = await GatewayClient.connect(keyed.url, token=OPS)
    clients.append(bot)
    await bot.join(room, user_name="bot")
    bot_id = await bot_session(bot)

    async def watcher(token: str) -> GatewayClient:
        client = await GatewayClient.connect(keyed.url, token=token)
        clients.append(client)
        return client

    admin = await watcher(OPS)
    assert (await admin.watch_session(bot_id))["session_id"] == bot_id
    same_room = await watcher(signer().mint(sub="room-a", room=room, role="observer")[0])
    assert (await same_room.watch_session(bot_id))["room_url"] == room
    prefix = await watcher(signer().mint(sub="prefix", room="local://watch-*", role="observer")[0])
    assert (await prefix.watch_session(bot_id))["room_url"] == room

    other_room = await watcher(signer().mint(sub="room-b", room=elsewhere, role="bot")[0])
    with pytest.raises(GatewayError) as hidden:
        await other_room.watch_session(bot_id)
    with pytest.raises(GatewayError) as unknown:
        await other_room.watch_session("00000000-0000-0000-0000-000000000000")
    assert hidden.value.code == unknown.value.code == "not_found"
    assert hidden.value.message == unknown.value.message and hidden.value.details == unknown.value.details
    listed = await other_room.list_rooms()
    assert room not in {r["room_url"] for r in listed}, "a session id leaked through list-rooms"
