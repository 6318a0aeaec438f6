"""Daily rooms end to end: join.audio_in.mixed, the room's mix as one track (daily-python's virtual speaker).

A gateway of its own: a mixed-audio session needs the gateway process to itself (daily-python has one
speaker device per process), so it cannot share one with the other Daily tests.
"""

from __future__ import annotations

import asyncio

import pytest
from gateway_client import GatewayError

from tests.audio import best_correlation, demo_speech
from tests.fakes.daily_remote import daily_fixtures, room_url

daily_gateway, daily = daily_fixtures()

RATE = 16000


async def join_when_free(daily, client, **params):
    """Join once the previous test's Daily sessions are released (they leave in the background): limit_reached until then."""
    for _ in range(100):
        try:
            return await daily.join(client, **params)
        except GatewayError as exc:
            assert exc.code == "limit_reached", exc
            await asyncio.sleep(0.05)
    raise AssertionError("the Daily backend never became free")


async def test_the_rooms_mix_is_one_track(daily):
    """join.audio_in.mixed: what the room plays into the virtual speaker reaches the client as one track ("*", mixed)."""
    client = await daily.connect()
    _, fake = await join_when_free(daily, client, audio_in={"sample_rate": RATE, "mixed": True})
    await fake.add_participant(user_name="bob")
    speech = demo_speech(RATE, seconds=1.0)
    speaker = await daily.remote.speaker_feed(speech)
    assert (speaker["sample_rate"], speaker["channels"]) == (RATE, 1)
    started = await client.wait_for("track-started", timeout=5)
    assert (started.data["participant_id"], started.data["source"], started.data["kind"]) == ("*", "mixed", "audio")
    recorded = await client.record(1.5, participant_id="*")
    assert best_correlation(speech, RATE, recorded, RATE)[0] > 0.9
    assert not [c for c in await fake.calls("set_audio_renderer")], "no per-participant renderer in mixed mode"


async def test_a_mixed_session_has_the_daily_backend_to_itself(daily):
    """Beside a mixed-audio session another Daily join is limit_reached; once it left, Daily joins work again."""
    mixing = await daily.connect()
    await join_when_free(daily, mixing, audio_in={"mixed": True})
    other = await daily.connect()
    with pytest.raises(GatewayError) as error:
        await other.request("join", {"room_url": room_url()}, timeout=10)
    assert error.value.code == "limit_reached"
    await mixing.leave()
    await join_when_free(daily, other)
    assert (await other.stats())["state"] == "joined"


async def test_mixed_audio_is_daily_only(daily):
    """A local room has no mix to give: join.audio_in.mixed there is not_supported, and the session may join again."""
    client = await daily.connect()
    with pytest.raises(GatewayError) as error:
        await client.request("join", {"room_url": "local://mixed-test", "audio_in": {"mixed": True}}, timeout=10)
    assert error.value.code == "not_supported" and error.value.details["field"] == "audio_in.mixed"
    await client.join("local://mixed-test")
