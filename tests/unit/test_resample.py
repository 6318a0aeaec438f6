"""Resampler and convert_channels: lengths, spectra, streaming equal to one-shot, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from gateway.media.resample import Resampler, convert_channels

RATE_PAIRS = [
    (16000, 24000), (48000, 16000), (44100, 16000), (8000, 48000), (22050, 44100), (16000, 11025),
]


def stream(resampler: Resampler, chunks: list[bytes]) -> bytes:
    """Feed chunks through a resampler, flush, and return everything it produced."""
    out = b"".join(resampler.process(chunk) for chunk in chunks)
    return out + resampler.flush()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two signals over their common length."""
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].astype(np.float64), b[:n].astype(np.float64))[0, 1])


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_output_length_matches_rate_ratio(in_rate, out_rate, sine, irregular_chunks):
    """After flush, a chunked stream yields in_samples * out_rate / in_rate samples, within 2."""
    samples = sine(440, in_rate, 2.0)
    out = stream(Resampler(in_rate, out_rate), irregular_chunks(samples.tobytes()))
    assert len(out) % 2 == 0
    assert abs(len(out) // 2 - len(samples) * out_rate / in_rate) <= 2


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_sine_frequency_is_preserved(in_rate, out_rate, sine, peak_frequency):
    """A 1 kHz sine is still 1 kHz after resampling (FFT peak within one bin)."""
    out = stream(Resampler(in_rate, out_rate), [sine(1000, in_rate, 1.0).tobytes()])
    samples = np.frombuffer(out, dtype=np.int16)
    assert peak_frequency(samples, out_rate) == pytest.approx(1000, abs=out_rate / len(samples) + 1e-9)


@pytest.mark.parametrize("out_rate", [24000, 8000, 44100, 48000])
def test_chunked_stream_matches_one_shot_on_speech(out_rate, demo, irregular_chunks):
    """Demo speech fed in irregular chunks (splitting samples) equals resampling it all at once."""
    streamed = np.frombuffer(stream(Resampler(demo.rate, out_rate), irregular_chunks(demo.pcm)), dtype=np.int16)
    reference = soxr.resample(demo.samples, demo.rate, out_rate, quality="HQ")
    assert abs(len(streamed) - len(reference)) <= 2
    assert correlation(streamed, reference) > 0.99


def assert_same_within_dither(a: bytes, b: bytes) -> None:
    """Equal lengths and samples within 2 LSB: soxr dithers its int16 output."""
    x, y = np.frombuffer(a, dtype=np.int16), np.frombuffer(b, dtype=np.int16)
    assert len(x) == len(y)
    assert np.abs(x.astype(np.int32) - y).max() <= 2


def test_chunk_boundaries_do_not_change_output(demo, irregular_chunks):
    """Two different chunkings of the same stream agree sample for sample (within dither)."""
    a = stream(Resampler(16000, 24000), irregular_chunks(demo.pcm, seed=1))
    b = stream(Resampler(16000, 24000), irregular_chunks(demo.pcm, seed=2, largest=50))
    assert_same_within_dither(a, b)


def test_same_rate_returns_input_unchanged():
    """With in_rate == out_rate, process() hands back the very same object and flush() nothing."""
    resampler = Resampler(16000, 16000, 2)
    pcm = b"\x01\x02\x03"  # even a partial sample: nothing is inspected
    assert resampler.process(pcm) is pcm
    assert resampler.flush() == b""


def test_stereo_channels_stay_separate(sine, peak_frequency):
    """Stereo 48 kHz -> 16 kHz keeps 440 Hz on the left and 1 kHz on the right."""
    left, right = sine(440, 48000, 1.0), sine(1000, 48000, 1.0)
    pcm = np.column_stack([left, right]).tobytes()
    resampler = Resampler(48000, 16000, channels=2)
    assert resampler.channels == 2
    out = np.frombuffer(stream(resampler, [pcm[:1001], pcm[1001:]]), dtype=np.int16).reshape(-1, 2)
    assert abs(len(out) - 16000) <= 2
    tolerance = 16000 / len(out) + 1e-9
    assert peak_frequency(out[:, 0], 16000) == pytest.approx(440, abs=tolerance)
    assert peak_frequency(out[:, 1], 16000) == pytest.approx(1000, abs=tolerance)


def test_empty_input():
    """Empty chunks produce no output, and flushing a stream that never had audio returns b""."""
    resampler = Resampler(16000, 24000)
    assert resampler.process(b"") == b""
    assert resampler.flush() == b""


def test_flush_makes_the_resampler_reusable(sine):
    """After flush, a second stream resamples like a fresh Resampler would (no leftover state)."""
    pcm = sine(300, 16000, 0.5).tobytes()
    reused = Resampler(16000, 24000)
    stream(reused, [pcm[:777]])  # first stream, ended mid-way through a sample
    assert_same_within_dither(stream(reused, [pcm]), stream(Resampler(16000, 24000), [pcm]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"in_rate": 7999, "out_rate": 16000},
        {"in_rate": 16000, "out_rate": 48001},
        {"in_rate": 16000, "out_rate": 24000, "channels": 0},
        {"in_rate": 16000, "out_rate": 24000, "quality": "best"},
    ],
)
def test_invalid_arguments_raise(kwargs):
    """Unsupported rates, channel counts and qualities are refused with ValueError."""
    with pytest.raises(ValueError):
        Resampler(**kwargs)


def test_mono_to_stereo_duplicates():
    """Mono -> stereo puts each sample in both channels."""
    mono = np.array([1, -2, 32767, -32768], dtype=np.int16)
    stereo = np.frombuffer(convert_channels(mono.tobytes(), 1, 2), dtype=np.int16)
    assert stereo.tolist() == [1, 1, -2, -2, 32767, 32767, -32768, -32768]


def test_stereo_to_mono_averages():
    """Stereo -> mono averages the channels without overflowing at full scale."""
    stereo = np.array([100, 300, 32767, 32767, -32768, -32768, 1000, -1000], dtype=np.int16)
    mono = np.frombuffer(convert_channels(stereo.tobytes(), 2, 1), dtype=np.int16)
    assert mono.tolist() == [200, 32767, -32768, 0]


def test_same_channel_count_is_unchanged():
    """Converting to the same channel count returns the input object itself."""
    pcm = np.arange(8, dtype=np.int16).tobytes()
    assert convert_channels(pcm, 2, 2) is pcm


@pytest.mark.parametrize(
    ("pcm", "in_channels", "out_channels"), [(b"\0" * 12, 2, 3), (b"\0" * 6, 2, 1), (b"\0" * 4, 0, 1)]
)
def test_convert_channels_refuses_what_it_cannot_do(pcm, in_channels, out_channels):
    """Neither side mono, a partial frame, or a zero channel count raise ValueError."""
    with pytest.raises(ValueError):
        convert_channels(pcm, in_channels, out_channels)
