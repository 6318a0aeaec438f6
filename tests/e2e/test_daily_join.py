"""Daily rooms end to end: joining and leaving (the gateway process runs its Daily backend on the fake SDK)."""

from __future__ import annotations

import asyncio
import json

import pytest
from gateway_client import GatewayError

from tests.fakes.daily_remote import daily_fixtures, nested_in, room_url
from tests.fakes.daily_rest_api import Reply, StubDaily

daily_gateway, daily = daily_fixtures()


async def test_join_passes_token_name_and_media_settings(daily):
    """The join's room URL, token, bot name and audio out settings (bitrate, live mode) reach daily-python's join."""
    client = await daily.connect()
    room = room_url()
    result, fake = await daily.join(
        client,
        room,
        token="meeting-token-1",
        user_name="bot-7",
        audio_out={"sample_rate": 24000, "channels": 1, "bitrate": 48000, "is_live": True},
    )
    join = (await fake.calls("join"))[0]
    assert join["meeting_url"] == room and join["meeting_token"] == "meeting-token-1"
    assert result["participant"]["info"]["userName"] == "bot-7"
    settings = join["client_settings"] or {}
    everything = [settings, await fake.all_arguments()]
    assert nested_in(everything, 48000), f"audio_out.bitrate 48000 reached no SDK call: {settings}"


async def test_joined_reports_the_bots_participant_id_and_room_url(daily):
    """call-state-updated joining/joined, then joined with the bot's real Daily id (not "") and the room URL, equal to the reply."""
    client = await daily.connect()
    room = room_url()
    result, fake = await daily.join(client, room)
    assert result["participant_id"] == fake.local_id != ""
    assert result["room_url"] == room
    assert result["participant"]["info"]["isLocal"] is True
    joined = await client.wait_for("joined")
    assert joined.data == result
    states = [e.data["state"] for e in client.event_log if e.event == "call-state-updated"]
    assert states[-2:] == ["joining", "joined"], states
    everyone = await client.participants()
    assert everyone[fake.local_id]["info"]["isLocal"] is True


@pytest.mark.parametrize(
    ("url", "params", "code"),
    [
        ("https://", {}, "bad_room_url"),
        ("https:///no-host", {}, "bad_room_url"),
        ("not a url", {"backend": "daily"}, "bad_room_url"),
        ("ftp://example.daily.co/room", {}, "unknown_backend"),
    ],
)
async def test_invalid_room_urls_are_refused_at_once(daily, url, params, code):
    """A room URL Daily cannot use is refused with a typed error without a CallClient joining; the session may then join."""
    client = await daily.connect()
    before = len(await daily.remote.clients())
    with pytest.raises(GatewayError) as error:
        await client.request("join", {"room_url": url, **params}, timeout=5)
    assert error.value.code == code, error.value.message
    assert not [c for c in (await daily.remote.clients())[before:] if c["room_url"] == url and not c["released"]]
    assert (await client.stats())["state"] == "open"
    await daily.join(client)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"audio_out": {"sample_rate": 22050}}, "audio_out.sample_rate"),
        ({"video_out": {"enabled": True, "color_format": "BGR"}}, "video_out.color_format"),
    ],
)
async def test_media_formats_daily_cannot_carry_are_refused_at_join(daily, params, field):
    """Audio out at 22050 Hz (daily-python plays whole 10 ms blocks) and video out in BGR are unsupported_format, no CallClient left behind."""
    client = await daily.connect()
    room = room_url()
    with pytest.raises(GatewayError) as error:
        await client.request("join", {"room_url": room, **params}, timeout=5)
    assert error.value.code == "unsupported_format" and error.value.details["field"] == field, error.value.message
    assert not [c for c in await daily.remote.clients() if c["room_url"] == room and not c["released"]]
    await daily.join(client, audio_out={"sample_rate": 44100})  # a rate of whole 10 ms blocks joins


async def test_camera_keeps_dailys_send_settings_unless_asked(daily):
    """video_out without send settings leaves Daily's adaptive layers; send_settings and codec reach Daily unchanged."""
    client = await daily.connect()
    _, fake = await daily.join(client, video_out={"enabled": True, "width": 32, "height": 24})
    camera = (await fake.calls("join"))[0]["client_settings"]["publishing"]["camera"]
    assert camera == {"isPublishing": True}
    client = await daily.connect()
    send = {"maxQuality": "high", "allowAdaptiveLayers": True}
    _, fake = await daily.join(client, video_out={"enabled": True, "width": 32, "height": 24, "send_settings": send, "codec": "VP9"})
    camera = (await fake.calls("join"))[0]["client_settings"]["publishing"]["camera"]
    assert camera["sendSettings"] == {**send, "preferredCodec": "VP9"}


async def test_unreachable_room_fails_cleanly_and_the_gateway_keeps_serving(daily):
    """A join Daily cannot complete (unreachable room) answers backend_error with Daily's text, leaves call state left, releases the client; others go on."""
    failing = await daily.connect()
    attempt, fake = await daily.join_held(failing, fail_join_unreachable=1.0)

    other = await daily.connect()  # served while the failing join is pending
    assert (await other.request("ping"))["time_ms"] > 0
    _, other_fake = await daily.join(other)
    assert other_fake.index != fake.index

    with pytest.raises(GatewayError) as error:
        await attempt
    assert error.value.code == "backend_error", error.value.message
    assert "RoomLookup" in error.value.message or "room information" in error.value.message
    await fake.wait_released()
    states = [e.data["state"] for e in failing.event_log if e.event == "call-state-updated"]
    assert states and states[-1] == "left", states
    assert (await failing.stats())["state"] == "open"
    await daily.join(failing)  # a failed join leaves the session free to try again
    assert (await other.participants())[other_fake.local_id]["info"]["isLocal"] is True


async def test_leave_ends_the_call_and_releases_the_client(daily):
    """leave: daily-python's leave, call-state-updated leaving/left, left {reason: left}, the reply; then the CallClient is released."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    await client.leave()
    assert len(await fake.calls("leave")) == 1
    names = [e.event for e in client.event_log]
    assert names.index("left") > names.index("joined")
    assert (await client.wait_for("left")).data["reason"] == "left"
    states = [e.data["state"] for e in client.event_log if e.event == "call-state-updated"]
    assert states[-2:] == ["leaving", "left"], states
    await fake.wait_released()
    with pytest.raises(GatewayError) as error:
        await client.request("get-participants")
    assert error.value.code == "not_joined"


async def test_closing_the_connection_leaves_and_releases_the_client(daily):
    """A client that disconnects without leaving makes the gateway leave the Daily call and release its CallClient."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    await client.close()
    await fake.wait_call("leave", timeout=10)
    await fake.wait_released()


@pytest.fixture
async def dialin(daily):
    """A stub of Daily's REST API, and a function that joins a fresh room with dial-in settings routed to it."""
    stub = StubDaily()
    await stub.start()

    async def join(client, api_key: str, call_id: str = "call-1", call_domain: str = "domain-1"):
        settings = {"call_id": call_id, "call_domain": call_domain}
        _, fake = await daily.join(client, dialin_settings=settings, api_url=stub.url, api_key=api_key)
        await fake.emit("on_dialin_ready", "sip:bot@example.sip.daily.co")
        return fake

    yield stub, join
    await stub.close()


async def test_dialin_ready_posts_the_pinless_call_update(daily, dialin):
    """With dialin_settings, Daily's dialin_ready becomes dialin-ready and the gateway posts {callId, callDomain, sipUri} to api_url with api_key, which no client sees."""
    stub, join = dialin
    stub.on("POST", "/v1/dialin/pinlessCallUpdate", Reply(200, {"status": "ok"}))
    client = await daily.connect()
    secret = "key-H2-never-shown"
    await join(client, secret)
    ready = await client.wait_for("dialin-ready")
    assert ready.data["sip_endpoint"] == "sip:bot@example.sip.daily.co"
    for _ in range(200):
        if stub.requests:
            break
        await asyncio.sleep(0.025)
    assert len(stub.requests) == 1, "the pinless call update was not posted"
    posted = stub.requests[0]
    assert posted.target == "/v1/dialin/pinlessCallUpdate"
    assert posted.headers["authorization"] == f"Bearer {secret}"
    assert posted.json == {"callId": "call-1", "callDomain": "domain-1", "sipUri": "sip:bot@example.sip.daily.co"}
    seen = json.dumps([e.data for e in client.event_log])
    assert secret not in seen and secret not in daily.gw.log()


async def test_dialin_update_failure_is_an_error_event(daily, dialin):
    """A pinless dial-in update Daily refuses (500) becomes an error event; the session stays joined."""
    stub, join = dialin
    stub.on("POST", "/v1/dialin/pinlessCallUpdate", Reply(500, {"error": "server-error"}))
    client = await daily.connect()
    await join(client, "k")
    error = await client.wait_for("error", timeout=10)
    assert error.data["code"] and error.data["message"]
    assert (await client.stats())["state"] == "joined"


async def test_transcription_at_join_starts_daily_transcription(daily):
    """join.transcription {enabled, settings} makes the gateway call daily-python's start_transcription with those settings once joined."""
    client = await daily.connect()
    settings = {"language": "fr", "model": "nova-2-general", "profanity_filter": True}
    _, fake = await daily.join(client, transcription={"enabled": True, "settings": settings})
    calls = await fake.wait_call("start_transcription", timeout=10)
    assert calls[0]["settings"] is not None and nested_in(calls[0]["settings"], "fr")
    assert calls[0]["settings"]["includeRawResponse"] is True  # Pipecat's defaults under the client's settings
    names = await fake.call_names()
    assert names.index("start_transcription") > names.index("join")


async def test_join_leave_cycles_leave_no_threads_behind(daily):
    """Twenty join/leave cycles through the gateway leave the gateway process with no more threads than before (executor workers aside)."""
    warm = await daily.connect()
    await daily.join(warm)
    await warm.leave()
    await asyncio.sleep(0.3)
    before = await daily.remote.threads()
    for _ in range(20):
        client = await daily.connect()
        _, fake = await daily.join(client)
        await client.leave()
        await fake.wait_released()
        await client.close()
    await asyncio.sleep(0.3)
    after = await daily.remote.threads()
    assert len(own(after)) <= len(own(before)), f"threads grew: {sorted(set(after) - set(before))}"


def own(threads: list[str]) -> list[str]:
    """Threads that are not executor workers (a pool grows to its bound on its own; that is no leak)."""
    return [t for t in threads if not t.startswith(("asyncio_", "ThreadPoolExecutor"))]


async def test_leave_while_joining_waits_for_the_join_then_leaves(daily):
    """A leave sent while the Daily join is in progress waits for it, then leaves: both replies ok, CallClient released."""
    client = await daily.connect()
    joining, fake = await daily.join_held(client, join_delay=1.0)
    await asyncio.sleep(0.1)
    await client.leave()
    assert (await joining)["participant_id"] == fake.local_id
    assert (await client.wait_for("left")).data["reason"] == "left"
    await fake.wait_released()


async def test_disconnecting_while_joining_releases_the_client(daily):
    """A client that disconnects while its Daily join is in progress leaves no call behind: the CallClient is released."""
    client = await daily.connect()
    _, fake = await daily.join_held(client, join_delay=1.0)
    await asyncio.sleep(0.1)
    await client.close()
    await fake.wait_released(timeout=15)
    assert (await fake.describe())["call_state"] in ("left", "initialized", "joined")


async def test_observing_a_daily_room_no_session_is_in_is_not_found(daily):
    """observe on a Daily room none of the gateway's sessions is in answers not_found (Daily has no read-only presence:
    a room is watched through a session in it, tests/e2e/test_daily_observe.py); the session may still join."""
    client = await daily.connect()
    with pytest.raises(GatewayError) as error:
        await client.request("observe", {"room_url": room_url()})
    assert error.value.code == "not_found", error.value.message
    await daily.join(client)


async def test_removed_by_daily_ends_the_session_as_ejected(daily):
    """Daily saying "left" without a leave (ejected, meeting ended) gives left {reason: ejected}; the CallClient is released and the session is done."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    await fake.emit("on_call_state_updated", "left")
    assert (await client.wait_for("left")).data["reason"] == "ejected"
    await fake.wait_released()
    with pytest.raises(GatewayError) as error:
        await client.request("send-app-message", {"message": 1})
    assert error.value.code == "not_joined"
