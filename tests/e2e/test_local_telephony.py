"""Local rooms: simulated telephony (dial-out to the test phone and to a registered phone, DTMF, dial-in, transfer)."""

from __future__ import annotations

import asyncio

import pytest

from gateway_client import GatewayError
from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech

RATE = 16000


def validate(*clients) -> None:
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def test_dialout_to_the_test_phone_events_audio_and_dtmf(connect, room):
    """Dial-out to +15550000<digits>: connected, answered, participant-joined; the bot hears the demo WAV, then the digits in order, then its own speech echoed."""
    bot = await connect()
    await bot.join(room, audio_out={"sample_rate": RATE})
    reply = await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550000194"}})
    sid = reply["session_id"]
    connected = await bot.wait_for("dialout-connected")
    answered = await bot.wait_for("dialout-answered")
    joined = await bot.wait_for("participant-joined")
    assert connected.data["data"]["sessionId"] == answered.data["data"]["sessionId"] == sid
    assert joined.data["participant"]["id"] == sid and joined.data["participant"]["info"]["userName"] == "+15550000194"
    names = [e.event for e in bot.event_log]
    assert names.index("dialout-connected") < names.index("dialout-answered")
    greeting = await bot.record(2.0, participant_id=sid)
    assert best_correlation(demo_speech(RATE, seconds=1.5), RATE, greeting, RATE)[0] > 0.9, "the phone's WAV was not heard"
    tones = []
    for _ in range(3):
        tones.append((await bot.wait_for("dtmf-event", timeout=15)).data["data"])
    assert [t["tone"] for t in tones] == ["1", "9", "4"] and {t["sessionId"] for t in tones} == {sid}
    await asyncio.sleep(0.3)
    speech = demo_speech(RATE, seconds=1.0)
    bot.drain_audio()
    sending = asyncio.create_task(bot.send_audio(speech))
    echoed = await bot.record(1.6, participant_id=sid)
    await sending
    assert best_correlation(speech, RATE, echoed, RATE)[0] > 0.9, "the phone did not hear the bot (no echo)"
    await bot.request("stop-dialout", {"participant_id": sid})
    stopped = await bot.wait_for("dialout-stopped")
    assert stopped.data["data"]["sessionId"] == sid
    await bot.wait_for("participant-left", lambda d: d["participant"]["id"] == sid)
    validate(bot)


async def test_registered_phone_rings_answers_talks_and_presses_keys(connect, room):
    """A WebSocket phone is rung (with the caller's name), answers, both sides hear each other (content), keys go both ways, a hang-up is no error."""
    phone, bot = await connect(), await connect()
    number = f"+1999{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})  # audio_out: 24 kHz, the client's default
    await bot.join(room, user_name="support-bot", audio_out={"sample_rate": RATE})
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}}))["session_id"]
    ring = await phone.wait_for("phone-ringing")
    assert ring.data["call_id"] == sid and ring.data["room_url"] == room
    assert ring.data["caller_name"] == "support-bot"
    await bot.wait_for("dialout-connected")
    answer = await phone.request("answer-call", {"call_id": sid})
    assert answer["participant_id"] == sid
    phone.participant_id = sid
    await bot.wait_for("dialout-answered")
    for speaker, listener, who, rate in ((phone, bot, sid, 24000), (bot, phone, bot.participant_id, RATE)):
        speech = demo_speech(rate, seconds=1.2)
        listener.drain_audio()
        sending = asyncio.create_task(speaker.send_audio(speech))
        received = await listener.record(1.8, participant_id=who)
        await sending
        assert best_correlation(speech, rate, received, RATE)[0] > 0.9, f"{who} not heard"
    await phone.request("send-dtmf", {"settings": {"tones": "12#", "digitDurationMs": 50}})
    got = [(await bot.wait_for("dtmf-event")).data["data"] for _ in range(3)]
    assert [g["tone"] for g in got] == ["1", "2", "#"] and {g["sessionId"] for g in got} == {sid}
    reply = await bot.request("send-dtmf", {"settings": {"tones": "*0A", "digitDurationMs": 50}})
    assert reply == {"session_id": sid}
    heard = [(await phone.wait_for("dtmf-event")).data["data"]["tone"] for _ in range(3)]
    assert heard == ["*", "0", "A"]
    await phone.request("leave")  # hang up
    await bot.wait_for("dialout-stopped")
    await bot.wait_for("participant-left", lambda d: d["participant"]["id"] == sid)
    assert (await phone.request("get-stats"))["state"] == "open", "the phone is not back on the hook"
    assert (await phone.wait_for("call-ended")).data["reason"] == "hangup"
    errors = [e.event for c in (bot, phone) for e in c.event_log if e.event in ("error", "dialout-error", "dialin-error")]
    assert errors == [], f"a normal hang-up reported {errors}"
    kept = (await bot.get_history(str((await bot.stats())["session_id"])))["events"]
    calls = [e["event"] for e in kept if e["event"].startswith("dial") or e["event"] == "dtmf-event"]
    assert calls == ["dialout-connected", "dialout-answered", *["dtmf-event"] * 3, "dialout-stopped"], calls
    validate(phone, bot)


async def test_rejected_call_is_a_dialout_error(connect, room):
    """The phone declines: the bot gets dialout-error with the session id, and no participant joins."""
    phone, bot = await connect(), await connect()
    number = f"+1888{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}}))["session_id"]
    await phone.wait_for("phone-ringing")
    await phone.request("reject-call", {"call_id": sid})
    error = await bot.wait_for("dialout-error")
    assert error.data["data"]["sessionId"] == sid and error.data["data"]["errorMsg"]
    assert list(await bot.participants()) == [bot.participant_id]


async def test_dialin_ready_connected_and_stopped(connect, room):
    """A bot joining with dialin_settings gets dialin-ready; a phone dialing that endpoint joins (dialin-connected), hanging up is dialin-stopped."""
    bot, phone = await connect(), await connect()
    await bot.join(room, dialin_settings={"call_id": "c-1", "call_domain": "d-1"})
    ready = await bot.wait_for("dialin-ready")
    endpoint = ready.data["sip_endpoint"]
    await phone.request("register-phone", {"number": f"+1777{abs(hash(room)) % 10**7:07d}"})
    result = await phone.request("dial", {"to": endpoint})
    connected = await bot.wait_for("dialin-connected")
    assert connected.data["data"]["sessionId"] == result["call_id"]
    await phone.request("leave")
    stopped = await bot.wait_for("dialin-stopped")
    assert stopped.data["data"]["sessionId"] == result["call_id"]
    validate(bot, phone)


async def test_sip_transfer_moves_the_call_to_another_room(connect, room):
    """sip-call-transfer to another room's endpoint: dialout-stopped here, dialin-connected and the phone's audio there."""
    bot, host = await connect(), await connect()
    other = room + "-b"
    await host.join(other, dialin_settings={"call_id": "x", "call_domain": "y"})
    endpoint = (await host.wait_for("dialin-ready")).data["sip_endpoint"]
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550000"}}))["session_id"]
    await bot.wait_for("dialout-answered")
    await bot.request("sip-call-transfer", {"settings": {"toEndPoint": endpoint}})
    await bot.wait_for("dialout-stopped")
    await bot.wait_for("participant-left", lambda d: d["participant"]["id"] == sid)
    moved = await host.wait_for("dialin-connected")
    assert moved.data["data"]["sipFrom"] == "+15550000"
    assert len(await host.participants()) == 2


async def test_bad_telephony_requests_are_typed_errors(connect, room):
    """Dial-out to nobody: not_found; stop-dialout without a call: not_found; send-dtmf with no call: wrong_state; bad tones: invalid_params."""
    bot = await connect()
    await bot.join(room)
    cases = [
        ("start-dialout", {"settings": {"phoneNumber": "+12125550100"}}, "not_found"),
        ("start-dialout", {"settings": {"displayName": "x"}}, "invalid_params"),
        ("stop-dialout", {"participant_id": "no-such-call"}, "not_found"),
        ("send-dtmf", {"settings": {"tones": "123"}}, "wrong_state"),
        ("send-dtmf", {"settings": {"tones": "12E", "sessionId": "s"}}, "invalid_params"),
        ("send-dtmf", {"settings": {"tones": "1" * 21, "sessionId": "s"}}, "invalid_params"),
        ("send-dtmf", {"settings": {"tones": "1", "sessionId": "s"}}, "not_found"),
        ("sip-call-transfer", {"settings": {"toEndPoint": "sip:x@y"}}, "wrong_state"),
        ("answer-call", {"call_id": "x"}, "wrong_state"),
    ]
    for rtype, params, code in cases:
        with pytest.raises(GatewayError) as err:
            await bot.request(rtype, params)
        assert err.value.code == code, (rtype, params, err.value.code)
