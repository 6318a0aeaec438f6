"""DailyTransport paths that failed against the real daily-python while the lenient fake let them pass.

Each test runs on the fake, now as strict as daily-python 0.36 offline (tests/unit/test_daily_differential.py
checks that), and each one failed before the backend was fixed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from gateway.backends.base import AudioFormat, RawVideoFrame
from gateway.backends.daily import SDK_SERVER_TIMEOUT, shapes
from gateway.backends.daily.media_threads import AudioWriter, CallbackInbox
from protocol.errors import CommandError, ErrorCode
from tests.fakes.daily import FakeSdk, make_participant
from tests.unit.test_daily_transport_fixtures import (  # noqa: F401  (fake_sdk is a fixture)
    Recorder,
    fake_sdk,
    make_backend,
    make_transport,
    until,
)

BOB = make_participant(user_name="bob", camera=True)


async def joined(sdk: FakeSdk, *, backend: Any = None, **kwargs: Any) -> tuple[Any, Recorder, Any]:
    """A joined transport with ``BOB`` in the room, its listener and the fake client's control."""
    sdk.script.remote_participants = [BOB]
    listener = Recorder()
    transport = make_transport(backend or make_backend(sdk), listener, **kwargs)
    await transport.join()
    return transport, listener, sdk.clients[-1].fake


# ------------------------------------------------------------------ permissions in Daily's shapes


async def test_boolean_can_send_and_can_admin_reach_daily_as_lists(fake_sdk: FakeSdk) -> None:
    """canSend / canAdmin true or false (the protocol allows them) go to daily-python as the lists it requires."""
    transport, _, control = await joined(fake_sdk)
    await transport.update_remote_participants({BOB["id"]: {"permissions": {"canSend": True, "canAdmin": False}}})
    (call,) = control.calls_named("update_remote_participants")
    sent = call["remote_participants"][BOB["id"]]["permissions"]
    assert sent == {"canSend": list(shapes.MEDIA), "canAdmin": []}
    await transport.leave()


async def test_can_receive_base_is_completed_for_daily(fake_sdk: FakeSdk) -> None:
    """A canReceive base naming some media is completed (the rest allowed), as daily-python requires all six."""
    transport, _, control = await joined(fake_sdk)
    update = {"canReceive": {"base": {"microphone": False, "customVideo": False}}}
    await transport.update_remote_participants({BOB["id"]: {"permissions": update}})
    base = control.calls_named("update_remote_participants")[0]["remote_participants"][BOB["id"]]["permissions"][
        "canReceive"
    ]["base"]
    assert base == {"microphone": False, "customVideo": {"*": False}, "camera": True, "screenVideo": True,
                    "screenAudio": True, "customAudio": {"*": True}}  # fmt: skip
    await transport.leave()


async def test_daily_argument_refusals_are_invalid_params(fake_sdk: FakeSdk) -> None:
    """What daily-python's own checks refuse (a shape the mapping cannot fix) is invalid_params, not backend_error."""
    transport, _, _ = await joined(fake_sdk)
    with pytest.raises(CommandError) as info:
        await transport.update_remote_participants({BOB["id"]: {"permissions": {"canSend": ["audio"]}}})
    assert info.value.code is ErrorCode.INVALID_PARAMS
    assert "expected one of" in info.value.details["daily_error"]
    await transport.leave()


# ------------------------------------------------------------------ subscriptions and profiles


async def test_profile_settings_in_daily_shape_are_accepted(fake_sdk: FakeSdk) -> None:
    """update-subscriptions' profile_settings {profile: {media}} reaches daily-python, which accepts it."""
    transport, _, control = await joined(fake_sdk)
    await transport.update_subscriptions(None, {"base": {"media": {"camera": "unsubscribed"}}})
    assert control.calls_named("update_subscriptions")[-1]["profile_settings"] == {
        "base": {"media": {"camera": "unsubscribed"}}
    }
    await transport.leave()


async def test_update_subscription_profiles_answers_every_profile(fake_sdk: FakeSdk) -> None:
    """update-subscription-profiles calls daily-python's update_subscription_profiles and answers its profiles."""
    transport, _, _ = await joined(fake_sdk)
    profiles = await transport.update_subscription_profiles({"listeners": {"camera": "unsubscribed"}})
    assert profiles["listeners"]["camera"]["subscriptionState"] == "unsubscribed"
    assert profiles["base"]["microphone"]["subscriptionState"] == "subscribed"
    await transport.leave()


async def test_updates_that_change_nothing_answer_the_settings(fake_sdk: FakeSdk) -> None:
    """update-inputs / update-publishing that change nothing (no event from daily-python) still answer the settings."""
    transport, _, _ = await joined(fake_sdk)
    inputs = await transport.update_inputs({"camera": {"isEnabled": False}})  # already off: no inputs-updated
    assert inputs["camera"]["isEnabled"] is False and "microphone" in inputs
    publishing = await transport.update_publishing({"microphone": {"isPublishing": True}})
    assert publishing["microphone"]["isPublishing"] is True and "camera" in publishing
    await transport.leave()


# ------------------------------------------------------------------ video: subscribed only while captured


async def test_video_is_unsubscribed_at_join_and_subscribed_per_capture(fake_sdk: FakeSdk) -> None:
    """Camera and screen are unsubscribed at join (video_in on); a capture subscribes its source, stopping it unsubscribes."""
    transport, _, control = await joined(fake_sdk)
    await until(lambda: control.calls_named("update_subscription_profiles"))
    assert control.calls_named("update_subscription_profiles")[0]["profile_settings"] == {
        "base": {"camera": "unsubscribed", "screenVideo": "unsubscribed"}
    }
    await transport.capture_video(BOB["id"], "camera", "RGB")
    names = [c.name for c in control.calls]
    assert names.index("update_subscriptions") < names.index("set_video_renderer")
    assert control.calls_named("update_subscriptions")[-1]["participant_settings"] == {
        BOB["id"]: {"media": {"camera": "subscribed"}}
    }
    await transport.stop_video_capture(BOB["id"], "camera")
    await until(lambda: len(control.calls_named("update_subscriptions")) == 2)
    assert control.calls_named("update_subscriptions")[-1]["participant_settings"] == {
        BOB["id"]: {"media": {"camera": "unsubscribed"}}
    }
    await transport.leave()


async def test_capture_after_the_client_unsubscribed_still_gets_frames(fake_sdk: FakeSdk) -> None:
    """A client that unsubscribed a camera and then captures it gets frames: the capture subscribes it again."""
    transport, listener, control = await joined(fake_sdk)
    await transport.update_subscriptions({BOB["id"]: {"media": {"camera": "unsubscribed"}}}, None)
    await transport.capture_video(BOB["id"], "camera", "RGB")
    assert control.client.subscriptions()[BOB["id"]]["media"]["camera"]["subscriptionState"] == "subscribed"
    control.push_video(BOB["id"], b"\x05" * 4 * 2 * 3, 4, 2).wait(2)
    await until(lambda: listener.video, what="a frame")
    await transport.leave()


# ------------------------------------------------------------------ published screen is a screen share


async def test_published_screen_is_a_screen_share(fake_sdk: FakeSdk) -> None:
    """Frames on the screenVideo track publish Daily's screenVideo (inputs + publishing), not a custom track."""
    transport, _, control = await joined(fake_sdk)
    transport.write_video("screenVideo", RawVideoFrame(b"\x01" * 4 * 2 * 3, 4, 2, "RGB", 0))
    await until(lambda: control.calls_named("update_publishing"), what="screenVideo published")
    inputs = control.calls_named("update_inputs")[-1]["input_settings"]
    assert inputs["screenVideo"]["isEnabled"] is True and inputs["screenVideo"]["settings"]["customTrack"]["id"]
    assert control.calls_named("update_publishing")[-1]["publishing_settings"] == {
        "screenVideo": {"isPublishing": True}
    }
    assert not control.calls_named("add_custom_video_track")
    await until(lambda: control.client.inputs()["screenVideo"]["isEnabled"], what="screen input on")
    await transport.leave()


# ------------------------------------------------------------------ join data wins


async def test_join_data_wins_over_an_earlier_local_update(fake_sdk: FakeSdk) -> None:
    """set_user_name's participant-updated (before the join) cannot override the join's owner flag."""
    fake_sdk.script.local_info = {"isOwner": True}
    transport, listener, _ = await joined(fake_sdk)
    assert [d["participant"]["info"]["isOwner"] for d in listener.named("participant-updated")] == [False]
    assert transport.participants()[transport.participant_id]["info"]["isOwner"] is True
    await transport.leave()


# ------------------------------------------------------------------ timeouts


@pytest.mark.slow
async def test_server_requests_wait_longer_than_the_sdk(fake_sdk: FakeSdk) -> None:
    """start-dialout and start-transcription wait past daily-python's own 20 s: a slow success is not a timeout."""
    backend = make_backend(fake_sdk, command_timeout=0.2)
    assert backend.timeout_for("start_dialout") > SDK_SERVER_TIMEOUT
    assert backend.timeout_for("start_transcription") > SDK_SERVER_TIMEOUT
    assert backend.timeout_for("update_inputs") == 0.2
    transport, _, control = await joined(fake_sdk, backend=backend)
    control.script.delays.update(start_dialout=0.5, start_transcription=0.5, update_inputs=0.5)
    assert (await transport.start_dialout({"phoneNumber": "+15550100"}))["session_id"]
    await transport.start_transcription(None)
    with pytest.raises(CommandError) as info:
        await transport.update_inputs({"camera": {"isEnabled": True}})
    assert info.value.code is ErrorCode.TIMEOUT
    await transport.leave()


async def test_a_request_the_release_dropped_answers_at_once(fake_sdk: FakeSdk) -> None:
    """A request still queued when the client is released (its completion will never come) answers not_joined at once."""
    backend = make_backend(fake_sdk, command_timeout=10.0)
    transport, listener, control = await joined(fake_sdk, backend=backend)
    control.script.delays["stop_recording"] = 0.5
    first = asyncio.ensure_future(transport.stop_recording(None))  # in progress in the SDK
    queued = asyncio.ensure_future(transport.update_recording({"layout": {"preset": "default"}}, None))
    await until(lambda: control.calls_named("update_recording"))
    started = time.monotonic()
    control.emit("on_call_state_updated", "left")  # removed from the call: released at once
    with pytest.raises(CommandError) as info:
        await queued
    assert info.value.code is ErrorCode.NOT_JOINED
    assert time.monotonic() - started < 3.0, "waited for a timeout instead"
    await asyncio.gather(first, return_exceptions=True)
    await until(lambda: listener.left)


def test_a_closed_inbox_refuses_so_completions_go_straight_to_the_loop() -> None:
    """CallbackInbox.put says False once closed, so a late completion is posted to the loop instead of lost."""
    loop = asyncio.new_event_loop()
    try:
        inbox = CallbackInbox(loop)
        assert inbox.put(print, (), droppable=False) is True
        inbox.close()
        assert inbox.put(print, (), droppable=False) is False
    finally:
        loop.close()


@pytest.mark.slow
async def test_a_release_stuck_behind_a_join_never_delays_getters(fake_sdk: FakeSdk) -> None:
    """Releases waiting behind pending joins (9 abandoned joins whose leave timed out) leave the getters of
    another session answering at once."""
    backend = make_backend(fake_sdk, command_timeout=0.3)
    transport, _, _ = await joined(fake_sdk, backend=backend)
    fake_sdk.script.join_delay = 2.5
    for _ in range(9):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(make_transport(backend, Recorder()).join(), 0.05)
    await asyncio.sleep(0.6)  # each leave timed out (0.3 s): their releases now wait for the pending joins
    started = time.monotonic()
    assert (await transport.participant_counts())["present"] >= 1  # within command_timeout, or TIMEOUT
    assert time.monotonic() - started < 0.3
    await transport.leave()
    await backend.close()


# ------------------------------------------------------------------ audio out


async def test_audio_out_rates_daily_cannot_play_are_refused(fake_sdk: FakeSdk) -> None:
    """audio_out at 22050 Hz (not whole 10 ms blocks) is unsupported_format at join, before any SDK object exists."""
    transport = make_transport(make_backend(fake_sdk), Recorder(), audio_out=AudioFormat(22050))
    with pytest.raises(CommandError) as info:
        await transport.join()
    assert info.value.code is ErrorCode.UNSUPPORTED_FORMAT
    assert info.value.details["field"] == "audio_out.sample_rate"
    assert not fake_sdk.clients


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 44100, 48000])
async def test_audio_out_is_written_in_whole_10ms_blocks(fake_sdk: FakeSdk, rate: int) -> None:
    """Published audio reaches write_frames in whole 10 ms blocks only (daily-python rounds writes up), nothing lost."""
    transport, _, _ = await joined(fake_sdk, audio_out=AudioFormat(rate))
    block = rate // 100
    chunk = b"\x01\x00" * (block * 2 + block // 3)  # 23.3 ms: not whole blocks
    for _ in range(6):
        transport.write_audio(chunk)
        await asyncio.sleep(0.035)  # one write each (a backlog would be coalesced)
    (source,) = fake_sdk.audio_sources
    await until(lambda: len(source.fake.written) >= len(chunk) * 6 - 2 * block, what="audio written")
    assert all(count % block == 0 for count in source.fake.writes), source.fake.writes
    await transport.leave()


def test_audio_writer_carries_the_partial_block() -> None:
    """AudioWriter writes whole blocks and keeps the rest for the next chunk, in order."""
    writes: list[bytes] = []

    class Source:
        def write_frames(self, frames: bytes) -> int:
            writes.append(frames)
            return len(frames) // 2

    writer = AudioWriter(Source(), name="block-probe", block_bytes=4)
    try:
        for piece in (b"abcdef", b"ghijkl", b"mn"):
            writer.put(piece)
            for _ in range(200):
                if writer.written and not writer.queued:
                    break
                time.sleep(0.005)
        time.sleep(0.05)
        assert b"".join(writes) == b"abcdefghijklmn"[:12] and all(len(w) % 4 == 0 for w in writes)
    finally:
        writer.close()
        writer.join(5)


async def test_auto_silence_is_passed_to_the_custom_audio_source(fake_sdk: FakeSdk) -> None:
    """join.audio_out.auto_silence false makes the custom audio source without daily-python's automatic silence."""
    transport, _, _ = await joined(fake_sdk, join_params={"audio_out": {"auto_silence": False}})
    assert [s.fake.auto_silence for s in fake_sdk.audio_sources] == [False]
    await transport.leave()


# ------------------------------------------------------------------ transcription


@pytest.mark.slow
async def test_transcription_starts_with_pipecats_defaults_under_the_clients_settings(fake_sdk: FakeSdk) -> None:
    """start-transcription sends includeRawResponse, interim results and a model unless the client says otherwise."""
    transport, _, control = await joined(fake_sdk)
    await transport.start_transcription(None)
    await transport.start_transcription({"language": "fr", "extra": {"diarize": True}})
    default, own = (c["settings"] for c in control.calls_named("start_transcription"))
    assert default == shapes.TRANSCRIPTION_DEFAULTS
    assert default["includeRawResponse"] is True and default["extra"]["interim_results"] is True
    assert own["language"] == "fr" and own["extra"] == {"interim_results": True, "diarize": True}
    await transport.leave()


async def test_the_instance_id_is_taken_from_this_bots_own_start(fake_sdk: FakeSdk) -> None:
    """Someone else's transcription-started is not the answer: the one this participant started (startedBy) is."""
    transport, _, control = await joined(fake_sdk)
    task = asyncio.ensure_future(transport.start_transcription(None))
    await until(lambda: control.calls_named("start_transcription"))
    control.emit("on_transcription_started", {"instanceId": "theirs", "startedBy": BOB["id"]})
    control.emit("on_transcription_started", {"instanceId": "ours", "startedBy": transport.participant_id})
    assert (await task)["instance_id"] == "ours"
    await transport.leave()


@pytest.mark.slow
async def test_leaving_stops_the_transcription_the_bot_started(fake_sdk: FakeSdk) -> None:
    """A bot that started a transcription stops it when it leaves (before leaving); one that did not, does not."""
    transport, _, control = await joined(fake_sdk)
    await transport.start_transcription(None)
    await transport.leave()
    names = [c.name for c in control.calls]
    assert names.index("stop_transcription") < names.index("leave")
    other, _, control = await joined(fake_sdk)
    await other.leave()
    assert not control.calls_named("stop_transcription")


# ------------------------------------------------------------------ app messages, video formats


async def test_null_app_message_is_invalid_params(fake_sdk: FakeSdk) -> None:
    """send-app-message null is invalid_params (daily-python raises for it), not backend_error."""
    transport, _, control = await joined(fake_sdk)
    with pytest.raises(CommandError) as info:
        await transport.send_app_message(None, None, False)
    assert info.value.code is ErrorCode.INVALID_PARAMS
    assert not control.calls_named("send_app_message")
    await transport.leave()


async def test_video_out_in_a_format_daily_cannot_publish_is_refused(fake_sdk: FakeSdk) -> None:
    """video_out.color_format BGR is unsupported_format at join, not a camera silently missing."""
    video_out = {"enabled": True, "width": 64, "height": 48, "color_format": "BGR"}
    transport = make_transport(make_backend(fake_sdk), Recorder(), video_out=video_out)
    with pytest.raises(CommandError) as info:
        await transport.join()
    assert info.value.code is ErrorCode.UNSUPPORTED_FORMAT
    assert not fake_sdk.clients


# ------------------------------------------------------------------ camera send settings


async def test_camera_send_settings_pass_through_unchanged(fake_sdk: FakeSdk) -> None:
    """video_out.send_settings reach Daily as given (plus codec); without them Daily keeps its adaptive layers."""
    send = {"maxQuality": "medium", "encodings": {"medium": {"maxBitrate": 500000, "maxFramerate": 24}}}
    video_out = {
        "enabled": True,
        "width": 64,
        "height": 48,
        "color_format": "RGB",
        "send_settings": send,
        "codec": "H264",
    }
    transport, _, control = await joined(fake_sdk, video_out=video_out)
    camera = control.calls_named("join")[0]["client_settings"]["publishing"]["camera"]
    assert camera["sendSettings"] == {**send, "preferredCodec": "H264"}
    await transport.leave()
    plain_video = {"enabled": True, "width": 64, "height": 48, "color_format": "RGB", "framerate": 30}
    transport, _, control = await joined(fake_sdk, video_out=plain_video)
    camera = control.calls_named("join")[0]["client_settings"]["publishing"]["camera"]
    assert camera == {"isPublishing": True}, json.dumps(camera)
    await transport.leave()


# ------------------------------------------------------------------ the room's mix (virtual speaker)


async def test_mixed_audio_is_one_track_from_the_virtual_speaker(fake_sdk: FakeSdk) -> None:
    """join.audio_in.mixed: a virtual speaker at audio_in's format, selected, read into one track ("*", mixed); no renderers."""
    transport, listener, control = await joined(
        fake_sdk, audio_in=AudioFormat(16000), join_params={"audio_in": {"mixed": True}}
    )
    assert not control.calls_named("set_audio_renderer")
    name = fake_sdk.selected_speaker
    assert name is not None
    device = fake_sdk.devices[name]
    assert (device.sample_rate, device.channels) == (16000, 1)
    pcm = bytes(range(256)) * 25  # 200 ms
    device.fake.to_read += pcm
    await until(lambda: sum(len(a[2]) for a in listener.audio) >= len(pcm), what="the mix")
    assert {(a[0], a[1], a[3]) for a in listener.audio} == {("*", "mixed", 16000)}
    assert b"".join(a[2] for a in listener.audio) == pcm
    await transport.leave()


async def test_mixed_audio_needs_the_process_to_itself(fake_sdk: FakeSdk) -> None:
    """With a mixed-audio session no other Daily session joins, and mixed is refused beside another (limit_reached)."""
    backend = make_backend(fake_sdk)
    mixed, _, _ = await joined(fake_sdk, backend=backend, join_params={"audio_in": {"mixed": True}})
    with pytest.raises(CommandError) as info:
        await make_transport(backend, Recorder()).join()
    assert info.value.code is ErrorCode.LIMIT_REACHED
    await mixed.leave()
    plain, _, _ = await joined(fake_sdk, backend=backend)
    with pytest.raises(CommandError) as info:
        await make_transport(backend, Recorder(), join_params={"audio_in": {"mixed": True}}).join()
    assert info.value.code is ErrorCode.LIMIT_REACHED and info.value.details["field"] == "audio_in.mixed"
    await plain.leave()
    await backend.close()
