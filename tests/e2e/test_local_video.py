"""Local-room video end to end: publish raw frames, capture them converted, rate limits, requests, errors."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from gateway.media.colors import convert_frame
from protocol.constants import ColorFormat
from protocol.media import encode_video
from protocol.schema import validate_server_message

W, H = 64, 48


def picture(seed: int, width: int = W, height: int = H) -> bytes:
    """A random RGB picture, different for each seed."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8).tobytes()


def solid(value: int) -> bytes:
    """An RGB picture of one grey level: frames told apart by their first byte."""
    return bytes([value]) * (W * H * 3)


async def capture(client, participant_id: str, **params):
    return await client.request("capture-participant-video", {"participant_id": participant_id, **params})


async def test_rgb_frame_arrives_as_rgba_with_the_same_pixels(connect, room):
    """A publishes an RGB frame; B captures it as RGBA: same size, same RGB values, opaque alpha, on the announced track."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    pixels = picture(1)
    await a.send_video(pixels, W, H, "RGB")
    reply = await capture(b, ja["participant_id"], color_format="RGBA")
    started = await b.wait_for("track-started", lambda d: d["kind"] == "video")
    assert started.data == {
        "track": reply["track"],
        "participant_id": ja["participant_id"],
        "kind": "video",
        "source": "camera",
        "color_format": "RGBA",
        "framerate": 30,
    }
    frame = await b.next_video()
    assert (frame.track, frame.width, frame.height, frame.color_format) == (reply["track"], W, H, "RGBA")
    assert frame.participant_id == ja["participant_id"]
    rgba = np.frombuffer(frame.pixels, dtype=np.uint8).reshape(H, W, 4)
    assert rgba[..., :3].tobytes() == pixels, "pixels changed on the way"
    assert (rgba[..., 3] == 255).all()
    for e in b.event_log:
        validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def test_conversion_to_i420_and_from_bgra(connect, room):
    """Frames are converted with gateway.media.colors: BGRA in, I420 out, byte for byte what convert_frame gives."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    bgra = convert_frame(picture(2), W, H, "RGB", "BGRA")
    await capture(b, ja["participant_id"], color_format="I420")
    await a.send_video(bgra, W, H, "BGRA")
    frame = await b.next_video()
    assert frame.color_format == "I420" and len(frame.pixels) == W * H * 3 // 2
    assert frame.pixels == convert_frame(bgra, W, H, "BGRA", "I420")


async def test_framerate_limits_and_latest_frame_wins(connect, room):
    """Frames published at 100 fps reach a 5 fps capture about 5 times a second, and the last one published arrives."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    await capture(b, ja["participant_id"], framerate=5, color_format="RGB")
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(100):  # one second of 100 fps
        await a.send_video(solid(i), W, H, "RGB")
        await asyncio.sleep(start + (i + 1) * 0.01 - loop.time())
    await asyncio.sleep(0.5)
    frames = b.drain_video()
    assert 4 <= len(frames) <= 8, f"{len(frames)} frames for 1.5 s at 5 fps"
    values = [f.pixels[0] for f in frames]
    assert values == sorted(values), "frames out of order"
    assert values[-1] == 99, "the latest frame did not win"
    gaps = np.diff([f.received_at for f in frames])
    assert gaps.min() > 0.12, f"frames closer than the framerate allows: {gaps}"


async def test_framerate_zero_sends_one_frame_per_request(connect, room):
    """At framerate 0 nothing comes by itself; each request-video-frame brings exactly the latest frame."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    reply = await capture(b, ja["participant_id"], framerate=0, color_format="RGB")
    for i in range(5):
        await a.send_video(solid(i), W, H, "RGB")
    await asyncio.sleep(0.5)
    assert b.drain_video() == []
    assert (await b.request("request-video-frame", {"participant_id": ja["participant_id"]}))["track"] == reply["track"]
    frame = await b.next_video()
    assert frame.pixels[0] == 4
    await a.send_video(solid(7), W, H, "RGB")
    await asyncio.sleep(0.3)
    assert b.drain_video() == []
    await b.request("request-video-frame", {"participant_id": ja["participant_id"]})
    assert (await b.next_video()).pixels[0] == 7
    await asyncio.sleep(0.3)
    assert b.drain_video() == []


async def test_request_before_any_frame_brings_the_next_one(connect, room):
    """A request made before the participant published anything is answered by the first frame to arrive."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    await capture(b, ja["participant_id"], framerate=0)
    await b.request("request-video-frame", {"participant_id": ja["participant_id"]})
    await asyncio.sleep(0.2)
    assert b.drain_video() == []
    await a.send_video(solid(9), W, H, "RGB")
    frame = await b.next_video()
    assert frame.pixels[:4] == bytes([9, 9, 9, 255])


async def test_screen_video_and_camera_are_separate_tracks(connect, room):
    """Track 3 publishes screenVideo: captured on its own track, apart from the camera."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    cam = await capture(b, ja["participant_id"], video_source="camera", color_format="RGB")
    screen = await capture(b, ja["participant_id"], video_source="screenVideo", color_format="RGB")
    assert cam["track"] != screen["track"]
    await a.send_video(solid(1), W, H, "RGB", source="camera")
    await a.send_video(solid(2), W, H, "RGB", source="screenVideo")
    got = {}
    for _ in range(2):
        frame = await b.next_video()
        got[frame.source] = (frame.track, frame.pixels[0])
    assert got == {"camera": (cam["track"], 1), "screenVideo": (screen["track"], 2)}
    updated = await b.wait_for(
        "participant-updated", lambda d: d["participant"]["media"]["screenVideo"]["state"] == "playable"
    )
    assert updated.data["participant"]["id"] == ja["participant_id"]


async def test_stop_capture_and_publisher_leaving_stop_the_track(connect, room):
    """stop-capture-participant-video ends the track (track-stopped, no more frames); so does the publisher leaving."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    first = await capture(b, ja["participant_id"], video_source="camera")
    await a.send_video(solid(1), W, H, "RGB")
    await b.next_video()
    await b.request("stop-capture-participant-video", {"participant_id": ja["participant_id"]})
    stopped = await b.wait_for("track-stopped", lambda d: d["kind"] == "video")
    assert stopped.data["track"] == first["track"]
    await a.send_video(solid(2), W, H, "RGB")
    await asyncio.sleep(0.3)
    assert b.drain_video() == []
    second = await capture(b, ja["participant_id"], video_source="screenVideo")
    await a.leave()
    stopped = await b.wait_for("track-stopped", lambda d: d["kind"] == "video")
    assert stopped.data["track"] == second["track"]


async def test_capturing_again_replaces_the_capture(connect, room):
    """A second capture of the same video stops the first track and starts one with the new format."""
    a, b = await connect(), await connect()
    ja = await a.join(room)
    await b.join(room)
    first = await capture(b, ja["participant_id"], color_format="RGB")
    second = await capture(b, ja["participant_id"], color_format="BGRA")
    stopped = await b.wait_for("track-stopped")
    assert stopped.data["track"] == first["track"] != second["track"]
    await a.send_video(picture(3), W, H, "RGB")
    frame = await b.next_video()
    assert (frame.track, frame.color_format) == (second["track"], "BGRA")


async def test_video_errors_are_typed(connect, room):
    """Unknown participant not_found, bad color format unsupported_format, bad framerate invalid_params, no capture not_found."""
    from gateway_client import GatewayError

    a, b = await connect(), await connect()
    with pytest.raises(GatewayError) as err:
        await capture(b, "anyone")
    assert err.value.code == "not_joined"
    ja = await a.join(room)
    await b.join(room)
    pid = ja["participant_id"]
    cases = [
        ("capture-participant-video", {"participant_id": "nobody"}, "not_found"),
        ("capture-participant-video", {"participant_id": pid, "color_format": "YUY2"}, "unsupported_format"),
        ("capture-participant-video", {"participant_id": pid, "framerate": -1}, "invalid_params"),
        ("capture-participant-video", {"participant_id": pid, "framerate": 61}, "invalid_params"),
        ("capture-participant-video", {"participant_id": pid, "video_source": "microphone"}, "invalid_params"),
        ("request-video-frame", {"participant_id": pid}, "not_found"),
        ("stop-capture-participant-video", {"participant_id": pid}, "not_found"),
    ]
    for rtype, params, code in cases:
        with pytest.raises(GatewayError) as err:
            await b.request(rtype, params)
        assert err.value.code == code, (rtype, params, err.value)
    assert not [e for e in b.event_log if e.event == "track-started"]


async def test_bad_video_frames_are_refused(connect, room):
    """Video before join is not_joined, video on the microphone track not_supported; the session lives on."""
    a = await connect()
    await a.send_raw(encode_video(2, 1, 0, W, H, ColorFormat.RGB, solid(0)))
    assert (await a.next_protocol_error()).code == "not_joined"
    await a.join(room)
    await a.send_raw(encode_video(1, 2, 0, W, H, ColorFormat.RGB, solid(0)))
    assert (await a.next_protocol_error()).code == "not_supported"
    await a.send_raw(encode_video(2, 3, 0, W, H, ColorFormat.RGB, solid(0)[:-1]))
    assert (await a.next_protocol_error()).code == "bad_payload"
    await a.request("ping")
