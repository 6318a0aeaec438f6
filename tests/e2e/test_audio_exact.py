"""End to end, local rooms: what PROTOCOL.md 8.1 promises about the samples a receiver gets.

Same rate and channels: the published samples, bit for bit. Stereo to mono: (L + R) >> 1 (the
mean rounded down). Mono to stereo: each sample in both channels. Echo tests and test rigs rely
on it, so it is checked at every rate class (8 kHz to 48 kHz, the 11.025 kHz family included),
with the audio sent in ragged chunks that split slots and frames.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from protocol.media import encode_audio

RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]
CHUNK_SAMPLES = [1, 333, 960, 7, 4410, 2, 1234]
"""Ragged chunk sizes (samples per channel), cycled: a slot or frame is never one chunk."""


def noise(rate: int, channels: int, seconds: float = 0.4, seed: int = 23) -> np.ndarray:
    """Full-scale random PCM16, shape (samples, channels), starting with the extremes and odd sums."""
    rng = np.random.default_rng(seed + rate + channels)
    samples = rng.integers(-32768, 32768, size=(int(rate * seconds), channels), dtype=np.int16)
    head = np.array([[-32768, -32768], [32767, 32767], [-32768, 32767], [-1, 0], [1, 0], [-3, 0], [3, -4]])
    samples[: len(head)] = head[:, :channels]
    return samples


async def relay(connect, room: str, pcm: np.ndarray, rate: int, channels_out: int, channels_in: int) -> bytes:
    """Publish ``pcm`` in ragged chunks from one session; what another session receives of it, as long as sent."""
    sender, receiver = await connect(), await connect()
    await receiver.join(room, audio_in={"sample_rate": rate, "channels": channels_in}, audio_out={"enabled": False})
    await sender.join(
        room,
        audio_in={"enabled": False},
        # A prebuffer so that a slow test machine never pads a slot while the burst is still arriving.
        audio_out={"sample_rate": rate, "channels": channels_out, "prebuffer_ms": 300},
    )
    offset, seq = 0, 0
    while offset < len(pcm):
        size = CHUNK_SAMPLES[seq % len(CHUNK_SAMPLES)]
        seq += 1
        await sender.send_raw(encode_audio(1, seq, 0, rate, channels_out, pcm[offset : offset + size].tobytes()))
        offset += size
    wanted = len(pcm) * channels_in * 2
    got = bytearray()

    async def collect() -> None:
        async for frame in receiver.audio():
            assert (frame.sample_rate, frame.channels) == (rate, channels_in)
            if frame.participant_id == sender.participant_id:
                got.extend(frame.pcm)
                if len(got) >= wanted:
                    return

    await asyncio.wait_for(collect(), 15)
    return bytes(got[:wanted])


def first_difference(got: bytes, expected: bytes) -> str:
    a, b = np.frombuffer(got, np.int16), np.frombuffer(expected, np.int16)
    diff = np.flatnonzero(a != b)
    return "" if not len(diff) else f"first of {len(diff)} differing samples at {diff[0]}: {a[diff[0]]} != {b[diff[0]]}"


@pytest.mark.parametrize("rate", RATES)
async def test_same_rate_mono_is_bit_exact(connect, room, rate):
    """A receiver at the publisher's rate and channel count gets the published samples unchanged."""
    pcm = noise(rate, 1)
    got = await relay(connect, room, pcm, rate, 1, 1)
    assert got == pcm.tobytes(), first_difference(got, pcm.tobytes())


@pytest.mark.parametrize("rate", [8000, 44100])
async def test_same_rate_stereo_is_bit_exact(connect, room, rate):
    """Stereo to stereo at the same rate is bit-exact too, channels in order."""
    pcm = noise(rate, 2)
    got = await relay(connect, room, pcm, rate, 2, 2)
    assert got == pcm.tobytes(), first_difference(got, pcm.tobytes())


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 48000])
async def test_stereo_to_mono_is_the_mean_rounded_down(connect, room, rate):
    """A mono receiver of a stereo publisher gets (L + R) >> 1 per sample: no gain, no dither, no clipping."""
    pcm = noise(rate, 2)
    expected = ((pcm[:, 0].astype(np.int32) + pcm[:, 1]) >> 1).astype(np.int16).tobytes()
    got = await relay(connect, room, pcm, rate, 2, 1)
    assert got == expected, first_difference(got, expected)


@pytest.mark.parametrize("rate", [8000, 24000])
async def test_mono_to_stereo_duplicates_each_sample(connect, room, rate):
    """A stereo receiver of a mono publisher gets each sample in both channels."""
    pcm = noise(rate, 1)
    expected = np.repeat(pcm[:, 0], 2).tobytes()
    got = await relay(connect, room, pcm, rate, 1, 2)
    assert got == expected, first_difference(got, expected)
