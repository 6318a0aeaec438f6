"""End to end: the session history (PROTOCOL.md 5.13) kept in SQLite by a real gateway: listed, opened, exported, guarded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_client import GatewayClient, GatewayError

from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.test_auth import KEYS, OPS, signer
from tests.e2e.test_turns import BOT_SAYS, SPEECH_RATE, USER_SAYS


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("history") / "history.sqlite3"


@pytest.fixture(scope="module")
def keyed(history_db: Path) -> Iterator[GatewayProcess]:
    """A gateway with API keys and its history in a file of its own."""
    gw = start_gateway("--history-db", str(history_db), "--history-network-interval-s", "0.5", name="gateway-history",
                       env={"GATEWAY_API_KEYS": KEYS})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def connect(gw: GatewayProcess, clients: list, token: str = OPS) -> GatewayClient:
    client = await GatewayClient.connect(gw.url, token=token)
    clients.append(client)
    return client


@pytest.mark.slow
async def test_a_session_that_ended_is_listed_opened_and_exported(keyed, clients, tmp_path):
    """A bot's session with a turn, network samples and a failed request ends; list-history lists it with its turns, get-history opens it in order, the export is JSON."""
    room = "local://history-a"
    bot, user, watcher = await connect(keyed, clients), await connect(keyed, clients), await connect(keyed, clients)
    await watcher.observe(room)
    joined = await bot.join(room, user_name="bot", audio_in={"sample_rate": 8000}, audio_out={"sample_rate": SPEECH_RATE})
    bot_id = str((await bot.stats())["session_id"])
    await user.join(room, user_name="user", audio_out={"sample_rate": SPEECH_RATE})
    await user.send_audio(USER_SAYS)
    await bot.wait_for("speech-stopped", timeout=10)
    other = await connect(keyed, clients)
    await other.join(room, user_name="other", audio_out={"sample_rate": SPEECH_RATE})
    await other.send_audio(BOT_SAYS)
    turn = (await bot.wait_for("turn", timeout=10)).data
    with pytest.raises(GatewayError):
        await bot.request("stop-recording")  # not_allowed: kept as request-failed
    running = (await watcher.list_history(room))["sessions"]
    assert {s["session_id"]: s["ended_at"] for s in running}[bot_id] is None, "a running session is listed, not ended"
    await bot.leave()

    listed = await watcher.list_history(room)
    mine = next(s for s in listed["sessions"] if s["session_id"] == bot_id)
    assert (mine["role"], mine["participant_id"], mine["user_name"], mine["end_cause"]) == (
        "participant", joined["participant_id"], "bot", "left")
    assert mine["principal"] == "key:ops" and mine["ended_at"] >= mine["started_at"]
    assert mine["turns"]["responses"]["count"] == 1 and mine["turns"]["responses"]["p50_ms"] == turn["gap_ms"]
    assert listed["rooms"][0]["room_url"] == room and listed["rooms"][0]["sessions"] == len(listed["sessions"])
    assert any(s["role"] == "observer" for s in listed["sessions"]), "the watcher's own session is kept too"

    opened = await watcher.get_history(bot_id)
    names = [e["event"] for e in opened["events"]]
    assert names[0] == "joined" and names[-1] == "left", names
    assert names.index("participant-joined") < names.index("turn") < names.index("request-failed") < names.index("left")
    assert opened["events"][names.index("turn")]["data"] == turn
    failed = opened["events"][names.index("request-failed")]["data"]
    assert (failed["request"], failed["code"]) == ("stop-recording", "not_allowed")
    people = [e["data"]["participant"]["info"]["userName"] for e in opened["events"] if e["event"] == "participant-joined"]
    assert people == ["user", "other"]
    samples = [e["data"]["stats"] for e in opened["events"] if e["event"] == "network-stats-updated"]
    assert len(samples) >= 2 and samples[-1]["local"]["audioBytesReceived"] > 0, "no network samples of the local room"
    ats = [e["at"] for e in opened["events"]]
    assert ats == sorted(ats) and opened["total"] == len(opened["events"])
    page = await watcher.get_history(bot_id, offset=1, limit=2)
    assert page["events"] == opened["events"][1:3]

    exported = await watcher.export_history(bot_id)
    path = tmp_path / "session.json"
    path.write_text(json.dumps(exported))
    assert json.loads(path.read_text())["events"] == opened["events"]


async def test_history_is_guarded_like_observe(keyed, clients):
    """A token of the room lists and opens its sessions; a token of another room sees none and gets not_found, as for an unknown id."""
    room, elsewhere = "local://history-guard", "local://history-elsewhere"
    bot = await connect(keyed, clients)
    await bot.join(room, user_name="bot")
    bot_id = str((await bot.stats())["session_id"])
    await bot.leave()

    same_room = await connect(keyed, clients, signer().mint(sub="room", room=room, role="observer")[0])
    assert bot_id in {s["session_id"] for s in (await same_room.list_history())["sessions"]}
    assert (await same_room.get_history(bot_id))["session"]["room_url"] == room

    other = await connect(keyed, clients, signer().mint(sub="other", room=elsewhere, role="observer")[0])
    listed = await other.list_history()
    assert room not in {s["room_url"] for s in listed["sessions"]} | {r["room_url"] for r in listed["rooms"]}
    with pytest.raises(GatewayError) as hidden:
        await other.get_history(bot_id)
    with pytest.raises(GatewayError) as unknown:
        await other.get_history("00000000-0000-0000-0000-000000000000")
    assert hidden.value.code == unknown.value.code == "not_found"
    assert hidden.value.message.replace(bot_id, "?") == unknown.value.message.replace("00000000-0000-0000-0000-000000000000", "?")
    with pytest.raises(GatewayError) as refused:
        await other.list_history(room)
    assert refused.value.code == "unauthorized"
    narrowed = await connect(keyed, clients, signer().mint(sub="cmd", room=room, role="observer", commands=["ping"])[0])
    with pytest.raises(GatewayError) as command:
        await narrowed.list_history()
    assert command.value.code == "unauthorized"


async def test_the_history_outlives_the_gateway(clients, tmp_path):
    """A session kept in a file is listed and opened by the next gateway started on the same file."""
    path = tmp_path / "h.sqlite3"
    first = start_gateway("--history-db", str(path), name="gateway-history-first")
    try:
        client = await GatewayClient.connect(first.url)
        await client.join("local://history-restart", user_name="before")
        session_id = str((await client.stats())["session_id"])
        await client.close()
    finally:
        assert first.stop() == 0
    second = start_gateway("--history-db", str(path), name="gateway-history-second")
    try:
        reader = await GatewayClient.connect(second.url)
        kept = (await reader.get_history(session_id))["session"]
        await reader.close()
        assert (kept["user_name"], kept["end_cause"]) == ("before", "disconnected")
    finally:
        assert second.stop() == 0


async def test_history_off_is_not_supported(clients):
    """--history-db off keeps nothing: list-history answers not_supported naming history_db, and the session goes on."""
    gw = start_gateway("--history-db", "off", name="gateway-history-off")
    try:
        client = await GatewayClient.connect(gw.url)
        clients.append(client)
        with pytest.raises(GatewayError) as caught:
            await client.list_history()
        assert caught.value.code == "not_supported" and caught.value.details == {"config": "history_db"}
        assert (await client.request("ping"))["time_ms"] > 0
    finally:
        await clients.pop().close()
        assert gw.stop() == 0
