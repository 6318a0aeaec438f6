"""Hostile JSON through a real gateway: deep nesting is refused where it is read, so no member can poison a room.

The hostile review's attack: a ``join`` whose ``user_data`` nests ~300 deep (past the encoder's 254)
answered ``internal`` yet left the session joined, and then every other member lost its events and
``list-rooms`` from anywhere got no reply at all. PROTOCOL.md 15.2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from gateway_client import GatewayClient, GatewayError

from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.hostile_tools import request_json

DEPTH = 64
"""The documented nesting limit of a request (hello.limits.max_json_depth)."""


def nested(levels: int) -> Any:
    value: Any = "x"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


@pytest.fixture(scope="module")
def gw() -> Iterator[GatewayProcess]:
    """A gateway of this module's own: an attack that leaves a traceback fails here, not in the shared one."""
    process = start_gateway(name="gateway-hostile-json")
    yield process
    assert process.stop() == 0
    assert "Traceback" not in process.log() and "never retrieved" not in process.log(), process.log()[-3000:]


@pytest.fixture
async def connect(gw: GatewayProcess, clients: list[Any]):
    async def make() -> GatewayClient:
        client = await GatewayClient.connect(gw.url)
        clients.append(client)
        return client

    return make


async def test_limit_is_advertised(connect):
    """hello.limits.max_json_depth tells clients the limit."""
    client = await connect()
    assert client.limits["max_json_depth"] == DEPTH


async def test_deep_user_data_is_refused_and_the_session_stays_open(connect, room):
    """A join with user_data ~300 deep is invalid_params naming user_data; the session is not joined and may join again."""
    attacker = await connect()
    with pytest.raises(GatewayError) as refused:
        await request_json(attacker, "join", {"room_url": room, "user_data": nested(300)})
    assert refused.value.code == "invalid_params" and refused.value.details["field"] == "user_data"
    assert (await attacker.stats())["state"] == "open"
    await attacker.join(room, user_data={"ok": True})


async def test_a_poisoned_join_cannot_stop_list_rooms_joins_or_events_for_others(connect, room):
    """After a deep-user_data join attempt, members still get participant-joined/-left and list-rooms answers everywhere."""
    member = await connect()
    await member.join(room)
    attacker = await connect()
    try:
        await request_json(attacker, "join", {"room_url": room, "user_data": nested(300)}, timeout=5)
    except (GatewayError, TimeoutError):
        pass
    elsewhere = await connect()
    await elsewhere.join(room + "-other")
    listed = await elsewhere.request("list-rooms", timeout=5)
    assert room in [r["room_url"] for r in listed["rooms"]]
    late = await connect()
    joined = await late.join(room)
    seen = await member.wait_for("participant-joined", lambda d: d["participant"]["id"] == joined["participant_id"], timeout=5)
    assert seen.data["participant"]["id"] == joined["participant_id"]
    assert await member.request("get-participants", timeout=5)
    assert not [e for e in member.event_log if e.event == "error"]
    await late.leave()
    await member.wait_for("participant-left", lambda d: d["participant"]["id"] == joined["participant_id"], timeout=5)
    assert member.seq_gaps == [] and late.seq_gaps == []


async def test_user_data_at_the_limit_reaches_every_member_and_every_reply(connect, room):
    """user_data nesting to exactly the limit is accepted and shows up intact in participant-joined, list-rooms and observe."""
    deep = nested(DEPTH - 1)  # the request object is level 1: user_data's value fills levels 2 to DEPTH
    member = await connect()
    await member.join(room)
    guest = await connect()
    joined = await guest.join(room, user_data=deep)
    seen = await member.wait_for("participant-joined", lambda d: d["participant"]["id"] == joined["participant_id"])
    assert seen.data["participant"]["info"]["userData"] == deep
    watcher = await connect()
    observed = await watcher.request("observe", {"room_url": room, "audio": "none"})
    assert any(p["info"].get("userData") == deep for p in observed["participants"].values())
    assert any(r["room_url"] == room for r in (await watcher.request("list-rooms"))["rooms"])
    one_more = await connect()
    with pytest.raises(GatewayError) as refused:
        await one_more.join(room, user_data=nested(DEPTH))
    assert refused.value.code == "invalid_params"


FIELDS = [
    ("send-app-message", {"message": "DEEP"}, "message"),
    ("start-recording", {"streaming_settings": {"layout": "DEEP"}}, "streaming_settings"),
    ("update-recording", {"update_settings": {"layout": "DEEP"}}, "update_settings"),
    ("start-transcription", {"settings": {"extra": "DEEP"}}, "settings"),
    ("update-remote-participants", {"remote_participants": {"p": "DEEP"}}, "remote_participants"),
    ("update-subscriptions", {"participant_settings": {"p": "DEEP"}}, "participant_settings"),
]


def _fill(params: dict[str, Any], value: Any) -> dict[str, Any]:
    return {k: (value if v == "DEEP" else _fill(v, value) if isinstance(v, dict) else v) for k, v in params.items()}


@pytest.mark.parametrize(("rtype", "params", "field"), FIELDS, ids=[f[0] for f in FIELDS])
async def test_deep_values_in_free_form_fields_are_refused_and_reach_nobody(connect, room, rtype, params, field):
    """App messages, recording layouts and settings nested past the limit are invalid_params; the room hears nothing of them."""
    member = await connect()
    await member.join(room)
    sender = await connect()
    await sender.join(room)
    with pytest.raises(GatewayError) as refused:
        await request_json(sender, rtype, _fill(params, nested(300)), timeout=5)
    assert refused.value.code == "invalid_params" and refused.value.details["field"] == field
    await sender.send_app_message({"after": True})
    got = await member.wait_for("app-message", timeout=5)
    assert got.data["message"] == {"after": True}
    assert not [e for e in member.event_log if e.event == "error"]


async def test_app_message_at_the_limit_is_delivered(connect, room):
    """An app message nesting to exactly the limit (and under max_app_message_bytes) reaches the other member intact."""
    member = await connect()
    await member.join(room)
    sender = await connect()
    await sender.join(room)
    deep = nested(DEPTH - 1)
    await sender.send_app_message(deep)
    got = await member.wait_for("app-message", timeout=5)
    assert got.data["message"] == deep


async def test_many_poisoned_requests_each_get_exactly_one_reply(connect, room):
    """Thirty deep requests of mixed types each get one reply, in order, and the session is still usable."""
    client = await connect()
    await client.join(room)
    ids = []
    for i in range(30):
        rtype, params, _ = FIELDS[i % len(FIELDS)]
        ids.append(asyncio.ensure_future(request_json(client, rtype, _fill(params, nested(100 + i)))))
    results = await asyncio.gather(*ids, return_exceptions=True)
    assert all(isinstance(r, GatewayError) and r.code == "invalid_params" for r in results), results
    assert (await client.request("ping"))["time_ms"] > 0
    assert client.seq_gaps == []


@pytest.mark.parametrize("rtype", ["send-app-message", "start-recording", "ping"])
async def test_a_request_nested_1000_deep_is_answered_not_closed(connect, room, rtype):
    """Nesting near the parser's own limit (1000) gets an invalid_params reply, not a 1011 close (validation used to recurse)."""
    client = await connect()
    await client.join(room)
    field = {"send-app-message": "message", "start-recording": "streaming_settings", "ping": "pad"}[rtype]
    text = '{"type": "%s", "id": "deep", "%s": %s}' % (rtype, field, "[" * 1000 + "]" * 1000)
    await client.send_raw(text)
    error = await client.next_protocol_error(timeout=5)
    assert error.code == "invalid_params" and error.details["field"] == field
    assert (await client.request("ping"))["time_ms"] > 0 and client.close_code is None
