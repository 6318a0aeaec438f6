"""Daily rooms end to end: audio and video both ways between a WebSocket client and the fake SDK's callbacks and sources."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from gateway_client import GatewayError

from gateway.media.colors import convert_frame
from tests.audio import best_correlation, demo_speech, silence
from tests.fakes.daily_remote import daily_fixtures, nested_in

daily_gateway, daily = daily_fixtures()

RATE = 16000


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples))) if len(samples) else 0.0


async def test_participant_audio_reaches_the_client_with_speech_events(daily):
    """A participant's audio from daily-python's renderer thread reaches the client in its audio_in format (content intact), with track-started, speech events and no hand-over drop."""
    client, fake, alice = await daily.join_with(
        "alice", audio_in={"sample_rate": 24000, "channels": 1, "frame_ms": 20}, vad={"analyzer": "webrtc"}
    )
    await fake.wait_for_renderer(alice)
    speech = demo_speech(RATE, seconds=2.0)
    push = await fake.push_audio(alice, speech + silence(RATE, 1.0), RATE)
    recorded = await client.record(3.5, participant_id=alice)
    await daily.remote.wait_push(push)
    started = await client.wait_for("track-started", lambda d: d["participant_id"] == alice)
    assert (started.data["kind"], started.data["source"]) == ("audio", "microphone")
    assert (started.data["sample_rate"], started.data["channels"], started.data["frame_ms"]) == (24000, 1, 20)
    peak, _ = best_correlation(speech, RATE, recorded, 24000)
    assert peak > 0.9, f"the participant's speech did not survive the trip (correlation {peak:.2f})"
    track = started.data["track"]
    await client.wait_for("speech-started", lambda d: d["track"] == track)
    await client.wait_for("speech-stopped", lambda d: d["track"] == track)
    handed = (await client.stats())["backend_stats"]
    assert handed["audio_in_chunks"] > 0 and handed["audio_in_dropped"] == 0, handed


async def test_participant_leaving_stops_its_track(daily):
    """When Daily says a participant left, its audio track stops (track-stopped) before participant-left."""
    client, fake, alice = await daily.join_with("alice")
    await fake.wait_for_renderer(alice)
    await daily.remote.wait_push(await fake.push_audio(alice, demo_speech(RATE, seconds=0.3), RATE, speed=2.0))
    await client.wait_for("track-started", lambda d: d["participant_id"] == alice)
    await fake.remove_participant(alice)
    await client.wait_for("track-stopped", lambda d: d["participant_id"] == alice)
    await client.wait_for("participant-left", lambda d: d["participant"]["id"] == alice)
    names = [e.event for e in client.event_log]
    assert names.index("track-stopped") < names.index("participant-left")


async def test_audio_in_disabled_sends_no_audio(daily):
    """With audio_in.enabled false the client gets no participant audio frames nor audio tracks."""
    client, fake, alice = await daily.join_with("alice", audio_in={"enabled": False})
    await asyncio.sleep(0.5)
    if [alice, "microphone"] in (await fake.renderers())["audio"]:
        await daily.remote.wait_push(await fake.push_audio(alice, demo_speech(RATE, seconds=0.5), RATE))
    await asyncio.sleep(0.3)
    assert not client.drain_audio()
    assert not [e for e in client.event_log if e.event == "track-started"]


async def test_audio_in_filter_is_applied_to_daily_audio(daily):
    """audio_in.filter noisereduce lowers steady noise in a Daily participant's audio; krisp is refused with not_supported."""
    pytest.importorskip("noisereduce")
    client, fake, alice = await daily.join_with(
        "alice", audio_in={"sample_rate": RATE, "filter": {"type": "noisereduce"}}
    )
    await fake.wait_for_renderer(alice)
    rng = np.random.default_rng(7)
    noise = (rng.normal(0, 1500, RATE * 3)).astype(np.int16).tobytes()
    push = await fake.push_audio(alice, noise, RATE, speed=2.0)
    recorded = await client.record(2.5, participant_id=alice)
    await daily.remote.wait_push(push)
    tail = recorded[len(recorded) // 2 :]
    assert len(tail) > RATE, "too little audio arrived"
    assert rms(tail) < rms(noise) / 2, f"noise not reduced: {rms(tail):.0f} vs {rms(noise):.0f}"

    other = await daily.connect()
    with pytest.raises(GatewayError) as error:
        await daily.join(other, audio_in={"filter": {"type": "krisp"}})
    assert error.value.code == "not_supported"


async def test_native_vad_analyzer_runs_on_daily_audio(daily):
    """vad.analyzer native uses daily-python's native VAD (made through the SDK) and reports speech on a Daily participant's track."""
    client, fake, alice = await daily.join_with("alice", vad={"analyzer": "native"})
    await fake.wait_for_renderer(alice)
    loud = (np.frombuffer(demo_speech(RATE, seconds=1.5), dtype=np.int16) * 2).astype(np.int16).tobytes()
    push = await fake.push_audio(alice, loud + silence(RATE, 1.0), RATE)
    started = await client.wait_for("speech-started", lambda d: d["participant_id"] == alice, timeout=10)
    await client.wait_for("speech-stopped", lambda d: d["track"] == started.data["track"], timeout=10)
    await daily.remote.wait_push(push)
    assert (await daily.remote.call("sdk"))["vads"] >= 1, "no native VAD was created through daily-python"


async def test_client_audio_plays_into_the_custom_track_at_real_time(daily):
    """Audio the client sends on track 1 reaches the call's custom audio source intact, paced at real time (not dumped at once), none dropped."""
    client = await daily.connect()
    _, fake = await daily.join(client, audio_out={"sample_rate": RATE, "channels": 1})
    speech = demo_speech(RATE, seconds=2.0)
    await client.send_audio(speech)
    await asyncio.sleep(0.6)
    early, rate, _ = await fake.audio_out()
    assert rate is not None, "no custom audio source was attached to the call"
    bytes_per_s = rate * 2
    assert len(early) < 1.6 * bytes_per_s, "the whole buffer was written at once: not paced"
    for _ in range(100):
        written, rate, _ = await fake.audio_out()
        if len(written) >= 2.0 * bytes_per_s:
            break
        await asyncio.sleep(0.05)
    peak, _ = best_correlation(speech, RATE, written, rate)
    assert peak > 0.95, f"published audio arrived altered (correlation {peak:.2f})"
    handed = (await client.stats())["backend_stats"]
    assert handed["audio_out_chunks"] > 0 and handed["audio_out_dropped"] == 0, handed


@pytest.mark.parametrize("framerate", [0, 30])
async def test_video_capture_at_a_framerate_and_on_request(daily, framerate):
    """capture-participant-video sets daily-python's video renderer; frames come in the asked color format, at framerate or on request-video-frame."""
    client, fake, alice = await daily.join_with("alice")
    reply = await client.request(
        "capture-participant-video",
        {"participant_id": alice, "framerate": framerate, "video_source": "screenVideo", "color_format": "RGB"},
    )
    started = await client.wait_for("track-started", lambda d: d["kind"] == "video")
    assert started.data["track"] == reply["track"] and started.data["source"] == "screenVideo"
    renderer = await fake.wait_for_video_renderer(alice, "screenVideo")
    width, height = 32, 24
    rgb = bytes([10, 200, 30]) * (width * height)
    frame = convert_frame(rgb, width, height, "RGB", renderer["color_format"])
    await daily.remote.wait_push(await fake.push_video(alice, frame, width, height, video_source="screenVideo"))
    if framerate == 0:
        await asyncio.sleep(0.3)
        assert not client.drain_video(), "framerate 0 must send frames only on request"
        await client.request("request-video-frame", {"participant_id": alice, "video_source": "screenVideo"})
    got = await client.next_video(timeout=5)
    assert (got.participant_id, got.source, got.width, got.height, got.color_format) == (
        alice, "screenVideo", width, height, "RGB"
    )  # fmt: skip
    assert got.pixels == rgb
    await client.request("stop-capture-participant-video", {"participant_id": alice, "video_source": "screenVideo"})
    await client.wait_for("track-stopped", lambda d: d["track"] == reply["track"])


async def test_published_video_reaches_the_custom_video_source(daily):
    """With video_out enabled, frames sent on track 2 reach a custom video source of video_out's size and format; its bitrate and framerate reach the SDK."""
    client = await daily.connect()
    width, height = 64, 48
    video_out = {
        "enabled": True, "is_live": True, "width": width, "height": height,
        "framerate": 15, "bitrate": 250000, "color_format": "RGB",
    }  # fmt: skip
    _, fake = await daily.join(client, video_out=video_out)
    rgb = bytes([200, 100, 50]) * (width * height)
    for _ in range(3):
        await client.send_video(rgb, width, height, "RGB")
        await asyncio.sleep(0.1)
    sources: list = []
    for _ in range(100):
        sources = [s for s in await fake.video_out() if s["frames"]]
        if sources:
            break
        await asyncio.sleep(0.05)
    assert len(sources) == 1, f"expected one custom video source with frames, got {sources}"
    source = sources[0]
    assert (source["width"], source["height"]) == (width, height)
    assert source["frames"][-1] == convert_frame(rgb, width, height, "RGB", source["color_format"])
    arguments = await fake.all_arguments()
    assert nested_in(arguments, 250000), "video_out.bitrate reached no SDK call"
    assert nested_in(arguments, 15), "video_out.framerate reached no SDK call"


async def test_clear_audio_stops_publishing_into_daily_at_once(daily):
    """clear-audio (barge-in) on a Daily call: what was not yet written to the custom audio source is dropped; a mark placed after it comes back cleared."""
    client = await daily.connect()
    _, fake = await daily.join(client, audio_out={"sample_rate": RATE})
    await client.send_audio(demo_speech(RATE, seconds=3.0))
    await client.mark_audio("end")
    await asyncio.sleep(0.5)
    cleared = await client.clear_audio()
    assert cleared["dropped_ms"] > 1500 and cleared["cleared_marks"] == ["end"]
    mark = await client.wait_for("playout-mark")
    assert mark.data["status"] == "cleared"
    await asyncio.sleep(0.2)
    _, rate, at_clear = await fake.audio_out()
    await asyncio.sleep(1.0)
    _, _, later = await fake.audio_out()
    assert rate is not None and later - at_clear < 0.15 * rate * 2, "audio kept flowing into Daily after clear-audio"
    assert later < 1.5 * rate * 2


async def test_video_in_disabled_refuses_captures(daily):
    """With video_in.enabled false, capture-participant-video answers wrong_state and no video renderer is set."""
    client, fake, alice = await daily.join_with("alice", video_in={"enabled": False})
    with pytest.raises(GatewayError) as error:
        await client.request("capture-participant-video", {"participant_id": alice})
    assert error.value.code == "wrong_state"
    assert not (await fake.renderers())["video"]


async def test_screen_audio_is_its_own_track_and_muting_stops_a_track(daily):
    """A participant's screenAudio, once Daily says it is on, is a second track of its own; when the microphone goes off its track stops."""
    client, fake, alice = await daily.join_with("alice")
    doc = (await client.participants())[alice]
    on = {"state": "playable", "subscribed": "subscribed", "offReasons": []}
    await fake.emit("on_participant_updated", {**doc, "media": {**doc["media"], "screenAudio": on}})
    await fake.wait_for_renderer(alice, "screenAudio")
    await fake.wait_for_renderer(alice)
    speech = demo_speech(RATE, seconds=1.0)
    await daily.remote.wait_push(await fake.push_audio(alice, speech, RATE, audio_source="screenAudio", speed=2.0))
    await daily.remote.wait_push(await fake.push_audio(alice, speech, RATE, speed=2.0))
    screen = await client.wait_for("track-started", lambda d: d["source"] == "screenAudio")
    mic = await client.wait_for("track-started", lambda d: d["source"] == "microphone")
    assert screen.data["participant_id"] == mic.data["participant_id"] == alice
    assert screen.data["track"] != mic.data["track"]
    off = {"state": "off", "subscribed": "subscribed", "offReasons": ["user"]}
    await fake.emit("on_participant_updated", {**doc, "media": {**doc["media"], "screenAudio": on, "microphone": off}})
    stopped = await client.wait_for("track-stopped", lambda d: d["participant_id"] == alice)
    assert stopped.data["track"] == mic.data["track"]
