"""End to end: turn latency (PROTOCOL.md 9.5, 5.12) from real speech in a local room, heard at 8, 16 and 48 kHz."""

from __future__ import annotations

import asyncio
import time

import pytest

from protocol.schema import validate_server_message
from tests.audio import demo_speech

SPEECH_RATE = 16000


def voiced(start_s: float, end_s: float) -> bytes:
    """A piece of the bundled speech that is voiced from its first to its last frame (webrtcvad: 0.30-2.30 s, 3.18-4.94 s)."""
    pcm = demo_speech(SPEECH_RATE)
    return pcm[int(start_s * SPEECH_RATE) * 2:int(end_s * SPEECH_RATE) * 2]


USER_SAYS = voiced(0.30, 2.30)
BOT_SAYS = voiced(3.18, 4.94)


def _validate(client) -> None:
    for event in client.event_log:
        if event.event == "turn":
            validate_server_message({"type": "event", "seq": event.seq, "event": event.event, "data": event.data})


@pytest.mark.slow
async def test_a_bot_answering_after_a_second_is_a_response_of_about_a_second_at_every_rate(connect, room):
    """The user speaks 2 s, the bot answers 1.0 s after: observers at 16 and 48 kHz, a participant at 8 kHz and the bot itself (its playout) each get one response turn of about 1000 ms."""
    observer, observer48, listener = await connect(), await connect(), await connect()
    await observer.observe(room)
    await observer48.observe(room, audio_in={"sample_rate": 48000})
    await listener.join(room, user_name="listener", audio_in={"sample_rate": 8000}, audio_out={"enabled": False})
    user, bot = await connect(), await connect()
    await user.join(room, user_name="user", audio_out={"sample_rate": SPEECH_RATE})
    await bot.join(room, user_name="bot", audio_in={"sample_rate": 24000}, audio_out={"sample_rate": SPEECH_RATE})
    started = time.monotonic()
    await user.send_audio(USER_SAYS)
    # Both playouts add the same prebuffer: the bot's speech enters the room 1.0 s after the user's ends.
    await asyncio.sleep(len(USER_SAYS) / 2 / SPEECH_RATE + 1.0 - (time.monotonic() - started))
    await bot.send_audio(BOT_SAYS)
    gaps = {}
    for name, client in (("16k", observer), ("48k", observer48), ("8k", listener), ("bot itself", bot)):
        turn = (await client.wait_for("turn", timeout=10)).data
        assert turn["kind"] == "response", (name, turn)
        assert (turn["participant_id"], turn["previous_participant_id"]) == (bot.participant_id, user.participant_id)
        gaps[name] = turn["gap_ms"]
        _validate(client)
    assert all(700 <= gap <= 1400 for gap in gaps.values()), gaps
    assert max(gaps.values()) - min(gaps.values()) <= 250, f"the rates disagree: {gaps}"
    stats = await observer.turn_stats()
    assert stats["room_url"] == room and stats["responses"]["count"] == 1
    assert stats["responses"]["p50_ms"] == stats["responses"]["p95_ms"] == gaps["16k"]
    assert stats["by_participant"][bot.participant_id]["responses"]["count"] == 1
    assert stats["overlaps"] == {"count": 0, "yielded": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    assert stats["recent"][-1]["gap_ms"] == gaps["16k"]
    assert (await user.turn_stats())["responses"]["count"] == 1, "the user (its own speech from its playout) missed it"


@pytest.mark.slow
async def test_a_barge_in_the_bot_yields_to_is_an_overlap_until_it_stopped(connect, room):
    """The user barges in on the bot, which clears its audio on the user's speech-started: an overlap the bot yielded, about as long as its reaction, for an observer and the bot itself."""
    observer = await connect()
    await observer.observe(room, audio_in={"sample_rate": 8000})
    bot, user = await connect(), await connect()
    await bot.join(room, user_name="bot", audio_in={"sample_rate": 16000}, audio_out={"sample_rate": SPEECH_RATE})
    await user.join(room, user_name="user", audio_out={"sample_rate": SPEECH_RATE})
    await bot.send_audio(USER_SAYS + BOT_SAYS)  # nearly 4 s, voiced but for a 0.2 s pause
    await observer.wait_for("speech-started", lambda d: d["participant_id"] == bot.participant_id, timeout=8)
    await asyncio.sleep(0.5)
    await user.send_audio(BOT_SAYS)
    await bot.wait_for("speech-started", lambda d: d["participant_id"] == user.participant_id, timeout=8)
    cleared_at = time.monotonic()
    await bot.clear_audio()
    turn = (await observer.wait_for("turn", timeout=10)).data
    bound = 200 + 1000 * (time.monotonic() - cleared_at) + 600
    own = (await bot.wait_for("turn", timeout=10)).data
    _validate(observer)
    for seen in (turn, own):
        assert seen["kind"] == "overlap" and seen["yielded"] is True, seen
        assert (seen["participant_id"], seen["previous_participant_id"]) == (user.participant_id, bot.participant_id)
        # Both spoke from the user's start until the bot's audio stopped: the VAD's start_ms (200) and the
        # bot's reaction, which the clock here bounds from above.
        assert 100 <= seen["overlap_ms"] <= bound, (seen, bound)
    stats = await observer.turn_stats()
    assert stats["overlaps"]["count"] == 1 and stats["overlaps"]["yielded"] == 1
    assert stats["by_participant"][user.participant_id]["overlaps"]["p50_ms"] == turn["overlap_ms"]


async def test_get_turn_stats_needs_a_room(connect):
    """A session in no room asking for turn stats gets not_joined, and the session goes on."""
    from gateway_client import GatewayError

    client = await connect()
    with pytest.raises(GatewayError) as caught:
        await client.turn_stats()
    assert caught.value.code == "not_joined"
    assert (await client.request("ping"))["time_ms"] > 0
