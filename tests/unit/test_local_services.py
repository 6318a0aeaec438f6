"""Local-room services without sockets: WAV writer, recording buffers and mix, transcriber, video track."""

from __future__ import annotations

import asyncio
import struct
import threading
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.backends.base import RawVideoFrame
from gateway.backends.local.recording import (
    PREROLL_MS,
    RECORDING_RATE,
    TrackBuffer,
    WavWriter,
    mix,
)
from gateway.backends.local.transcription import RoomTranscriber, TranscriptionEngine
from gateway.media.transcribe import TranscriptSegment
from gateway.session.tracks import VideoTrack
from protocol.media import decode_frame

FRAME = RECORDING_RATE * 2 * 20 // 1000


def pcm(value: int, samples: int) -> bytes:
    return np.full(samples, value, dtype=np.int16).tobytes()


# ---------------------------------------------------------------- WAV writer


def test_wav_is_readable_at_every_patch_and_exact_after_close(tmp_path: Path):
    """Before close, a reader sees the audio up to the last patch; after close, all of it, with exact header sizes."""
    path = tmp_path / "a.wav"
    writer = WavWriter(path, 16000)
    writer.write(pcm(100, 1600))
    writer.patch()
    writer.write(pcm(200, 800))
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 1600)
    writer.close()
    writer.close()  # idempotent
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert len(data) == 2400 and data[0] == 100 and data[-1] == 200
    raw = path.read_bytes()
    assert struct.unpack_from("<I", raw, 4)[0] == len(raw) - 8
    assert struct.unpack_from("<I", raw, 40)[0] == len(raw) - 44


# ---------------------------------------------------------------- recording buffers and mix


def test_track_buffer_waits_for_preroll_then_pads_and_refills():
    """Nothing is taken until the preroll is buffered; running dry pads with zeros and waits for the preroll again."""
    buf = TrackBuffer()
    preroll = RECORDING_RATE * PREROLL_MS // 1000
    buf.push(pcm(1000, preroll - 480), RECORDING_RATE, 1)
    assert buf.pull() is None
    buf.push(pcm(1000, 480), RECORDING_RATE, 1)
    frames = [buf.pull() for _ in range(3)]
    assert all(f == pcm(1000, FRAME // 2) for f in frames)
    assert buf.pull() is None
    buf.push(pcm(7, 100), RECORDING_RATE, 1)
    assert buf.pull() is None
    assert buf.drain() == pcm(7, 100)


def test_track_buffer_flush_takes_audio_below_the_preroll():
    """Once the participant has left (flush), the last few milliseconds are taken without waiting for the preroll."""
    buf = TrackBuffer()
    buf.push(pcm(9, 1200), RECORDING_RATE, 1)  # 25 ms: below the 60 ms preroll
    assert buf.pull() is None
    first, second = buf.pull(flush=True), buf.pull(flush=True)
    assert first == pcm(9, FRAME // 2)
    assert second == pcm(9, 1200 - FRAME // 2) + bytes(FRAME - 2 * (1200 - FRAME // 2))
    assert buf.pull(flush=True) is None


def test_track_buffer_resamples_and_downmixes():
    """16 kHz stereo in becomes 48 kHz mono: three times the samples, channels averaged."""
    buf = TrackBuffer()
    stereo = np.tile(np.array([1000, 3000], dtype=np.int16), 1600).tobytes()  # 100 ms at 16 kHz
    buf.push(stereo, 16000, 2)
    buf.push(bytes(3200 * 2), 16000, 2)  # flush soxr's delay with more audio
    out = np.frombuffer(buf.drain(), dtype=np.int16)
    assert len(out) > 4000
    assert abs(int(np.median(out[1000:4000])) - 2000) < 20


def test_track_buffer_drops_drift_beyond_a_second():
    """A buffer more than a second full drops its oldest audio down to the preroll, and counts it."""
    buf = TrackBuffer()
    buf.push(pcm(5, RECORDING_RATE * 2), RECORDING_RATE, 1)
    assert len(buf.drain()) == RECORDING_RATE * 2 * PREROLL_MS // 1000
    assert buf.dropped_bytes > RECORDING_RATE * 2


def test_mix_sums_with_saturation():
    """Mixing adds samples and clips at the int16 limits instead of wrapping."""
    out = np.frombuffer(mix([pcm(30000, 4), pcm(10000, 4), pcm(-5, 4)]), dtype=np.int16)
    assert (out == 32767).all()
    out = np.frombuffer(mix([pcm(-30000, 2), pcm(-30000, 2)]), dtype=np.int16)
    assert (out == -32768).all()
    assert mix([pcm(3, 2)]) == pcm(3, 2)


# ---------------------------------------------------------------- transcriber


class FakeStream:
    """Says "hello" (interim, then final) once it has heard 0.5 s; records the threads it ran on."""

    def __init__(self, threads: set[int]) -> None:
        self.threads = threads
        self.samples = 0
        self.finished = False

    def accept(self, data: bytes) -> list[TranscriptSegment]:
        self.threads.add(threading.get_ident())
        before, self.samples = self.samples, self.samples + len(data) // 2
        if before < 8000 <= self.samples:
            return [TranscriptSegment("hel", False, 100, 400, None), TranscriptSegment("hello", True, 100, 450, 0.9)]
        return []

    def finish(self) -> list[TranscriptSegment]:
        self.threads.add(threading.get_ident())
        self.finished = True
        return [TranscriptSegment("bye", True, 600, 700, 0.5)]


class FakeRecognizer:
    engine = "fake"
    sample_rate = 16000
    language = "en"

    def __init__(self) -> None:
        self.threads: set[int] = set()
        self.streams: list[FakeStream] = []

    def open_stream(self) -> FakeStream:
        stream = FakeStream(self.threads)
        self.streams.append(stream)
        return stream


class FakeRoom:
    url = "local://unit"

    def __init__(self, *ids: str) -> None:
        self.participants: dict[str, Any] = dict.fromkeys(ids)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def broadcast(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((name, data))


async def test_transcriber_decodes_off_the_loop_in_dailys_shape():
    """Recognition runs in the engine's thread, not the loop's; messages have Daily's fields; finals flush on stop."""
    recognizer = FakeRecognizer()
    engine = TranscriptionEngine(lambda: recognizer, isolation="thread")
    room = FakeRoom("p1", "p2")
    transcriber = RoomTranscriber(room, engine)  # type: ignore[arg-type]
    await transcriber.start({"participants": ["p1"], "extra": {"interim_results": True}}, "p2")
    for _ in range(40):  # 0.8 s of 20 ms chunks at 16 kHz
        transcriber.on_audio("p1", "microphone", pcm(100, 320), 16000, 1)
        transcriber.on_audio("p2", "microphone", pcm(100, 320), 16000, 1)
        transcriber.on_audio("p1", "screenAudio", pcm(100, 320), 16000, 1)
        await asyncio.sleep(0.02)
    await transcriber.stop(None, "p2")
    await engine.close()
    assert threading.get_ident() not in recognizer.threads and len(recognizer.threads) == 1
    assert len(recognizer.streams) == 1 and recognizer.streams[0].finished, "one stream, for p1 only"
    names = [name for name, _ in room.events]
    assert names == ["transcription-started", *["transcription-message"] * 3, "transcription-stopped"]
    messages = [data["message"] for name, data in room.events if name == "transcription-message"]
    assert [(m["text"], m["rawResponse"]["is_final"]) for m in messages] == [
        ("hel", False),
        ("hello", True),
        ("bye", True),
    ]
    first = messages[0]
    assert first["participantId"] == "p1" and first["trackType"] == "cam-audio"
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"]
    assert messages[1]["rawResponse"]["channel"]["alternatives"][0] == {
        "transcript": "hello",
        "languages": ["en"],
        "confidence": 0.9,
    }
    assert room.events[-1][1] == {"stopped_by": "p2", "stopped_by_error": False, "instance_id": transcriber_default()}


def transcriber_default() -> str:
    from gateway.backends.local.transcription import DEFAULT_INSTANCE_ID

    return DEFAULT_INSTANCE_ID


async def test_transcriber_without_interim_sends_finals_only():
    """Without extra.interim_results, interim segments are not sent."""
    recognizer = FakeRecognizer()
    engine = TranscriptionEngine(lambda: recognizer, isolation="thread")
    room = FakeRoom("p1")
    transcriber = RoomTranscriber(room, engine)  # type: ignore[arg-type]
    await transcriber.start(None, "p1")
    transcriber.on_audio("p1", "microphone", pcm(1, 16000), 16000, 1)
    await asyncio.sleep(0.2)
    await transcriber.stop(None, "p1")
    await engine.close()
    texts = [d["message"]["text"] for n, d in room.events if n == "transcription-message"]
    assert texts == ["hello", "bye"]


# ---------------------------------------------------------------- video track


def rgb_frame(value: int, width: int = 4, height: int = 2) -> RawVideoFrame:
    return RawVideoFrame(bytes([value]) * (width * height * 3), width, height, "RGB", 1_000_000 + value)


async def test_video_track_rate_limits_and_the_latest_frame_wins():
    """At 10 fps, the first frame goes at once, frames in between are replaced, the newest goes 100 ms later."""
    sent: list[bytes] = []
    track = VideoTrack(20, "p", "camera", "RGB", 10, sent.append)
    track.start()
    for value in range(5):
        track.push(rgb_frame(value))
    assert len(sent) == 1
    await asyncio.sleep(0.05)
    assert len(sent) == 1
    await asyncio.sleep(0.1)
    frames = [decode_frame(s) for s in sent]
    assert [bytes(f.payload)[0] for f in frames] == [0, 4]
    assert [f.seq for f in frames] == [1, 2] and frames[1].timestamp_us == 1_000_004
    assert track.frames_skipped == 3
    track.close()


async def test_video_track_converts_off_the_loop_and_waits_for_start():
    """Nothing is sent before start(); a converted frame (RGB -> RGBA) then arrives with alpha 255."""
    sent: list[bytes] = []
    track = VideoTrack(21, "p", "camera", "RGBA", 30, sent.append)
    track.push(rgb_frame(9))
    await asyncio.sleep(0.05)
    assert sent == []
    track.start()
    for _ in range(50):
        if sent:
            break
        await asyncio.sleep(0.01)
    frame = decode_frame(sent[0])
    assert (frame.width, frame.height, frame.color_format.name) == (4, 2, "RGBA")
    assert bytes(frame.payload) == bytes([9, 9, 9, 255]) * 8


async def test_video_track_holds_frames_while_the_client_is_behind():
    """While ready() is false nothing is sent; when it turns true the newest frame goes."""
    sent: list[bytes] = []
    ready = False
    track = VideoTrack(22, "p", "camera", "RGB", 0, sent.append, ready=lambda: ready)
    track.start()
    track.push(rgb_frame(1))
    await asyncio.sleep(0.05)
    assert sent == []  # framerate 0: only on request
    track.request_frame()
    track.push(rgb_frame(2))
    await asyncio.sleep(0.05)
    assert sent == []  # requested, but the client is behind
    ready = True
    await asyncio.sleep(0.05)
    assert [bytes(decode_frame(s).payload)[0] for s in sent] == [2]
    track.close()
    track.push(rgb_frame(3))
    track.request_frame()
    await asyncio.sleep(0.05)
    assert len(sent) == 1, "a closed track sent a frame"


@pytest.mark.parametrize("fmt", ["RGBA", "BGRA", "ARGB", "ABGR", "BGR", "I420"])
async def test_video_track_describes_itself(fmt):
    """track-started data for video carries kind, color format and framerate."""
    track = VideoTrack(23, "p", "screenVideo", fmt, 2.5, lambda b: None)
    assert track.describe() == {
        "track": 23,
        "participant_id": "p",
        "kind": "video",
        "source": "screenVideo",
        "color_format": fmt,
        "framerate": 2.5,
    }


async def test_stop_right_after_audio_decodes_it_and_ends():
    """Audio still waiting when stop comes is decoded, and the stop completes (the worker does not wait forever)."""
    recognizer = FakeRecognizer()
    engine = TranscriptionEngine(lambda: recognizer, isolation="thread")
    room = FakeRoom("p1")
    transcriber = RoomTranscriber(room, engine)  # type: ignore[arg-type]
    await transcriber.start(None, "p1")
    transcriber.on_audio("p1", "microphone", pcm(1, 16000), 16000, 1)
    await asyncio.wait_for(transcriber.stop(None, "p1"), 5)
    await engine.close()
    assert recognizer.streams[0].samples >= 15000 and recognizer.streams[0].finished
    assert [n for n, _ in room.events][-1] == "transcription-stopped"
