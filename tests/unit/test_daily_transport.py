"""DailyTransport against the fake daily-python: events, commands, errors, media, all on the loop thread.

The fake (tests/fakes/daily.py) calls completions and events from its own emitter thread and
renderers from its media threads, as the real SDK does; every assertion here is about what the
session (a Recorder) sees on the loop thread.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from gateway.backends.base import AudioFormat, RawVideoFrame
from gateway.backends.daily.error_codes import command_error
from gateway.backends.daily.events import EVENTS
from gateway.media.playout import AudioPlayout
from protocol.errors import CommandError, ErrorCode
from tests.fakes.daily import EVENT_NAMES, NEVER_EMITTED, FakeSdk, make_participant
from tests.fakes.daily_rest_api import Reply, StubDaily
from tests.unit.test_daily_transport_fixtures import (  # noqa: F401  (fake_sdk is a fixture)
    ROOM,
    Recorder,
    fake_sdk,
    make_backend,
    make_transport,
    until,
)

BOB = make_participant(user_name="bob")


async def joined(sdk: FakeSdk, listener: Recorder | None = None, **kwargs: Any) -> tuple[Any, Recorder, Any]:
    """A backend, a joined transport with ``BOB`` already in the room, and the fake client's control."""
    sdk.script.remote_participants = [BOB]
    listener = listener or Recorder()
    backend = make_backend(sdk)
    transport = make_transport(backend, listener, **kwargs)
    await transport.join()
    return transport, listener, sdk.wait_for_client()


# ---------------------------------------------------------------------------------------- join


async def test_join_returns_the_bot_id_room_url_and_participants(fake_sdk: FakeSdk) -> None:
    """join answers the bot's real participant id (not ""), the room URL, itself and the others."""
    transport, listener, control = await joined(fake_sdk)
    assert transport.participant_id == control.local_id
    uuid.UUID(transport.participant_id)
    assert transport.participants()[control.local_id]["info"]["isLocal"] is True
    assert BOB["id"] in transport.participants()
    assert listener.named("call-state-updated") == [{"state": "joining"}, {"state": "joined"}]
    assert not listener.off_loop
    await transport.leave()
    fake_sdk.assert_no_callback_errors()


async def test_join_data_and_client_settings(fake_sdk: FakeSdk) -> None:
    """The join data has the documented shape; the custom audio track is the microphone, with the bitrate asked."""
    fake_sdk.script.remote_participants = [BOB]
    listener = Recorder()
    backend = make_backend(fake_sdk)
    transport = make_transport(
        backend, listener, token="tok", audio_out=AudioFormat(24000, 2), join_params={"audio_out": {"bitrate": 64000}}
    )
    data = await transport.join()
    control = fake_sdk.wait_for_client()
    assert set(data) == {"participant_id", "room_url", "participant", "participants"}
    assert data["participant_id"] == control.local_id and data["room_url"] == ROOM
    assert list(data["participants"]) == [BOB["id"]]
    (call,) = control.calls_named("join")
    assert call["meeting_url"] == ROOM and call["meeting_token"] == "tok"
    settings = call["client_settings"]
    track_id = settings["inputs"]["microphone"]["settings"]["customTrack"]["id"]
    assert settings["inputs"]["microphone"]["isEnabled"] is True and track_id
    assert settings["publishing"]["microphone"]["sendSettings"] == {"channelConfig": "stereo", "bitrate": 64000}
    assert control.calls_named("set_user_name") == [{"user_name": "unit-bot"}]
    await transport.leave()


async def test_join_video_out_publishes_a_custom_camera(fake_sdk: FakeSdk) -> None:
    """video_out enabled with a size: a custom camera track at join, with the bitrate and framerate asked."""
    video_out = {"enabled": True, "width": 64, "height": 48, "framerate": 15, "bitrate": 300000, "color_format": "RGB"}
    transport, _, control = await joined(fake_sdk, video_out=video_out)
    settings = control.calls_named("join")[0]["client_settings"]
    assert settings["inputs"]["camera"]["isEnabled"] is True
    assert settings["publishing"]["camera"]["sendSettings"]["encodings"]["low"] == {"maxBitrate": 300000, "maxFramerate": 15}
    transport.write_video("camera", RawVideoFrame(b"\x01" * 64 * 48 * 3, 64, 48, "RGB", 0))
    assert transport.stats()["video_out_frames"] == 1
    await transport.leave()


async def test_failed_join_is_a_typed_error_and_releases_the_client(fake_sdk: FakeSdk) -> None:
    """A join the room refuses: the SDK's error as a typed CommandError, call state left, client released."""
    fake_sdk.script.fail_join_unreachable()
    listener = Recorder()
    backend = make_backend(fake_sdk)
    transport = make_transport(backend, listener)
    with pytest.raises(CommandError) as info:
        await transport.join()
    assert info.value.code is ErrorCode.BACKEND_ERROR
    assert "RoomLookup" in info.value.details["daily_error"]
    control = fake_sdk.wait_for_client()
    assert control.released
    assert {"state": "left"} in listener.named("call-state-updated")
    errors = listener.named("error")
    assert [e["details"]["daily_error"] for e in errors] == ["Failed to fetch room information: GET failed: client error (Connect)"]
    assert not backend.transports
    await transport.leave()  # idempotent after a failed join
    fake_sdk.assert_no_callback_errors()


@pytest.mark.parametrize("left_after_completion", [False, True])
async def test_failed_join_in_either_order_of_left(fake_sdk: FakeSdk, left_after_completion: bool) -> None:
    """Whether "left" comes before or after the join's completion, the session sees it before join fails."""
    fake_sdk.script.fail_join_unreachable()
    fake_sdk.script.left_after_completion = left_after_completion
    listener = Recorder()
    transport = make_transport(make_backend(fake_sdk), listener)
    with pytest.raises(CommandError):
        await transport.join()
    assert listener.named("call-state-updated")[-1] == {"state": "left"}


@pytest.mark.parametrize("url", ["http://example.daily.co/room", "https://", "example.daily.co/room", "https://a b/c"])
def test_check_room_url_refuses_non_https_urls(fake_sdk: FakeSdk, url: str) -> None:
    """Only absolute https URLs are Daily rooms: anything else is bad_room_url at once, before the SDK."""
    backend = make_backend(fake_sdk)
    with pytest.raises(CommandError) as info:
        backend.check_room_url(url)
    assert info.value.code is ErrorCode.BAD_ROOM_URL
    assert not fake_sdk.clients


def test_check_room_url_accepts_any_https_host(fake_sdk: FakeSdk) -> None:
    """Any https host is accepted (the SDK accepts non-daily.co domains too)."""
    backend = make_backend(fake_sdk)
    backend.check_room_url("https://example.daily.co/room")
    backend.check_room_url("https://meet.example.com/x")


async def test_join_cancelled_by_the_session_timeout_releases_in_the_background(fake_sdk: FakeSdk) -> None:
    """The session's join timeout cancels join: the client is still released once the pending join ends."""
    fake_sdk.script.join_delay = 0.5
    backend = make_backend(fake_sdk)
    transport = make_transport(backend, Recorder())
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(transport.join(), 0.1)
    control = fake_sdk.wait_for_client()
    await until(lambda: control.released, what="release after a cancelled join")
    await until(lambda: not backend.transports, what="transport forgotten")
    await backend.close()


# -------------------------------------------------------------------------------------- events


def sample_args(callback: str, bob: dict[str, Any]) -> tuple[Any, ...]:
    """Arguments for ``EventHandler.<callback>`` shaped like Daily's."""
    samples: dict[str, tuple[Any, ...]] = {
        "on_active_speaker_changed": (bob,),
        "on_app_message": ({"hello": 1}, bob["id"]),
        "on_available_devices_updated": ({"audio": [], "camera": []},),
        "on_call_state_updated": ("joined",),
        "on_dialin_ready": ("sip:room@daily.example",),
        "on_error": ("Something went wrong",),
        "on_live_stream_error": ("s1", "bad"),
        "on_live_stream_warning": ("s1", "meh"),
        "on_live_stream_stopped": ("s1",),
        "on_live_stream_updated": ({"state": "connected"},),
        "on_participant_joined": (make_participant(user_name="carol"),),
        "on_participant_left": (bob, "leftCall"),
        "on_participant_updated": (bob,),
        "on_recording_error": ("s1", "bad"),
        "on_recording_stopped": ("s1",),
        "on_transcription_error": ("bad",),
        "on_transcription_stopped": ("", False),
    }
    if callback in samples:
        return samples[callback]
    if callback.startswith(("on_dialin_", "on_dialout_", "on_dtmf_")):
        return ({"sessionId": "call-1", "sipFrom": "+15550000"},)
    return ({"some": "value"},)


async def test_every_sdk_event_reaches_the_session_on_the_loop(fake_sdk: FakeSdk) -> None:
    """Every EventHandler callback of the real SDK becomes its protocol event, with its arguments as named fields."""
    assert set(EVENTS) == set(EVENT_NAMES)
    transport, listener, control = await joined(fake_sdk)
    for callback in EVENT_NAMES:
        listener.events.clear()
        if callback in NEVER_EMITTED:  # declared, never sent by daily-python 0.36: relayed should it ever be
            getattr(transport._handler, callback)(*sample_args(callback, BOB))
        else:
            control.emit(callback, *sample_args(callback, BOB))
        name, fields = EVENTS[callback]
        await until(lambda name=name: listener.named(name), what=name)
        data = listener.named(name)[0]
        if name == "error":
            assert data["code"] == "backend_error" and "Something went wrong" in data["message"]
        else:
            assert set(fields) <= set(data), (callback, data)
    assert not listener.off_loop
    await transport.leave()
    fake_sdk.assert_no_callback_errors()


async def test_phone_events_carry_session_id(fake_sdk: FakeSdk) -> None:
    """dialin-connected and dialout-connected carry data.sessionId, which the session keeps for send-dtmf."""
    transport, listener, control = await joined(fake_sdk)
    control.emit("on_dialin_connected", {"sessionId": "abc", "sipFrom": "x"})
    control.emit("on_dialout_connected", {"session_id": "def"})
    await until(lambda: listener.named("dialout-connected"))
    assert listener.named("dialin-connected")[0]["data"]["sessionId"] == "abc"
    assert listener.named("dialout-connected")[0]["data"]["sessionId"] == "def"
    await transport.leave()


async def test_request_failures_are_replies_not_error_events(fake_sdk: FakeSdk) -> None:
    """The SDK's "Error handling <request>" on_error after a failed request does not become an error event."""
    transport, listener, control = await joined(fake_sdk)
    fake_sdk.clients[0].fake.script.errors["stop_recording"] = "Recording(NotFound)"
    with pytest.raises(CommandError):
        await transport.stop_recording(None)
    control.drain()
    await asyncio.sleep(0.05)
    assert not listener.named("error")
    await transport.leave()


async def test_participants_follow_join_update_and_leave(fake_sdk: FakeSdk) -> None:
    """participants() is kept from events (never a blocking getter): joins, updates and leaves show."""
    transport, listener, control = await joined(fake_sdk)
    carol = control.add_participant(user_name="carol")
    await until(lambda: carol["id"] in transport.participants())
    control.remove_participant(BOB["id"])
    await until(lambda: BOB["id"] not in transport.participants())
    assert [d["participant"]["id"] for d in listener.named("participant-joined")] == [carol["id"]]
    assert listener.named("participant-left")[0]["reason"] == "leftCall"
    assert not any(c.name == "participants" for c in control.calls)
    await transport.leave()


async def test_ejected_by_the_room_tells_the_session(fake_sdk: FakeSdk) -> None:
    """Daily moving the call to "left" on its own (an eject): the client is released and on_left("ejected")."""
    transport, listener, control = await joined(fake_sdk)
    control.emit("on_call_state_updated", "left")
    await until(lambda: listener.left, what="on_left")
    assert listener.left == ["ejected"]
    await until(lambda: control.released)
    await transport.leave()


# --------------------------------------------------------------------------------------- audio


async def test_remote_audio_is_a_per_participant_track_at_the_asked_rate(fake_sdk: FakeSdk) -> None:
    """Each remote microphone is rendered at audio_in's rate and reaches on_audio on the loop; leaving ends it."""
    transport, listener, control = await joined(fake_sdk, audio_in=AudioFormat(24000))
    control.wait_for_renderer(BOB["id"])
    (renderer_call,) = control.calls_named("set_audio_renderer")
    assert renderer_call["sample_rate"] == 24000 and renderer_call["audio_source"] == "microphone"
    pcm = (b"\x10\x00" * 480) * 5
    handle = control.push_audio(BOB["id"], pcm, 24000, speed=4.0)
    await until(lambda: handle.done.is_set() and len(listener.audio) >= 5, what="5 chunks")
    assert b"".join(a[2] for a in listener.audio) == pcm
    assert {(a[0], a[1], a[3], a[4]) for a in listener.audio} == {(BOB["id"], "microphone", 24000, 1)}
    control.remove_participant(BOB["id"])
    await until(lambda: listener.ended)
    assert listener.ended == [(BOB["id"], "microphone")]
    names = [n for n, _ in listener.events]
    assert not listener.off_loop and "participant-left" in names
    await transport.leave()


async def test_screen_audio_becomes_its_own_track(fake_sdk: FakeSdk) -> None:
    """A participant who starts sharing screen audio gets a second renderer, source screenAudio."""
    transport, listener, control = await joined(fake_sdk)
    sharing = json.loads(json.dumps(BOB))
    sharing["media"]["screenAudio"] = {"state": "playable", "subscribed": "subscribed", "offReasons": []}
    control.emit("on_participant_updated", sharing)
    await until(lambda: (BOB["id"], "screenAudio") in control.audio_renderers)
    control.push_audio(BOB["id"], b"\x01\x00" * 320, 16000, audio_source="screenAudio", speed=4.0)
    await until(lambda: any(a[1] == "screenAudio" for a in listener.audio))
    stopped = json.loads(json.dumps(sharing))
    stopped["media"]["screenAudio"] = {"state": "off", "subscribed": "subscribed", "offReasons": ["user"]}
    control.emit("on_participant_updated", stopped)
    await until(lambda: (BOB["id"], "screenAudio") in listener.ended)
    await transport.leave()


async def test_no_audio_in_means_no_renderer(fake_sdk: FakeSdk) -> None:
    """A session that receives no audio (audio_in disabled) does not render anyone."""
    transport, _, control = await joined(fake_sdk, audio_in=None)
    control.add_participant(user_name="carol")
    control.drain()
    await asyncio.sleep(0.05)
    assert not control.calls_named("set_audio_renderer")
    await transport.leave()


async def test_inbound_audio_is_bounded_when_the_loop_stalls(fake_sdk: FakeSdk) -> None:
    """If the loop stalls, a track keeps only the newest chunks and counts the drops."""
    transport, listener, control = await joined(fake_sdk)
    control.wait_for_renderer(BOB["id"])
    handle = control.push_audio(BOB["id"], b"\x02\x00" * 320 * 120, 16000, speed=50.0)
    deadline = time.monotonic() + 10
    while not handle.done.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)  # the loop is blocked on purpose: chunks pile up in the inbox
    assert handle.done.is_set()
    await until(lambda: transport.stats()["audio_in_chunks"] == 120)
    await asyncio.sleep(0.05)
    assert transport.stats()["audio_in_dropped"] == 120 - len(listener.audio) > 0
    await transport.leave()


async def test_session_playout_reaches_the_custom_audio_track_in_order(fake_sdk: FakeSdk) -> None:
    """Audio paced by the session's playout arrives in the fake's audio source in order, nothing dropped."""
    transport, _, _ = await joined(fake_sdk, audio_out=AudioFormat(16000))
    playout = AudioPlayout(transport.write_audio, sample_rate=16000, channels=1)
    playout.start()
    pcm = bytes(range(256)) * 25  # 200 ms, every frame different
    playout.push(pcm)
    (source,) = fake_sdk.audio_sources
    await until(lambda: len(source.fake.written) >= len(pcm), what="all audio written")
    assert bytes(source.fake.written[: len(pcm)]) == pcm
    assert transport.stats()["audio_out_dropped"] == 0
    await playout.stop()
    await transport.leave()


@pytest.mark.slow
async def test_slow_write_frames_never_blocks_the_loop(fake_sdk: FakeSdk) -> None:
    """write_audio returns at once even when write_frames blocks; beyond the bound, the oldest chunks drop."""
    transport, _, _ = await joined(fake_sdk, audio_out=AudioFormat(16000))
    chunk = b"\x00\x01" * 1600  # 100 ms: the fake's write_frames blocks that long per chunk
    for _ in range(80):
        transport.write_audio(chunk)
    # Had write_audio waited for write_frames, all 80 would be written and none dropped; instead
    # the loop ran on, the bounded queue kept the newest 50 and counted the rest.
    stats = transport.stats()
    assert stats["audio_out_chunks"] <= 2
    assert stats["audio_out_dropped"] >= 80 - 50 - 2
    await transport.leave()


# ----------------------------------------------------------------------------------- commands


COMMANDS: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = [
    # (transport method, CallClient method, transport args, expected recorded args subset)
    ("start_recording", "start_recording", ({"type": "cloud"}, "s1", True), {"stream_id": "s1", "force_new": True}),
    ("stop_recording", "stop_recording", ("s1",), {"stream_id": "s1"}),
    ("update_recording", "update_recording", ({"layout": {}}, "s1"), {"update_settings": {"layout": {}}}),
    ("stop_transcription", "stop_transcription", (None,), {}),
    ("send_prebuilt_chat_message", "send_prebuilt_chat_message", ("hi", "bot"), {"message": "hi", "user_name": "bot"}),
    ("start_dialout", "start_dialout", ({"phoneNumber": "+15550100"},), {"settings": {"phoneNumber": "+15550100"}}),
    ("send_dtmf", "send_dtmf", ({"sessionId": "c", "tones": "12"},), {"settings": {"sessionId": "c", "tones": "12"}}),
    ("sip_call_transfer", "sip_call_transfer", ({"sessionId": "c", "toEndPoint": "sip:x"},), {}),
    ("sip_refer", "sip_refer", ({"sessionId": "c", "toEndPoint": "sip:x"},), {}),
]


@pytest.mark.parametrize(("method", "sdk_method", "args", "recorded"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_commands_reach_the_sdk_and_answer_its_completion(
    fake_sdk: FakeSdk, method: str, sdk_method: str, args: tuple[Any, ...], recorded: dict[str, Any]
) -> None:
    """Each command calls the CallClient method of the same name and answers once its completion ran."""
    transport, listener, control = await joined(fake_sdk)
    result = await getattr(transport, method)(*args)
    (call,) = control.calls_named(sdk_method)
    assert recorded.items() <= call.items()
    if method == "start_recording":
        assert result == {"stream_id": "s1"}
    elif method == "start_dialout":
        uuid.UUID(result["session_id"])
    else:
        assert result is None
    await transport.leave()


@pytest.mark.parametrize(("method", "sdk_method", "args", "recorded"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_command_errors_are_typed(
    fake_sdk: FakeSdk, method: str, sdk_method: str, args: tuple[Any, ...], recorded: dict[str, Any]
) -> None:
    """The SDK's error string of a failed command is the reply's typed error, with Daily's text in details."""
    transport, _, control = await joined(fake_sdk)
    control.script.errors[sdk_method] = "Something(Forbidden(permission denied))"
    with pytest.raises(CommandError) as info:
        await getattr(transport, method)(*args)
    assert info.value.code is ErrorCode.NOT_ALLOWED
    assert info.value.details["daily_error"] == "Something(Forbidden(permission denied))"
    await transport.leave()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("Recording(CallState(NotInACall))", ErrorCode.WRONG_STATE),
        ("AppMessage(Signalling(ChannelNotOpen))", ErrorCode.WRONG_STATE),
        ('Failed to parse url: InvalidUrl("x", RelativeUrlWithoutBase)', ErrorCode.BAD_ROOM_URL),
        ('JsonApiError { message: "Failed to deserialize ids JSON: UUID parsing failed: \'x\'" }', ErrorCode.NOT_FOUND),
        ("Recording(Unauthorized)", ErrorCode.NOT_ALLOWED),
        ("Something(Else)", ErrorCode.BACKEND_ERROR),
        ("this object has already been released", ErrorCode.NOT_JOINED),
    ],
)
def test_sdk_error_strings_map_to_codes(error: str, code: ErrorCode) -> None:
    """Daily's error strings become the documented codes; the text is kept in details.daily_error."""
    exc = command_error("start_recording", error)
    assert exc.code is code and exc.details == {"method": "start_recording", "daily_error": error}


async def test_commands_outside_a_call_are_wrong_state_from_the_sdk(fake_sdk: FakeSdk) -> None:
    """If Daily says NotInACall (the call dropped under us), the reply is wrong_state."""
    transport, _, control = await joined(fake_sdk)
    control.call_state = "left"
    with pytest.raises(CommandError) as info:
        await transport.start_recording(None, None, False)
    assert info.value.code is ErrorCode.WRONG_STATE
    await transport.leave()


@pytest.mark.slow
async def test_a_command_that_never_completes_times_out(fake_sdk: FakeSdk) -> None:
    """A completion later than the command timeout gives a timeout reply; the late completion is ignored."""
    transport, _, control = await joined(fake_sdk)
    transport.command_timeout = 0.1
    control.script.delays["update_inputs"] = 0.4
    with pytest.raises(CommandError) as info:
        await transport.update_inputs({"camera": {"isEnabled": True}})
    assert info.value.code is ErrorCode.TIMEOUT
    await asyncio.sleep(0.5)
    transport.command_timeout = 3.0
    await transport.update_inputs({"camera": {"isEnabled": False}})  # the client still works
    await transport.leave()
    fake_sdk.assert_no_callback_errors()


async def test_commands_before_join_are_not_joined(fake_sdk: FakeSdk) -> None:
    """Before join (or after leave) a command is not_joined, without touching the SDK."""
    transport = make_transport(make_backend(fake_sdk), Recorder())
    with pytest.raises(CommandError) as info:
        await transport.start_recording(None, None, False)
    assert info.value.code is ErrorCode.NOT_JOINED
    with pytest.raises(CommandError):
        transport.participants()
    assert not fake_sdk.clients


@pytest.mark.parametrize("bad", ["local", "p-bob", "", str(uuid.UUID(int=7))])
async def test_unknown_participant_ids_are_not_found_without_the_sdk(fake_sdk: FakeSdk, bad: str) -> None:
    """Ids that are not a remote participant of the room (not UUIDs, or unknown UUIDs) are not_found, no SDK call."""
    transport, _, control = await joined(fake_sdk)
    before = len(control.calls)
    attempts = [
        transport.send_app_message({"x": 1}, bad, False),
        transport.capture_video(bad, "camera", "RGB"),
        transport.update_remote_participants({bad: {"permissions": {}}}),
        transport.eject_remote_participants([bad]),
        transport.update_subscriptions({bad: {"profile": "base"}}, None),
        transport.update_transcription([bad], None),
    ]
    for attempt in attempts:
        with pytest.raises(CommandError) as info:
            await attempt
        assert info.value.code is ErrorCode.NOT_FOUND, info.value
    assert len(control.calls) == before
    assert not fake_sdk.aborts
    await transport.leave()


async def test_own_id_is_not_a_remote_participant(fake_sdk: FakeSdk) -> None:
    """Ejecting or remote-controlling the bot itself is invalid_params, as on local rooms."""
    transport, _, _ = await joined(fake_sdk)
    with pytest.raises(CommandError) as info:
        await transport.eject_remote_participants([transport.participant_id])
    assert info.value.code is ErrorCode.INVALID_PARAMS
    await transport.leave()


async def test_remote_control_of_a_known_participant_reaches_the_sdk(fake_sdk: FakeSdk) -> None:
    """update-remote-participants and eject with a participant in the room call the SDK."""
    transport, _, control = await joined(fake_sdk)
    await transport.update_remote_participants({BOB["id"]: {"permissions": {"canSend": False}}})
    await transport.eject_remote_participants([BOB["id"]])
    assert control.calls_named("eject_remote_participants")[0]["ids"] == [BOB["id"]]
    await transport.leave()


async def test_stop_dialout_non_uuid_is_not_found(fake_sdk: FakeSdk) -> None:
    """stop-dialout with an id that cannot be a Daily session id is not_found without an SDK call."""
    transport, _, control = await joined(fake_sdk)
    with pytest.raises(CommandError) as info:
        await transport.stop_dialout("nope")
    assert info.value.code is ErrorCode.NOT_FOUND
    assert not control.calls_named("stop_dialout")
    await transport.stop_dialout(str(uuid.uuid4()))
    await transport.leave()


async def test_inputs_publishing_subscriptions_answer_the_resulting_settings(fake_sdk: FakeSdk) -> None:
    """update-inputs/publishing/subscriptions answer the settings their *-updated event reported."""
    transport, listener, _ = await joined(fake_sdk)
    inputs = await transport.update_inputs({"camera": {"isEnabled": True}})
    assert inputs["camera"]["isEnabled"] is True
    publishing = await transport.update_publishing({"camera": {"isPublishing": False}})
    assert publishing["camera"]["isPublishing"] is False
    subs = await transport.update_subscriptions({BOB["id"]: {"profile": "base", "media": {"camera": "unsubscribed"}}}, None)
    assert BOB["id"] in subs
    assert listener.named("subscriptions-updated")[-1]["subscriptions"] == subs
    await transport.leave()


async def test_getters_run_off_the_loop(fake_sdk: FakeSdk) -> None:
    """participant counts, active speaker and network stats come from the SDK's getters, on another thread."""
    transport, _, control = await joined(fake_sdk)
    assert await transport.participant_counts() == {"present": 2, "hidden": 0}
    assert await transport.active_speaker() is None
    control.set_active_speaker(BOB["id"])
    await until(lambda: True)
    assert (await transport.active_speaker())["id"] == BOB["id"]
    assert (await transport.get_network_stats())["threshold"] == "good"
    getter_threads = {c.thread for c in control.calls if c.name in ("participant_counts", "get_network_stats")}
    assert getter_threads and all(t.startswith("daily-getters") for t in getter_threads)
    await transport.leave()


async def test_start_transcription_answers_the_instance_id(fake_sdk: FakeSdk) -> None:
    """start-transcription answers the instance id Daily reports in transcription-started."""
    transport, _, control = await joined(fake_sdk)
    task = asyncio.ensure_future(transport.start_transcription({"language": "en"}))
    await until(lambda: control.calls_named("start_transcription"))
    control.emit("on_transcription_started", {"instanceId": "i-1", "transcriptId": "t-1"})
    assert await task == {"instance_id": "i-1", "transcript_id": "t-1"}
    await transport.leave()


# ------------------------------------------------------------------------------ app messages


async def test_app_message_sent_while_joining_goes_out_after_join(fake_sdk: FakeSdk) -> None:
    """An app message sent before join completes is delivered once the join completed, not refused."""
    fake_sdk.script.join_delay = 0.2
    transport = make_transport(make_backend(fake_sdk), Recorder())
    join = asyncio.ensure_future(transport.join())
    await until(lambda: fake_sdk.clients, what="a CallClient")
    control = fake_sdk.clients[0].fake
    await until(lambda: control.calls_named("join"))
    await transport.send_app_message({"early": True}, None, True)
    await join
    assert control.app_messages == [({"early": True}, None)]
    await transport.leave()


async def test_app_message_to_one_participant(fake_sdk: FakeSdk) -> None:
    """send-app-message to a participant in the room passes its id to the SDK."""
    transport, _, control = await joined(fake_sdk)
    await transport.send_app_message({"to": "bob"}, BOB["id"], False)
    assert control.app_messages == [({"to": "bob"}, BOB["id"])]
    await transport.leave()


# --------------------------------------------------------------------------------------- video


async def test_capture_video_delivers_frames_on_the_loop(fake_sdk: FakeSdk) -> None:
    """capture-participant-video renders the participant's camera; frames reach on_video; stop drops them."""
    transport, listener, control = await joined(fake_sdk)
    await transport.capture_video(BOB["id"], "camera", "RGB")
    assert control.calls_named("set_video_renderer")[0]["color_format"] == "RGB"
    control.push_video(BOB["id"], b"\x07" * 4 * 2 * 3, 4, 2).wait(2)
    await until(lambda: listener.video)
    pid, source, frame = listener.video[0]
    assert (pid, source, frame.width, frame.height, frame.color_format) == (BOB["id"], "camera", 4, 2, "RGB")
    await transport.stop_video_capture(BOB["id"], "camera")
    control.push_video(BOB["id"], b"\x07" * 24, 4, 2).wait(2)
    await asyncio.sleep(0.05)
    assert len(listener.video) == 1
    assert not listener.off_loop
    await transport.leave()


async def test_capture_video_disabled_by_join(fake_sdk: FakeSdk) -> None:
    """With video_in disabled at join, nothing is subscribed and capture is wrong_state."""
    transport, _, control = await joined(fake_sdk, video_in={"enabled": False})
    await until(lambda: control.calls_named("update_subscription_profiles"))
    with pytest.raises(CommandError) as info:
        await transport.capture_video(BOB["id"], "camera", "RGB")
    assert info.value.code is ErrorCode.WRONG_STATE
    await transport.leave()


async def test_write_video_sizes_the_camera_from_the_first_frame(fake_sdk: FakeSdk) -> None:
    """Without video_out size, the first frame sizes a custom camera; a new size makes a new source."""
    transport, _, control = await joined(fake_sdk)
    transport.write_video("camera", RawVideoFrame(b"\x01" * 4 * 2 * 4, 4, 2, "RGBA", 0))
    await until(lambda: control.calls_named("update_inputs"))
    transport.write_video("camera", RawVideoFrame(b"\x01" * 8 * 2 * 4, 8, 2, "RGBA", 0))
    await until(lambda: len(control.calls_named("update_inputs")) == 2)
    first, second = control.calls_named("update_inputs")
    assert first["input_settings"]["camera"]["settings"]["customTrack"]["id"] != (
        second["input_settings"]["camera"]["settings"]["customTrack"]["id"]
    )
    assert transport.stats()["video_out_frames"] == 2
    await transport.leave()


# ---------------------------------------------------------------------------------------- dial-in


@pytest.fixture
async def rest_stub() -> Any:
    server = StubDaily()
    await server.start()
    yield server
    await server.close()


async def test_dialin_ready_posts_the_pinless_update(fake_sdk: FakeSdk, rest_stub: StubDaily) -> None:
    """On dialin-ready, the join's dial-in call is routed with Daily REST {callId, callDomain, sipUri}."""
    rest_stub.on("POST", "/v1/dialin/pinlessCallUpdate", Reply(200, {"ok": True}))
    transport, listener, control = await joined(
        fake_sdk, dialin_settings={"call_id": "cid", "call_domain": "dom"}, api_url=rest_stub.url, api_key="k-secret"
    )
    control.emit("on_dialin_ready", "sip:bot@sip.daily.example")
    await until(lambda: rest_stub.requests, what="REST request")
    (request,) = rest_stub.requests
    assert request.json == {"callId": "cid", "callDomain": "dom", "sipUri": "sip:bot@sip.daily.example"}
    assert request.headers["authorization"] == "Bearer k-secret"
    assert listener.named("dialin-ready") == [{"sip_endpoint": "sip:bot@sip.daily.example"}]
    await transport.leave()


async def test_dialin_update_failure_is_an_error_event_without_the_key(fake_sdk: FakeSdk, rest_stub: StubDaily) -> None:
    """A refused pinless update is an error event (never a crash), and the API key is in no message."""
    rest_stub.on("POST", "/v1/dialin/pinlessCallUpdate", Reply(401, {"error": "bad key"}, echo_auth=True))
    transport, listener, control = await joined(
        fake_sdk, dialin_settings={"call_id": "cid", "call_domain": "dom"}, api_url=rest_stub.url, api_key="k-secret"
    )
    control.emit("on_dialin_ready", "sip:bot@x")
    await until(lambda: listener.named("error"), what="error event")
    assert "k-secret" not in json.dumps(listener.events)
    assert listener.named("error")[0]["code"] == "backend_error"
    await transport.leave()


async def test_leave_releases_and_is_idempotent(fake_sdk: FakeSdk) -> None:
    """leave emits leaving/left, releases the client and its threads, and a second leave is a no-op."""
    transport, listener, control = await joined(fake_sdk)
    await transport.leave()
    await transport.leave()
    assert control.released and not any(t.is_alive() for t in control.threads)
    assert listener.named("call-state-updated")[-2:] == [{"state": "leaving"}, {"state": "left"}]
    assert len(control.calls_named("leave")) == 1


async def test_participants_get_the_protocols_joined_at(fake_sdk: FakeSdk) -> None:
    """Daily's epoch joinedAt becomes the protocol's ISO 8601 time, in join data and in events alike."""
    transport, listener, control = await joined(fake_sdk)
    assert isinstance(transport.participants()[BOB["id"]]["info"]["joinedAt"], str)
    carol = control.add_participant(user_name="carol")
    await until(lambda: listener.named("participant-joined"))
    joined_at = listener.named("participant-joined")[0]["participant"]["info"]["joinedAt"]
    assert joined_at.startswith(time.strftime("%Y-", time.gmtime())) and joined_at.endswith("+00:00")
    assert carol["info"]["joinedAt"] == int(carol["info"]["joinedAt"])  # the fake's own copy is untouched
    await transport.leave()


@pytest.mark.parametrize("change", [{"state": "off"}, {"subscribed": "unsubscribed"}])
async def test_muted_or_unsubscribed_microphone_ends_the_track(fake_sdk: FakeSdk, change: dict[str, str]) -> None:
    """A participant update showing the microphone off (muted) or unsubscribed ends that track; audio restarts it."""
    transport, listener, control = await joined(fake_sdk)
    control.wait_for_renderer(BOB["id"])
    control.push_audio(BOB["id"], b"\x01\x00" * 320, 16000, speed=4.0)
    await until(lambda: listener.audio)
    update = json.loads(json.dumps(BOB))
    update["media"]["microphone"].update(change)
    control.emit("on_participant_updated", update)
    await until(lambda: listener.ended)
    assert listener.ended == [(BOB["id"], "microphone")]
    control.emit("on_participant_updated", update)  # no second end for a track already ended
    control.drain()
    await asyncio.sleep(0.05)
    assert len(listener.ended) == 1
    await transport.leave()


async def test_sdk_is_initialized_on_the_first_join_only(fake_sdk: FakeSdk) -> None:
    """Making the backend starts nothing: Daily.init runs at the first join, once, however many join."""
    backend = make_backend(fake_sdk)
    assert not fake_sdk.initialized and not fake_sdk.init_calls
    first, second = make_transport(backend, Recorder()), make_transport(backend, Recorder())
    await first.join()
    await second.join()
    assert len(fake_sdk.init_calls) == 1
    rooms = backend.rooms()
    assert [r["room_url"] for r in rooms] == [ROOM] and rooms[0]["backend"] == "daily"
    assert {first.participant_id, second.participant_id} <= set(rooms[0]["participants"])
    await first.leave()
    await second.leave()
    assert backend.rooms() == []
    await backend.close()


async def test_room_events_are_bounded_when_the_loop_stalls(fake_sdk: FakeSdk, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the loop stalls under a flood of events, new events beyond the bound are dropped, counted and
    reported as one error event; completions are never dropped, and order is kept."""
    from gateway.backends.daily import media_threads as media

    monkeypatch.setattr(media, "EVENT_INBOX_ITEMS", 20)
    transport, listener, control = await joined(fake_sdk)
    monkeypatch.setattr(transport._inbox, "_max", 20)
    control.drain()  # the join's own late events (the local participant's update) are delivered first,
    await asyncio.sleep(0.05)  # so that every event counted below is one of the flood
    listener.events.clear()
    future = asyncio.ensure_future(transport.stop_recording(None))
    await asyncio.sleep(0)  # the request is sent; its completion will wait in the inbox
    for i in range(100):
        control.emit("on_app_message", {"n": i}, BOB["id"])
    control.drain()  # the loop did not run meanwhile: everything is waiting in the inbox
    await future  # the completion got through although 80 events did not
    await until(lambda: listener.named("error"))
    numbers = [d["message"]["n"] for d in listener.named("app-message")]
    assert numbers == sorted(numbers) and len(numbers) < 100
    assert listener.named("error")[0]["details"]["dropped_events"] == 100 - len(numbers)
    await transport.leave()


async def test_stats_have_the_documented_counters(fake_sdk: FakeSdk) -> None:
    """stats() (get-stats.backend_stats) has the counters PROTOCOL.md lists, JSON-ready."""
    transport, _, _ = await joined(fake_sdk)
    stats = json.loads(json.dumps(transport.stats()))
    assert {"audio_in_chunks", "audio_in_dropped", "audio_out_chunks", "audio_out_dropped", "video_in_replaced",
            "video_out_frames", "call_state"} <= set(stats)  # fmt: skip
    assert stats["call_state"] == "joined"
    await transport.leave()


def test_audio_writer_coalesces_a_backlog_into_one_write() -> None:
    """Chunks queued while write_frames blocks go out in one write, in order: the writer catches up, never lags."""
    import threading

    from gateway.backends.daily.media_threads import AudioWriter

    release = threading.Event()
    writes: list[bytes] = []

    class BlockingSource:
        def write_frames(self, frames: bytes) -> int:
            writes.append(frames)
            if len(writes) == 1:
                release.wait(5)  # the first write "plays" until the test has queued a backlog
            return len(frames) // 2

    writer = AudioWriter(BlockingSource(), name="coalesce-probe")
    try:
        writer.put(b"\x00\x00" * 4)
        for _ in range(500):  # bounded: until the thread is inside the first write
            if writes:
                break
            threading.Event().wait(0.01)
        for n in range(1, 6):
            writer.put(bytes([n, 0]) * 4)
        release.set()
        for _ in range(500):
            if writer.written == 6:
                break
            threading.Event().wait(0.01)
        assert writer.written == 6 and writer.writes == 2 and writer.dropped == 0
        assert writes[1] == b"".join(bytes([n, 0]) * 4 for n in range(1, 6))
    finally:
        writer.close()
        writer.join(5)
