"""Local rooms: telephony failure paths (PROTOCOL.md 5.9, "Failures"): the test numbers +1555000<kind>,
the ring timeout, a phone that goes away while ringing, and dial-in warnings and errors."""

from __future__ import annotations

import asyncio

import pytest

from gateway_client import GatewayError
from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech

RATE = 16000

CALL_EVENTS = ("dialout-", "dialin-", "participant-joined", "participant-left")


def validate(*clients) -> None:
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


def call_events(client, sid: str) -> list[str]:
    """The dial and participant events of call ``sid``, in order (other events left out)."""
    out = []
    for e in client.event_log:
        if not e.event.startswith(CALL_EVENTS):
            continue
        who = e.data.get("data", {}).get("sessionId") if "data" in e.data else e.data.get("participant", {}).get("id")
        if who == sid:
            out.append(e.event)
    return out


async def settle(client, event: str, sid: str, timeout: float = 5.0) -> None:
    """Wait for ``event`` of call ``sid`` and a little longer, so that a stray later event would show."""
    await client.wait_for(event, lambda d: d["data"]["sessionId"] == sid, timeout=timeout)
    await asyncio.sleep(0.3)


async def test_busy_number_is_a_dialout_error(connect, room):
    """+15550001: connected (ringing), then dialout-error with a busy errorMsg; nobody joins, nothing else follows."""
    bot = await connect()
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550001"}}))["session_id"]
    await settle(bot, "dialout-error", sid)
    assert call_events(bot, sid) == ["dialout-connected", "dialout-error"]
    error = [e for e in bot.event_log if e.event == "dialout-error"][0].data["data"]
    assert error["sessionId"] == sid and error["phoneNumber"] == "+15550001" and error["errorMsg"].startswith("busy")
    assert list(await bot.participants()) == [bot.participant_id]
    validate(bot)


async def test_codec_fallback_number_warns_then_talks(connect, room):
    """+15550002: connected, participant-joined, answered, then dialout-warning (errorMsg); the call goes on (the phone's WAV is heard) and ends normally."""
    bot = await connect()
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550002"}}))["session_id"]
    warning = await bot.wait_for("dialout-warning")
    assert warning.data["data"]["sessionId"] == sid and "codec" in warning.data["data"]["errorMsg"]
    greeting = await bot.record(1.5, participant_id=sid)
    assert best_correlation(demo_speech(RATE, seconds=1.0), RATE, greeting, RATE)[0] > 0.9, "the call did not go on"
    await bot.request("stop-dialout", {"participant_id": sid})
    await settle(bot, "dialout-stopped", sid)
    assert call_events(bot, sid) == [
        "dialout-connected", "participant-joined", "dialout-answered", "dialout-warning", "participant-left", "dialout-stopped",
    ]
    validate(bot)


async def test_no_answer_number_times_out(connect, room):
    """+15550003 with ring_timeout_s 0.5: connected, then after about 0.5 s dialout-error naming the ring timeout; the call is gone."""
    bot = await connect()
    await bot.join(room)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550003"}, "ring_timeout_s": 0.5}))["session_id"]
    error = await bot.wait_for("dialout-error", timeout=5)
    elapsed = loop.time() - started
    assert 0.4 < elapsed < 2.0, elapsed
    assert error.data["data"]["sessionId"] == sid and "ring timeout" in error.data["data"]["errorMsg"]
    await asyncio.sleep(0.3)
    assert call_events(bot, sid) == ["dialout-connected", "dialout-error"]
    with pytest.raises(GatewayError) as err:
        await bot.request("stop-dialout", {"participant_id": sid})
    assert err.value.code == "not_found", "the timed-out call was not cleaned up"
    validate(bot)


async def test_dropping_number_hangs_up_mid_call(connect, room):
    """+15550004: connected, participant-joined, answered, then about 1 s later participant-left and dialout-stopped (the phone hung up)."""
    bot = await connect()
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550004"}}))["session_id"]
    await bot.wait_for("dialout-answered")
    answered_at = asyncio.get_running_loop().time()
    await bot.wait_for("dialout-stopped", timeout=5)
    assert 0.7 < asyncio.get_running_loop().time() - answered_at < 2.5
    await bot.wait_for("participant-left", lambda d: d["participant"]["id"] == sid)
    await asyncio.sleep(0.3)
    assert call_events(bot, sid) == [
        "dialout-connected", "participant-joined", "dialout-answered", "participant-left", "dialout-stopped",
    ]
    validate(bot)


async def test_unknown_test_kind_is_not_found(connect, room):
    """+15550009 (no such test kind): start-dialout answers not_found, and +1555000... cannot be registered by a WebSocket phone."""
    bot, phone = await connect(), await connect()
    await bot.join(room)
    with pytest.raises(GatewayError) as err:
        await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550009"}})
    assert err.value.code == "not_found"
    with pytest.raises(GatewayError) as err:
        await phone.request("register-phone", {"number": "+155500031234"})
    assert err.value.code == "invalid_params"


async def test_registered_phone_not_answering_times_out(connect, room):
    """A WebSocket phone that lets it ring past ring_timeout_s: the bot gets dialout-error, the phone call-ended (timeout), and a late answer-call is not_found."""
    phone, bot = await connect(), await connect()
    number = f"+1666{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}, "ring_timeout_s": 0.3}))["session_id"]
    await phone.wait_for("phone-ringing")
    error = await bot.wait_for("dialout-error", timeout=5)
    assert error.data["data"]["sessionId"] == sid and "ring timeout" in error.data["data"]["errorMsg"]
    ended = await phone.wait_for("call-ended")
    assert ended.data == {"call_id": sid, "reason": "timeout"}
    with pytest.raises(GatewayError) as err:
        await phone.request("answer-call", {"call_id": sid})
    assert err.value.code == "not_found"
    assert call_events(bot, sid) == ["dialout-connected", "dialout-error"]
    validate(bot, phone)


async def test_answered_call_is_not_cut_by_the_ring_timeout(connect, room):
    """A call answered before ring_timeout_s goes on past it: no dialout-error, the phone is still in the room."""
    phone, bot = await connect(), await connect()
    number = f"+1511{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}, "ring_timeout_s": 0.5}))["session_id"]
    await phone.wait_for("phone-ringing")
    await phone.request("answer-call", {"call_id": sid})
    await bot.wait_for("dialout-answered")
    await asyncio.sleep(0.8)
    assert "dialout-error" not in call_events(bot, sid)
    assert sid in await bot.participants()
    await phone.request("leave")
    await settle(bot, "dialout-stopped", sid)


async def test_phone_disconnecting_while_ringing_is_a_dialout_error(connect, room):
    """A ringing WebSocket phone whose connection closes: the bot gets dialout-error (not dialout-stopped), and the call is gone."""
    phone, bot = await connect(), await connect()
    number = f"+1444{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}}))["session_id"]
    await phone.wait_for("phone-ringing")
    await phone.close()
    await settle(bot, "dialout-error", sid)
    error = [e for e in bot.event_log if e.event == "dialout-error"][0].data["data"]
    assert error["sessionId"] == sid and "hung up" in error["errorMsg"]
    assert call_events(bot, sid) == ["dialout-connected", "dialout-error"]
    with pytest.raises(GatewayError) as err:
        await bot.request("stop-dialout", {"participant_id": sid})
    assert err.value.code == "not_found"
    validate(bot)


async def test_stop_dialout_while_ringing_is_dialout_stopped(connect, room):
    """The dialer's own stop-dialout while ringing stays dialout-stopped (not an error), and the ring timer does not fire later."""
    bot = await connect()
    await bot.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": "+15550003"}, "ring_timeout_s": 0.4}))["session_id"]
    await bot.wait_for("dialout-connected")
    await bot.request("stop-dialout", {"participant_id": sid})
    await bot.wait_for("dialout-stopped")
    await asyncio.sleep(0.6)
    assert call_events(bot, sid) == ["dialout-connected", "dialout-stopped"]


async def test_dialin_warning_after_connected(connect, room):
    """A phone's dial with simulate "warning": dialin-connected then dialin-warning (errorMsg, same sessionId); the call goes on and ends with dialin-stopped."""
    bot, phone = await connect(), await connect()
    await bot.join(room, dialin_settings={"call_id": "c-1", "call_domain": "d-1"})
    endpoint = (await bot.wait_for("dialin-ready")).data["sip_endpoint"]
    await phone.request("register-phone", {"number": f"+1333{abs(hash(room)) % 10**7:07d}"})
    result = await phone.request("dial", {"to": endpoint, "simulate": "warning"})
    sid = result["call_id"]
    warning = await bot.wait_for("dialin-warning")
    assert warning.data["data"]["sessionId"] == sid and "codec" in warning.data["data"]["errorMsg"]
    assert warning.data["data"]["sipEndpoint"] == endpoint
    await phone.request("leave")
    await settle(bot, "dialin-stopped", sid)
    events = [e for e in call_events(bot, sid) if e.startswith("dialin-")]
    assert events == ["dialin-connected", "dialin-warning", "dialin-stopped"], events
    validate(bot, phone)


async def test_dialin_error_fails_the_call(connect, room):
    """A phone's dial with simulate "error": the room gets dialin-error (errorMsg) and nothing else, the phone's dial answers backend_error and it stays on the hook."""
    bot, phone = await connect(), await connect()
    await bot.join(room, dialin_settings={"call_id": "c-1", "call_domain": "d-1"})
    endpoint = (await bot.wait_for("dialin-ready")).data["sip_endpoint"]
    await phone.request("register-phone", {"number": f"+1222{abs(hash(room)) % 10**7:07d}"})
    with pytest.raises(GatewayError) as err:
        await phone.request("dial", {"to": endpoint, "simulate": "error"})
    assert err.value.code == "backend_error"
    error = await bot.wait_for("dialin-error")
    sid = error.data["data"]["sessionId"]
    assert error.data["data"]["errorMsg"] and error.data["data"]["sipEndpoint"] == endpoint
    await asyncio.sleep(0.3)
    assert call_events(bot, sid) == ["dialin-error"]
    assert list(await bot.participants()) == [bot.participant_id]
    assert (await phone.request("get-stats"))["state"] == "open"
    validate(bot, phone)


async def test_dialer_leaving_while_ringing_gets_no_late_events(connect, room):
    """The bot leaves while its dial-out rings: the call goes on (the phone answers into the room, as on Daily) and the bot, gone, gets no dial events."""
    phone, bot, other = await connect(), await connect(), await connect()
    number = f"+1667{abs(hash(room)) % 10**7:07d}"
    await phone.request("register-phone", {"number": number})
    await bot.join(room)
    await other.join(room)
    sid = (await bot.request("start-dialout", {"settings": {"phoneNumber": number}}))["session_id"]
    await phone.wait_for("phone-ringing")
    await bot.leave()
    await phone.request("answer-call", {"call_id": sid})
    joined = await other.wait_for("participant-joined", lambda d: d["participant"]["id"] == sid)
    assert joined.data["participant"]["info"]["userName"]
    await asyncio.sleep(0.3)
    left_seq = (await bot.wait_for("left")).seq
    after_left = [e.event for e in bot.event_log if e.seq > left_seq]
    assert not [name for name in after_left if name.startswith("dialout-")]
    assert call_events(bot, sid) == ["dialout-connected"]
