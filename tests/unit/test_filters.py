"""The streaming noisereduce input filter on real speech with noise, silence and stereo; its join options."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gateway.media.filters import FilterSpec, NoiseReduceFilter, filter_from_request
from protocol.errors import CommandError, ErrorCode

pytest.importorskip("noisereduce")

RATE = 16000
PAUSE = (2.35, 3.05)
"""Seconds of the demo WAV between its first two sentences (tests/unit/conftest.py segments)."""
SPEECH = (0.5, 2.1)


def noisy(demo, rms: float = 0.03, seed: int = 1) -> tuple[np.ndarray, bytes]:
    """(clean samples as float, the speech plus white noise of ``rms`` as PCM16)."""
    clean = demo.samples.astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(len(clean)) * rms * 32768
    return clean, np.clip(clean + noise, -32768, 32767).astype(np.int16).tobytes()


def level(samples: np.ndarray, span: tuple[float, float]) -> float:
    a, b = int(span[0] * RATE), int(span[1] * RATE)
    return float(np.sqrt(np.mean(samples[a:b].astype(np.float64) ** 2)))


def stream(f: NoiseReduceFilter, pcm: bytes, chunk: int = 640) -> bytes:
    return b"".join(f.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk))


@pytest.mark.slow
def test_noise_is_cut_and_speech_kept(demo):
    """On speech with -30 dBFS white noise in 20 ms chunks: the pause loses 20 dB, the speech stays."""
    clean, dirty = noisy(demo)
    f = NoiseReduceFilter(FilterSpec(), RATE)
    out = np.frombuffer(stream(f, dirty), dtype=np.int16).astype(np.float64)
    # Sample k of the output is sample k of the input (later in time by latency_ms).
    assert len(dirty) // 2 - len(out) < (f.latency_ms * RATE / 1000)
    dirty_samples = np.frombuffer(dirty, dtype=np.int16)
    assert level(out, PAUSE) < level(dirty_samples, PAUSE) / 10
    assert level(out, SPEECH) > level(clean, SPEECH) * 0.5
    n = len(out)
    before = np.corrcoef(dirty_samples[:n], clean[:n])[0, 1]
    after = np.corrcoef(out, clean[:n])[0, 1]
    assert after > before + 0.05 and after > 0.9, (before, after)


def test_latency_is_block_plus_one_fft_window():
    """Defaults: 100 ms block + 512 samples (32 ms) at 16 kHz; nothing comes out before that much went in."""
    f = NoiseReduceFilter(FilterSpec(), RATE)
    assert f.latency_ms == pytest.approx(132.0)
    assert f.process(bytes(2 * int(RATE * 0.131))) == b""
    assert len(f.process(bytes(2 * int(RATE * 0.002)))) == 2 * 1600


def test_silence_stays_silent_and_chunking_does_not_matter(demo, irregular_chunks):
    """Zeros come out as (near) zeros; irregular chunks give the same output as 20 ms chunks."""
    f = NoiseReduceFilter(FilterSpec(), RATE)
    out = np.frombuffer(stream(f, bytes(2 * RATE)), dtype=np.int16)
    assert len(out) and np.abs(out).max() <= 1
    _, dirty = noisy(demo)
    a = stream(NoiseReduceFilter(FilterSpec(), RATE), dirty[: 2 * RATE * 3])
    f2 = NoiseReduceFilter(FilterSpec(), RATE)
    b = b"".join(f2.process(c) for c in irregular_chunks(dirty[: 2 * RATE * 3]))
    assert a == b


@pytest.mark.slow
def test_stereo_channels_are_filtered_each(demo):
    """Stereo in (speech left, speech + noise right) gives stereo out with the right channel cleaned."""
    clean, dirty = noisy(demo)
    left = clean.astype(np.int16)
    right = np.frombuffer(dirty, dtype=np.int16)
    pcm = np.stack([left, right], axis=1).tobytes()
    f = NoiseReduceFilter(FilterSpec(), RATE, channels=2)
    out = np.frombuffer(stream(f, pcm, chunk=1280), dtype=np.int16).reshape(-1, 2)
    assert level(out[:, 1], PAUSE) < level(right, PAUSE) / 10
    assert level(out[:, 0], SPEECH) > level(clean, SPEECH) * 0.5


def test_reset_starts_a_new_stream(demo):
    """After reset the filter holds nothing: the same input gives the same output as a new filter."""
    _, dirty = noisy(demo)
    f = NoiseReduceFilter(FilterSpec(), RATE)
    stream(f, dirty[: RATE])
    f.reset()
    assert stream(f, dirty[: 2 * RATE]) == stream(NoiseReduceFilter(FilterSpec(), RATE), dirty[: 2 * RATE])


async def test_filter_from_request():
    """none is no filter; noisereduce options are read; bad options and krisp are typed errors."""
    assert await filter_from_request(None) is None
    assert await filter_from_request({"type": "none"}) is None
    spec = await filter_from_request({"type": "noisereduce", "options": {"block_ms": 40, "prop_decrease": 1}})
    assert spec == FilterSpec(block_ms=40, prop_decrease=1.0)
    for options, field in (({"block_ms": 5}, "block_ms"), ({"prop_decrease": "x"}, "prop_decrease"),
                           ({"block_ms": True}, "block_ms"), ({"gain": 2}, "gain")):
        with pytest.raises(CommandError) as caught:
            await filter_from_request({"type": "noisereduce", "options": options})
        assert caught.value.code is ErrorCode.INVALID_PARAMS
        assert caught.value.details == {"field": f"audio_in.filter.options.{field}"}
    with pytest.raises(CommandError) as caught:
        await filter_from_request({"type": "krisp"})
    assert caught.value.code is ErrorCode.NOT_SUPPORTED and caught.value.details == {"field": "audio_in.filter.type"}


async def test_without_the_package_noisereduce_is_not_supported(monkeypatch):
    """With noisereduce not importable the join gets not_supported naming the extra to install."""
    monkeypatch.setitem(sys.modules, "noisereduce", None)
    with pytest.raises(CommandError) as caught:
        await filter_from_request({"type": "noisereduce"})
    assert caught.value.code is ErrorCode.NOT_SUPPORTED and "daily-ws-gateway[noisereduce]" in caught.value.message
