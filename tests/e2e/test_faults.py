"""Backend faults end in a typed error and a clean session, never a hung request or a ghost participant.

The faults are injected by the local backend's test-only hook (gateway/backends/local/faults.py:
rooms named ``fault-<kind>-*`` with ``GATEWAY_TEST_FAULTS=1``) in a real gateway process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from gateway_client import GatewayClient, GatewayError

from protocol.schema import validate_server_message
from tests.conftest import GatewayProcess, start_gateway

JOIN_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def faulty() -> Iterator[GatewayProcess]:
    """A gateway with fault injection on and a short join timeout."""
    gw = start_gateway("--join-timeout", str(JOIN_TIMEOUT_S), name="gateway-faults", env={"GATEWAY_TEST_FAULTS": "1"})
    yield gw
    assert gw.stop() == 0, "the gateway did not exit cleanly after the faults"


@pytest.fixture
async def fconnect(faulty: GatewayProcess) -> AsyncIterator[Callable[..., object]]:
    clients: list[GatewayClient] = []

    async def make() -> GatewayClient:
        client = await GatewayClient.connect(faulty.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def fault_room(kind: str) -> str:
    return f"local://fault-{kind}-{uuid.uuid4().hex[:8]}"


async def assert_consistent(client: GatewayClient, state: str) -> None:
    """The session answers, reports ``state``, and holds no track."""
    assert "time_ms" in await client.request("ping", timeout=5)
    stats = await client.stats()
    assert stats["state"] == state, stats
    assert stats["tracks"] == []


def validate_events(*clients: GatewayClient) -> None:
    """Every event the clients got matches its schema (the faults' events are documented ones)."""
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def room_of(client: GatewayClient, room_url: str) -> dict:
    rooms = (await client.request("list-rooms"))["rooms"]
    return next((r for r in rooms if r["room_url"] == room_url), {})


@pytest.mark.parametrize(("kind", "code"), [("join-error", "internal"), ("join-hang", "timeout")])
async def test_failed_join_gets_one_reply_and_leaves_no_ghost(fconnect, kind, code):
    """A join whose backend raises or hangs after entering the room gets its error reply, and the room keeps no participant of it."""
    client, watcher = await fconnect(), await fconnect()
    room = fault_room(kind)
    await watcher.request("observe", {"room_url": room, "audio": "none"})
    with pytest.raises(GatewayError) as err:
        await client.request("join", {"room_url": room}, timeout=JOIN_TIMEOUT_S + 10)
    assert err.value.code == code
    await assert_consistent(client, "open")
    assert not (await room_of(client, room)).get("participants"), "the failed join left a participant in the room"
    gone = await watcher.wait_for("participant-left")
    assert gone.data["cause"] == "disconnected"
    validate_events(client, watcher)
    joined = await client.join(f"local://after-{uuid.uuid4().hex[:8]}")  # the session is OPEN: it may join again
    assert joined["participant_id"]


async def test_exception_delivering_to_one_member_stays_with_it(fconnect):
    """A member whose delivery raises gets an error event; the sender's request succeeds and the others still get the message."""
    room = fault_room("deliver-error")
    sender, other = await fconnect(), await fconnect()
    await sender.join(room, user_name="sender")
    await other.join(room, user_name="other")
    watcher = await fconnect()
    await watcher.request("observe", {"room_url": room, "audio": "none"})
    await sender.send_app_message({"n": 1})  # every member of a fault-deliver-error room fails on app messages
    error = await other.wait_for("error")
    assert error.data["code"] == "internal" and "app-message" in error.data["message"]
    got = await watcher.wait_for("app-message")
    assert got.data["message"] == {"n": 1}
    for client in (sender, other):
        await assert_consistent(client, "joined")
    assert len(await other.participants()) == 2
    validate_events(sender, other, watcher)


async def test_backend_losing_the_participant_ends_in_error_and_left(fconnect):
    """When the backend drops the participant mid-call the client gets network status, an error event and left(error); the session is LEFT and usable."""
    room = fault_room("drop")
    client, peer = await fconnect(), await fconnect()
    await peer.request("observe", {"room_url": room, "audio": "none"})  # not a participant: not dropped itself
    await client.join(room, user_name="dropped")
    status = await client.wait_for("network-connection-status-updated")
    assert status.data["status"]["event"] == "interrupted"
    error = await client.wait_for("error")
    assert error.data["code"] == "backend_error"
    left = await client.wait_for("left")
    assert left.data["reason"] == "error"
    await assert_consistent(client, "left")
    with pytest.raises(GatewayError) as err:
        await client.request("get-participants")
    assert err.value.code == "not_joined"
    gone = await peer.wait_for("participant-left")
    assert gone.data["participant"]["id"] == client.participant_id
    assert await peer.participants() == {}
    validate_events(client, peer)


async def test_recording_task_dying_ends_the_recording_with_events(fconnect, faulty):
    """A recording whose clock task dies sends recording-error and recording-stopped; the room and session go on."""
    room = fault_room("recording-crash")
    client = await fconnect()
    await client.join(room, token="owner", audio_out={"sample_rate": 16000})
    await client.request("start-recording", {"stream_id": "crash"})
    error = await client.wait_for("recording-error")
    assert error.data["stream_id"] == "crash" and "InjectedFault" in error.data["message"]
    await client.wait_for("recording-stopped", lambda d: d["stream_id"] == "crash")
    await assert_consistent(client, "joined")
    with pytest.raises(GatewayError) as err:
        await client.request("stop-recording", {"stream_id": "crash"})
    assert err.value.code == "not_found", "the dead recording is still listed as running"
    restarted = await client.request("start-recording", {"stream_id": "again"})  # the room records again
    assert restarted["stream_id"] == "again"
    validate_events(client)


async def test_test_phone_crashing_ends_its_call_with_dialout_error(fconnect):
    """A simulated phone whose task dies after answering ends the call: dialout-error, the phone leaves, the bot stays joined."""
    room = fault_room("phone-crash")
    bot = await fconnect()
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550000"}}))["session_id"]
    await bot.wait_for("dialout-answered", lambda d: d["data"]["sessionId"] == sid)
    error = await bot.wait_for("dialout-error", lambda d: d["data"]["sessionId"] == sid)
    assert "test phone failed" in error.data["data"]["errorMsg"]
    left = await bot.wait_for("participant-left")
    assert left.data["participant"]["id"] == sid
    await assert_consistent(bot, "joined")
    assert list(await bot.participants()) == [bot.participant_id]
    with pytest.raises(GatewayError) as err:
        await bot.request("stop-dialout", {"participant_id": sid})
    assert err.value.code == "not_found", "the crashed call is still listed"
    validate_events(bot)


async def test_faults_are_off_without_the_variable(connect):
    """Without GATEWAY_TEST_FAULTS a fault-* room is an ordinary room (nobody can trigger faults in production)."""
    client = await connect()
    joined = await client.join(fault_room("join-error"))
    assert joined["participant_id"]
    await asyncio.sleep(0)
