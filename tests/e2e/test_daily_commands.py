"""Daily rooms end to end: every command over WebSocket reaches daily-python, and its failures come back typed."""

from __future__ import annotations

import uuid

import pytest
from gateway_client import GatewayError

from gateway.backends.daily import shapes
from tests.fakes.daily_remote import daily_fixtures

daily_gateway, daily = daily_fixtures()

NOBODY = str(uuid.uuid4())  # a well-formed Daily id of no one in the room


async def expect_error(client, rtype: str, params: dict, code: str) -> GatewayError:
    """Send a request that must fail with ``code``; return the error."""
    with pytest.raises(GatewayError) as error:
        await client.request(rtype, params, timeout=10)
    assert error.value.code == code, f"{rtype}: {error.value.code} {error.value.message}"
    return error.value


async def test_app_messages_to_all_to_one_and_urgent(daily):
    """send-app-message goes to daily-python's send_app_message: broadcast, to one participant, and urgent, in order."""
    client, fake, bob = await daily.join_with()
    await client.send_app_message({"n": 1})
    await client.send_app_message({"n": 2}, participant_id=bob)
    await client.send_app_message({"n": 3}, urgent=True)
    sent = await fake.app_messages()
    assert [m["message"] for m in sent] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert sent[0]["participant_id"] in (None, "*") and sent[2]["participant_id"] in (None, "*")
    assert sent[1]["participant_id"] == bob


async def test_app_message_before_the_join_completes_is_sent_once_joined(daily):
    """An app message sent while the Daily join is still in progress waits for it and is then sent (the reference lost them)."""
    client = await daily.connect()
    joining, fake = await daily.join_held(client, join_delay=1.0)
    await client.send_app_message({"early": True})
    await joining
    assert [m["message"] for m in await fake.app_messages()] == [{"early": True}]
    names = await fake.call_names()
    assert names.index("send_app_message") > names.index("join")


async def test_commands_before_the_join_completes_are_refused(daily):
    """While the Daily join is in progress, commands that need the room answer not_joined without reaching daily-python."""
    client = await daily.connect()
    joining, fake = await daily.join_held(client, join_delay=1.5)
    for rtype, params in [
        ("start-recording", {}),
        ("start-transcription", {}),
        ("send-dtmf", {"settings": {"tones": "1", "sessionId": "s"}}),
        ("get-participants", {}),
        ("get-participant-counts", {}),
        ("capture-participant-video", {"participant_id": NOBODY}),
        ("update-publishing", {"publishing_settings": {"microphone": {"isPublishing": False}}}),
    ]:
        await expect_error(client, rtype, params, "not_joined")
    await joining
    names = set(await fake.call_names())
    assert not names & {
        "start_recording",
        "start_transcription",
        "send_dtmf",
        "update_publishing",
        "set_video_renderer",
    }


async def test_prebuilt_chat_message(daily):
    """send-prebuilt-chat-message reaches daily-python's send_prebuilt_chat_message with the message and user name."""
    client, fake, _ = await daily.join_with()
    await client.request("send-prebuilt-chat-message", {"message": "hello from the bot", "user_name": "Bot"})
    (call,) = await fake.calls("send_prebuilt_chat_message")
    assert (call["message"], call["user_name"]) == ("hello from the bot", "Bot")


async def test_recording_start_update_stop(daily):
    """start-, update- and stop-recording call daily-python's recording methods with the client's arguments and the stream id."""
    client, fake, bob = await daily.join_with(token="owner-token")
    stream = str(uuid.uuid4())
    settings = {"type": "cloud", "maxDuration": 3600, "layout": {"preset": "default"}}
    started = await client.request(
        "start-recording", {"streaming_settings": settings, "stream_id": stream, "force_new": True}
    )
    assert started["stream_id"] == stream
    (call,) = await fake.calls("start_recording")
    assert (call["streaming_settings"], call["stream_id"], call["force_new"]) == (settings, stream, True)
    layout = {"layout": {"preset": "single-participant", "session_id": bob}}  # daily-python requires its session_id
    await client.request("update-recording", {"update_settings": layout, "stream_id": stream})
    (call,) = await fake.calls("update_recording")
    assert (call["update_settings"], call["stream_id"]) == (layout, stream)
    await client.request("stop-recording", {"stream_id": stream})
    (call,) = await fake.calls("stop_recording")
    assert call["stream_id"] == stream


async def test_transcription_start_update_stop(daily):
    """start-, update- and stop-transcription call daily-python's transcription methods; update names participants and the instance."""
    client, fake, bob = await daily.join_with(token="owner-token")
    settings = {"language": "en", "model": "nova-2-general", "participants": [bob], "extra": {"interim_results": True}}
    await client.request("start-transcription", {"settings": settings})
    (call,) = await fake.calls("start_transcription")
    assert call["settings"] == shapes.transcription_settings(settings)  # Pipecat's defaults under the client's
    assert call["settings"]["includeRawResponse"] is True and call["settings"]["language"] == "en"
    instance = str(uuid.uuid4())
    await client.request("update-transcription", {"participants": [bob], "instance_id": instance})
    (call,) = await fake.calls("update_transcription")
    assert (call["participants"], call["instance_id"]) == ([bob], instance)
    await client.request("stop-transcription", {})
    assert len(await fake.calls("stop_transcription")) == 1


async def test_dialout_dtmf_and_sip_fill_in_the_session_id(daily):
    """start-dialout returns Daily's session id; after dialout-connected, send-dtmf and SIP transfer/refer without sessionId get it; stop-dialout names it."""
    client, fake, _ = await daily.join_with()
    settings = {"phoneNumber": "+15551230000", "displayName": "Support"}
    started = await client.request("start-dialout", {"settings": settings})
    (call,) = await fake.calls("start_dialout")
    assert call["settings"]["phoneNumber"] == "+15551230000"
    session = started["session_id"]
    await fake.emit("on_dialout_connected", {"sessionId": session, "phoneNumber": "+15551230000"})
    await client.wait_for("dialout-connected")

    await client.request("send-dtmf", {"settings": {"tones": "12#", "digitDurationMs": 100}})
    (dtmf,) = await fake.calls("send_dtmf")
    assert dtmf["settings"]["sessionId"] == session and dtmf["settings"]["tones"] == "12#"
    await client.request("sip-call-transfer", {"settings": {"toEndPoint": "sip:sales@example.com"}})
    (transfer,) = await fake.calls("sip_call_transfer")
    assert transfer["settings"] == {"toEndPoint": "sip:sales@example.com", "sessionId": session}
    await client.request("sip-refer", {"settings": {"toEndPoint": "sip:help@example.com", "sessionId": session}})
    (refer,) = await fake.calls("sip_refer")
    assert refer["settings"]["sessionId"] == session

    await client.request("stop-dialout", {"participant_id": session})
    (stop,) = await fake.calls("stop_dialout")
    assert stop["participant_id"] == session
    await fake.emit("on_dialout_stopped", {"sessionId": session})
    await client.wait_for("dialout-stopped")
    await expect_error(client, "send-dtmf", {"settings": {"tones": "1"}}, "wrong_state")


async def test_remote_participants_update_and_eject(daily):
    """update-remote-participants and eject-remote-participants reach daily-python with the participants' ids."""
    client, fake, bob = await daily.join_with(token="owner-token")
    change = {bob: {"permissions": {"canSend": ["microphone"], "canAdmin": False}, "inputsEnabled": {"camera": False}}}
    await client.request("update-remote-participants", {"remote_participants": change})
    (call,) = await fake.calls("update_remote_participants")
    assert call["remote_participants"][bob]["permissions"] == {"canSend": ["microphone"], "canAdmin": []}
    assert call["remote_participants"][bob]["inputsEnabled"] == {"camera": False}
    await client.request("eject-remote-participants", {"ids": [bob]})
    (call,) = await fake.calls("eject_remote_participants")
    assert call["ids"] == [bob]


async def test_subscriptions_publishing_and_inputs(daily):
    """update-subscriptions, -publishing and -inputs reach daily-python; replies carry the resulting settings and the *-updated events follow."""
    client, fake, bob = await daily.join_with()
    per_participant = {bob: {"media": {"microphone": "unsubscribed"}}}
    profiles = {"base": {"media": {"camera": "unsubscribed"}}}  # Daily's shape (daily-python refuses the shorthand)
    reply = await client.request(
        "update-subscriptions", {"participant_settings": per_participant, "profile_settings": profiles}
    )
    (call,) = await fake.calls("update_subscriptions")
    assert (call["participant_settings"], call["profile_settings"]) == (per_participant, profiles)
    assert reply["subscriptions"][bob]["media"]["microphone"]["subscriptionState"] == "unsubscribed"
    await client.wait_for("subscriptions-updated")

    reply = await client.request("update-publishing", {"publishing_settings": {"camera": {"isPublishing": False}}})
    assert reply["publishing_settings"]["camera"]["isPublishing"] is False
    (call,) = await fake.calls("update_publishing")
    assert call["publishing_settings"]["camera"] == {"isPublishing": False}
    await client.wait_for("publishing-updated")

    reply = await client.request("update-inputs", {"input_settings": {"camera": {"isEnabled": True}}})
    assert reply["input_settings"]["camera"]["isEnabled"] is True
    assert any(c["input_settings"].get("camera") == {"isEnabled": True} for c in await fake.calls("update_inputs"))
    await client.wait_for("inputs-updated")
    # The same again changes nothing: daily-python sends no event, the reply still has the settings.
    again = await client.request("update-inputs", {"input_settings": {"camera": {"isEnabled": True}}})
    assert again["input_settings"] == reply["input_settings"]


async def test_room_state_getters(daily):
    """get-participants, get-participant-counts, get-active-speaker and get-network-stats answer from daily-python's getters."""
    client, fake, bob = await daily.join_with()
    everyone = await client.participants()
    assert set(everyone) == {fake.local_id, bob}
    assert everyone[fake.local_id]["info"]["isLocal"] is True
    assert (await client.participant_counts())["present"] == 2
    assert await client.active_speaker() is None
    await fake.set_active_speaker(bob)
    await client.wait_for("active-speaker-changed")
    assert (await client.active_speaker())["id"] == bob
    stats = await client.network_stats()
    assert stats["threshold"] == "good" and stats["quality"] == 100


COMMANDS = [
    ("send-app-message", {"message": {"x": 1}}, "send_app_message"),
    ("send-prebuilt-chat-message", {"message": "hi"}, "send_prebuilt_chat_message"),
    ("start-recording", {}, "start_recording"),
    ("update-recording", {"update_settings": {"layout": {"preset": "default"}}}, "update_recording"),
    ("stop-recording", {}, "stop_recording"),
    ("start-transcription", {}, "start_transcription"),
    ("update-transcription", {"participants": []}, "update_transcription"),
    ("stop-transcription", {}, "stop_transcription"),
    ("start-dialout", {"settings": {"phoneNumber": "+15551230000"}}, "start_dialout"),
    ("stop-dialout", {"participant_id": "{bob}"}, "stop_dialout"),
    ("send-dtmf", {"settings": {"tones": "1", "sessionId": "{bob}"}}, "send_dtmf"),
    ("sip-call-transfer", {"settings": {"toEndPoint": "sip:a@b", "sessionId": "{bob}"}}, "sip_call_transfer"),
    ("sip-refer", {"settings": {"toEndPoint": "sip:a@b", "sessionId": "{bob}"}}, "sip_refer"),
    ("update-remote-participants", {"remote_participants": {"{bob}": {"inputsEnabled": {"camera": False}}}}, "update_remote_participants"),
    ("eject-remote-participants", {"ids": ["{bob}"]}, "eject_remote_participants"),
    ("update-subscriptions", {"profile_settings": {"base": {"media": {"camera": "unsubscribed"}}}}, "update_subscriptions"),
    ("update-subscription-profiles", {"profile_settings": {"base": {"camera": "unsubscribed"}}}, "update_subscription_profiles"),
    ("update-publishing", {"publishing_settings": {"camera": {"isPublishing": False}}}, "update_publishing"),
    ("update-inputs", {"input_settings": {"camera": {"isEnabled": False}}}, "update_inputs"),
]  # fmt: skip


def fill(value, bob: str):
    """``value`` with every "{bob}" (in keys and strings) replaced by bob's id."""
    if isinstance(value, dict):
        return {fill(k, bob): fill(v, bob) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, bob) for v in value]
    return value.replace("{bob}", bob) if isinstance(value, str) else value


@pytest.mark.parametrize(("rtype", "params", "method"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_scripted_failures_become_typed_errors(daily, rtype, params, method):
    """When daily-python's completion reports an error, the reply is backend_error carrying Daily's text; the session goes on."""
    client, fake, bob = await daily.join_with()
    daily_text = f'{method}: ServerError("scripted failure {uuid.uuid4().hex[:6]}")'
    await fake.script(errors={method: daily_text})
    error = await expect_error(client, rtype, fill(params, bob), "backend_error")
    assert "scripted failure" in error.message and error.details["daily_error"] == daily_text
    assert await fake.calls(method), f"{method} was never called"
    assert (await client.request("ping"))["time_ms"] > 0 and (await client.stats())["state"] == "joined"


@pytest.mark.parametrize(
    ("rtype", "params", "method"),
    [
        ("start-recording", {}, "start_recording"),
        ("start-transcription", {"settings": {"language": "en"}}, "start_transcription"),
    ],
)
async def test_recording_without_owner_token_is_refused(daily, rtype, params, method):
    """Without a meeting token that allows it, Daily refuses recording and transcription: the reply is not_allowed with Daily's text."""
    client, fake, _ = await daily.join_with()  # no token
    area = method.split("_")[1].title()
    await fake.script(errors={method: f"{area}(InsufficientPermissions): not allowed without an owner token"})
    error = await expect_error(client, rtype, params, "not_allowed")
    assert "owner token" in error.message


async def test_bad_input_is_refused_without_calling_the_sdk(daily):
    """Invalid DTMF tones, unknown participant ids and oversized app messages get typed errors; daily-python is never called with them."""
    client, fake, bob = await daily.join_with()
    for tones in ("12x", "", "1" * 21):
        await expect_error(client, "send-dtmf", {"settings": {"tones": tones, "sessionId": bob}}, "invalid_params")
    for nobody in ("nobody", NOBODY):
        await expect_error(client, "capture-participant-video", {"participant_id": nobody}, "not_found")
        await expect_error(client, "request-video-frame", {"participant_id": nobody}, "not_found")
        await expect_error(client, "send-app-message", {"message": 1, "participant_id": nobody}, "not_found")
        await expect_error(
            client, "update-remote-participants", {"remote_participants": {nobody: {"permissions": {}}}}, "not_found"
        )
        await expect_error(client, "eject-remote-participants", {"ids": [nobody]}, "not_found")
    await expect_error(client, "stop-dialout", {"participant_id": "nobody"}, "not_found")
    big = "x" * (client.limits["max_app_message_bytes"] + 1)
    await expect_error(client, "send-app-message", {"message": big}, "too_large")
    names = await fake.call_names()
    assert not {"send_dtmf", "set_video_renderer", "update_remote_participants", "eject_remote_participants"} & set(
        names
    )
    assert not await fake.app_messages()
    assert (await client.stats())["state"] == "joined"


async def test_capture_participant_transcription_now_or_once_started(daily):
    """capture-participant-transcription narrows a running Daily transcription at once; when Daily has none running, the ids are kept and applied after start-transcription."""
    client, fake, bob = await daily.join_with()
    reply = await client.request("capture-participant-transcription", {"participant_id": bob})
    assert reply == {"participants": [bob], "applied": True}
    (call,) = await fake.calls("update_transcription")
    assert call["participants"] == [bob]

    other, later, carol = await daily.join_with("carol")
    await later.script(errors={"update_transcription": "Transcription(NotStarted)"})
    kept = await other.request("capture-participant-transcription", {"participant_id": carol})
    assert kept["applied"] is False and kept["participants"] == [carol]
    await later.script(errors={})
    await other.request("start-transcription", {"settings": {"language": "en"}})
    names = await later.call_names()
    assert names.index("start_transcription") < len(names) - 1 - names[::-1].index("update_transcription")
    assert (await later.calls("update_transcription"))[-1]["participants"] == [carol]
    await expect_error(other, "capture-participant-transcription", {"participant_id": NOBODY}, "not_found")


async def test_subscription_profiles_in_daily_shape(daily):
    """update-subscription-profiles reaches daily-python's update_subscription_profiles and answers every profile."""
    client, fake, bob = await daily.join_with()
    reply = await client.request(
        "update-subscription-profiles", {"profile_settings": {"listeners": {"microphone": "unsubscribed"}}}
    )
    call = (await fake.calls("update_subscription_profiles"))[-1]  # the first is the backend's own, at join
    assert call["profile_settings"] == {"listeners": {"microphone": "unsubscribed"}}
    assert reply["subscription_profiles"]["listeners"]["microphone"]["subscriptionState"] == "unsubscribed"
    assert reply["subscription_profiles"]["base"]["camera"]["subscriptionState"] == "unsubscribed"  # video: by capture only
    await client.wait_for("subscription-profiles-updated", lambda d: "listeners" in d["subscription_profiles"])
    subs = await client.request("update-subscriptions", {"participant_settings": {bob: {"profile": "listeners"}}})
    assert subs["subscriptions"][bob]["profile"] == "listeners"


async def test_shapes_daily_refuses_are_refused_before_daily(daily):
    """A null app message and the old profile shorthand are invalid_params in validation; daily-python never sees them."""
    client, fake, _ = await daily.join_with()
    await expect_error(client, "send-app-message", {"message": None}, "invalid_params")
    error = await expect_error(
        client, "update-subscriptions", {"profile_settings": {"base": {"camera": "unsubscribed"}}}, "invalid_params"
    )
    assert error.details["field"].startswith("profile_settings.base")
    assert not await fake.calls("send_app_message") and not await fake.calls("update_subscriptions")


async def test_a_refusal_of_daily_python_is_invalid_params(daily):
    """What daily-python's own checks refuse (an unknown subscription profile) is invalid_params with Daily's text."""
    client, _, bob = await daily.join_with()
    error = await expect_error(
        client, "update-subscriptions", {"participant_settings": {bob: {"profile": "nope"}}}, "invalid_params"
    )
    assert "UnknownProfiles" in error.details["daily_error"]


@pytest.mark.parametrize("rtype", ["sip-call-transfer", "sip-refer", "send-dtmf"])
async def test_transfer_refer_and_dtmf_wait_for_the_audio_already_published(daily, rtype):
    """A transfer (refer, DTMF) sent right after 600 ms of audio reaches daily-python once that audio was written, not before."""
    client, fake, bob = await daily.join_with(audio_out={"sample_rate": 16000})
    session = str(uuid.uuid4())
    await fake.emit("on_dialout_connected", {"sessionId": session})
    await client.wait_for("dialout-connected")
    await client.send_audio(b"\x01\x00" * (16000 * 6 // 10))  # 600 ms, faster than real time
    settings = {"tones": "1"} if rtype == "send-dtmf" else {"toEndPoint": "sip:desk@example.com"}
    await client.request(rtype, {"settings": settings}, timeout=10)
    method = rtype.replace("-", "_")
    (call,) = await fake.remote.call("calls", client=fake.index, name=method)
    _, writes = await fake.audio_writes()
    done = next(t for t, total in writes if total >= 16000 * 2 * 5 // 10)  # 500 ms of it was handed to Daily
    assert call["at"] >= done, f"{method} at {call['at']:.3f}, 500 ms of audio written at {done:.3f}"
