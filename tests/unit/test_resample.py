"""Resampler and convert_channels: lengths, spectra, streaming equal to one-shot, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from gateway.media.resample import PolyphaseResampler, Resampler, convert_channels, live_resampler

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


# ---------------------------------------------------------------------------- the live tracks' resampler

LIVE_PAIRS = [
    (16000, 8000), (24000, 8000), (48000, 8000), (8000, 16000), (24000, 16000), (48000, 16000),
    (16000, 24000), (48000, 24000), (16000, 48000), (24000, 48000), (8000, 48000), (44100, 22050),
]
"""Every publisher rate the latency benchmark measures, to receivers at 8-48 kHz, plus a 44.1 kHz family pair."""


def lagged_correlation(reference: np.ndarray, received: np.ndarray, lag: int) -> float:
    """Correlation of ``received`` shifted back by ``lag`` samples with ``reference``."""
    return correlation(reference, received[lag:])


@pytest.mark.parametrize(("in_rate", "out_rate"), LIVE_PAIRS)
def test_live_resampler_gives_out_each_chunk_at_once(in_rate, out_rate, demo):
    """Each 20 ms chunk in gives exactly 20 ms out, from the first chunk on: nothing is held back."""
    speech = soxr.resample(np.frombuffer(demo.pcm, dtype=np.int16), demo.rate, in_rate).astype(np.int16)
    r = live_resampler(in_rate, out_rate)
    assert isinstance(r, PolyphaseResampler)
    step = in_rate // 50
    sizes = {len(r.process(speech[i : i + step].tobytes())) // 2 for i in range(0, step * 50, step)}
    assert sizes == {out_rate // 50}


@pytest.mark.parametrize(("in_rate", "out_rate"), LIVE_PAIRS)
def test_live_resampler_is_the_input_delayed_by_its_stated_delay(in_rate, out_rate, demo):
    """Speech through the live resampler matches soxr VHQ (>= 0.99) shifted by delay_samples, a few ms."""
    speech = soxr.resample(np.frombuffer(demo.pcm, dtype=np.int16), demo.rate, in_rate).astype(np.int16)[: in_rate * 3]
    r = PolyphaseResampler(in_rate, out_rate)
    out = np.frombuffer(stream(r, [speech[i : i + 997].tobytes() for i in range(0, len(speech), 997)]), np.int16)
    reference = soxr.resample(speech.astype(np.float64), in_rate, out_rate, "VHQ")
    assert r.delay_ms <= 5.5
    assert len(out) == -(-len(speech) * out_rate // in_rate) + r.delay_samples
    assert lagged_correlation(reference, out, r.delay_samples) >= 0.999
    assert lagged_correlation(reference, out, r.delay_samples + 3) < lagged_correlation(reference, out, r.delay_samples)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(48000, 8000), (16000, 8000), (8000, 16000), (24000, 16000)])
def test_live_resampler_keeps_the_passband_and_stops_aliases(in_rate, out_rate, sine):
    """Flat to 0.9 x the lower Nyquist (within 0.1 dB); a tone above the output's Nyquist is >= 60 dB down."""
    nyquist = min(in_rate, out_rate) / 2

    def gain_db(freq: float) -> float:
        tone = sine(freq, in_rate, 0.5)
        out = np.frombuffer(stream(PolyphaseResampler(in_rate, out_rate), [tone.tobytes()]), np.int16)
        body = out[len(out) // 4 : 3 * len(out) // 4].astype(np.float64)
        return 20 * np.log10(max(np.sqrt(np.mean(body**2)), 1e-9) / (0.5 * 32767 / np.sqrt(2)))

    assert abs(gain_db(0.9 * nyquist)) < 0.1
    assert abs(gain_db(0.3 * nyquist)) < 0.1
    if out_rate < in_rate:
        assert gain_db(1.1 * nyquist) < -60


def test_live_resampler_chunking_does_not_change_the_output(demo, irregular_chunks):
    """The same audio in any chunk sizes gives the same bytes (no dither, state carried exactly)."""
    one = stream(PolyphaseResampler(16000, 24000), [demo.pcm])
    many = stream(PolyphaseResampler(16000, 24000), irregular_chunks(demo.pcm))
    assert one == many


def test_live_resampler_flush_gives_the_tail_then_starts_afresh(sine):
    """flush() gives out the delayed tail (all of the input), and the next stream starts as a new one would."""
    tone = sine(500, 24000, 0.2).tobytes()
    r = PolyphaseResampler(24000, 8000)
    body = r.process(tone)
    assert len(body) // 2 == 1600, "20 ms in, 20 ms out: the last delay_samples of content are still held"
    tail = r.flush()
    assert len(tail) // 2 == r.delay_samples and np.abs(np.frombuffer(tail, np.int16)).max() > 1000
    assert r.process(tone) == body, "after a flush the resampler is a fresh stream"


def test_live_resampler_stereo_channels_stay_separate(sine, peak_frequency):
    """Left 440 Hz and right 1 kHz come out as such (channels are filtered one by one)."""
    left, right = sine(440, 48000, 1.0), sine(1000, 48000, 1.0)
    pcm = np.column_stack([left, right]).ravel().tobytes()
    out = np.frombuffer(stream(PolyphaseResampler(48000, 16000, 2), [pcm]), np.int16).reshape(-1, 2)
    assert abs(peak_frequency(out[:, 0], 16000) - 440) < 2
    assert abs(peak_frequency(out[:, 1], 16000) - 1000) < 2


def test_live_resampler_falls_back_to_soxr_where_the_ratio_is_awkward():
    """44.1 <-> 48 kHz (147 / 160) has too many phases for the block filter: soxr HQ; same rates pass through."""
    assert isinstance(live_resampler(44100, 48000), Resampler)
    assert isinstance(live_resampler(16000, 16000), Resampler) and live_resampler(16000, 16000).process(b"ab") == b"ab"
    assert isinstance(live_resampler(12000, 32000), PolyphaseResampler)


def test_live_resampler_refuses_bad_arguments():
    """Rates outside 8-48 kHz, no channels, or filter settings out of range raise ValueError."""
    for kwargs in ({"in_rate": 7999, "out_rate": 8000}, {"in_rate": 8000, "out_rate": 16000, "channels": 0},
                   {"in_rate": 8000, "out_rate": 16000, "passband": 1.0}):
        with pytest.raises(ValueError):
            PolyphaseResampler(**kwargs)
