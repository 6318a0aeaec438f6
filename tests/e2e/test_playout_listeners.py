"""End to end: what listeners at other rates get of paced audio around clear, drain and marks.

The publisher sends at 24 kHz (the ``audio_out`` default); listeners join at 8 and 16 kHz,
so every frame they get went through a resampler. A tone is the first utterance and digital
silence the second, so any of the first that reaches a listener late shows up as non-zero
samples in the second.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
import soxr

from protocol.constants import OutboundTrack
from protocol.media import encode_audio

PUBLISH_RATE = 24000


def tone(seconds: float, freq: float = 440.0) -> bytes:
    t = np.arange(int(PUBLISH_RATE * seconds)) / PUBLISH_RATE
    return np.rint(9000 * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes()


async def _room(connect, room, listen_rate: int, **audio_out: object):
    speaker, listener = await connect(), await connect()
    joined = await speaker.join(room, user_name="bot", audio_out={"sample_rate": PUBLISH_RATE, **audio_out},
                                audio_in={"enabled": False})
    await listener.join(room, user_name="caller", audio_in={"sample_rate": listen_rate, "frame_ms": 20},
                        audio_out={"enabled": False}, vad={"enabled": False})
    heard: list = []
    listener.on_audio = heard.append
    return speaker, joined["participant_id"], heard


async def _send(client, pcm: bytes, seq: int = 1) -> None:
    for i, offset in enumerate(range(0, len(pcm), 9600)):
        await client.send_raw(encode_audio(OutboundTrack.MICROPHONE, seq + i, 0, PUBLISH_RATE, 1, pcm[offset : offset + 9600]))


def _samples(frames) -> np.ndarray:
    return np.frombuffer(b"".join(f.pcm for f in frames), dtype=np.int16)


def _content(samples: np.ndarray) -> int:
    """Samples up to the last non-zero one (a flushed frame is padded with silence)."""
    nonzero = np.flatnonzero(samples)
    return int(nonzero[-1]) + 1 if len(nonzero) else 0


async def _second_utterance_is_silence(speaker, heard, pid: str, played_samples: int, listen_rate: int) -> None:
    """Send 0.4 s of silence as the next utterance; nothing of the first may come with it, and the
    first, as received, holds exactly what the room played of it (plus the resampler's few ms)."""
    await asyncio.sleep(0.3)
    resumed = time.monotonic()
    await _send(speaker, bytes(2 * int(PUBLISH_RATE * 0.4)), seq=1000)
    await speaker.request("mark-audio", {"name": "second"})
    await speaker.wait_for("playout-mark", timeout=5, predicate=lambda d: d["name"] == "second")
    await asyncio.sleep(0.3)
    mine = [f for f in heard if f.participant_id == pid]
    first = [f for f in mine if f.received_at < resumed]
    second = [f for f in mine if f.received_at >= resumed]
    assert second, "the second utterance did not reach the listener"
    leaked = int(np.count_nonzero(_samples(second)))
    assert leaked == 0, f"{leaked} samples of the first utterance came out with the second"
    expected = played_samples * listen_rate // PUBLISH_RATE
    got = _content(_samples(first))
    assert expected <= got <= expected + 0.006 * listen_rate, (
        f"the listener got {got} samples of the first utterance before the second; the room played {expected}"
    )


@pytest.mark.parametrize("listen_rate", [8000, 16000])
async def test_clear_leaves_nothing_of_the_cleared_audio_for_later(connect, room, listen_rate):
    """After clear-audio a resampled listener has everything the room played (played_samples) and nothing more
    comes later: the next utterance starts clean, with no tail of the interrupted one."""
    speaker, pid, heard = await _room(connect, room, listen_rate)
    await _send(speaker, tone(1.5))
    await speaker.request("mark-audio", {"name": "answer"})
    await asyncio.sleep(0.45)
    await speaker.request("clear-audio")
    mark = await speaker.wait_for("playout-mark", timeout=5)
    assert mark.data["status"] == "cleared" and 0 < mark.data["played_samples"] < mark.data["audio_samples"]
    await _second_utterance_is_silence(speaker, heard, pid, mark.data["played_samples"], listen_rate)


@pytest.mark.parametrize("listen_rate", [8000, 16000])
async def test_drain_without_grace_leaves_nothing_for_later(connect, room, listen_rate):
    """With idle_grace_ms 0 the last milliseconds of an utterance reach a resampled listener when it drains,
    not at the start of the next one."""
    speaker, pid, heard = await _room(connect, room, listen_rate, idle_grace_ms=0)
    await _send(speaker, tone(0.5))
    await speaker.request("mark-audio", {"name": "answer"})
    mark = await speaker.wait_for("playout-mark", timeout=5)
    idle = await speaker.wait_for("playout-idle", timeout=5)
    assert mark.data["status"] == "played" and idle.data["played_samples"] == mark.data["played_samples"]
    await _second_utterance_is_silence(speaker, heard, pid, idle.data["played_samples"], listen_rate)


async def test_mark_played_means_an_8khz_listener_has_the_audio(connect, room):
    """When the last mark of an answer is played, an 8 kHz listener has all of the answer within one slot
    (PROTOCOL.md 8.4: the resampler's last few ms come with the next slot, which a mark at the end makes on time)."""
    speaker, pid, heard = await _room(connect, room, 8000)
    answer = tone(0.1, 1000.0)
    await _send(speaker, answer)
    await speaker.request("mark-audio", {"name": "answer"})
    mark = await speaker.wait_for("playout-mark", timeout=5)
    at = time.monotonic()
    assert mark.data["status"] == "played"
    await asyncio.sleep(0.5)
    by_then = [f for f in heard if f.participant_id == pid and f.received_at <= at + 0.035]
    expected = soxr.resample(np.frombuffer(answer, np.int16).astype(np.float64), PUBLISH_RATE, 8000, "VHQ")
    got = _samples(by_then).astype(np.float64)
    energy = float(np.sum(got**2) / np.sum(expected**2))
    assert energy > 0.98, f"{100 * energy:.1f} % of the answer's energy had reached the listener one slot after the mark"
