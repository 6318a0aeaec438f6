"""rms_level, level_dbfs and LevelMeter on known signals."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from gateway.media.level import SILENCE_DBFS, LevelMeter, level_dbfs, rms_level


def test_silence_is_zero():
    """Digital silence and empty input have level 0."""
    assert rms_level(bytes(640)) == 0.0
    assert rms_level(b"") == 0.0


def test_full_scale_square_is_one():
    """A full-scale square wave reads 1.0 (to within one LSB)."""
    square = np.tile(np.array([32767, -32768], dtype=np.int16), 480)
    assert rms_level(square.tobytes()) == pytest.approx(1.0, abs=1e-4)
    assert rms_level(np.full(10, -32768, dtype=np.int16).tobytes()) == 1.0


@pytest.mark.parametrize("amplitude", [1.0, 0.5, 0.01])
def test_sine_reads_amplitude_over_root_two(amplitude, sine):
    """A sine of amplitude A reads A / sqrt(2) (0.707 at full scale)."""
    samples = sine(1000, 16000, 0.1, amplitude)
    assert rms_level(samples.tobytes()) == pytest.approx(amplitude / math.sqrt(2), rel=1e-3)


def test_odd_byte_count_is_refused():
    """Half a sample is an error, not silently ignored."""
    with pytest.raises(ValueError):
        rms_level(b"\x00\x01\x02")


def test_dbfs_of_silence_is_clamped():
    """Silence is -100 dBFS, not -inf."""
    assert level_dbfs(bytes(320)) == SILENCE_DBFS == -100.0


def test_dbfs_of_full_scale_sine(sine):
    """A full-scale sine is about -3 dBFS; a 1 % sine about -43 dBFS."""
    assert level_dbfs(sine(1000, 16000, 0.1, 1.0).tobytes()) == pytest.approx(-3.01, abs=0.02)
    assert level_dbfs(sine(1000, 16000, 0.1, 0.01).tobytes()) == pytest.approx(-43.01, abs=0.05)


def test_dbfs_of_one_lsb_is_above_the_clamp():
    """The quietest non-silent signal (one LSB) is about -90 dBFS, above the silence clamp."""
    assert level_dbfs(np.ones(160, dtype=np.int16).tobytes()) == pytest.approx(-90.3, abs=0.1)


def test_meter_rises_instantly(sine):
    """One loud chunk brings the meter straight to that chunk's level."""
    meter = LevelMeter(16000)
    assert meter.value == 0.0
    loud = sine(1000, 16000, 0.02, 0.8).tobytes()
    assert meter.push(loud) == pytest.approx(rms_level(loud))
    assert meter.value == pytest.approx(0.8 / math.sqrt(2), rel=1e-3)


def test_meter_decays_by_half_life_in_silence(sine):
    """In silence the value halves every half_life_s of audio, smoothly and monotonically."""
    meter = LevelMeter(16000, half_life_s=0.25)
    start = meter.push(sine(440, 16000, 0.02, 1.0).tobytes())
    silence_10ms = bytes(320)
    values = [meter.push(silence_10ms) for _ in range(50)]
    assert all(later < earlier for earlier, later in pairwise([start, *values]))
    assert values[24] == pytest.approx(start / 2, rel=1e-6)  # 250 ms
    assert values[49] == pytest.approx(start / 4, rel=1e-6)  # 500 ms
    assert meter.dbfs == pytest.approx(20 * math.log10(start / 4))


def test_meter_decay_counts_channels(sine):
    """Stereo audio counts by duration, not bytes: 250 ms of stereo silence also halves it."""
    meter = LevelMeter(48000, channels=2, half_life_s=0.25)
    start = meter.push(np.repeat(sine(440, 48000, 0.01, 1.0), 2).tobytes())
    assert meter.push(bytes(48000 // 4 * 4)) == pytest.approx(start / 2, rel=1e-6)


def test_meter_holds_above_a_quieter_chunk(sine):
    """After a loud chunk, a quieter one lets the meter decay but not drop below that chunk."""
    meter = LevelMeter(16000, half_life_s=0.25)
    meter.push(sine(440, 16000, 0.02, 1.0).tobytes())
    quiet = sine(440, 16000, 0.02, 0.5).tobytes()
    decayed = meter.value * 2 ** (-0.02 / 0.25)
    assert meter.push(quiet) == pytest.approx(max(decayed, rms_level(quiet)))
    for _ in range(100):
        meter.push(quiet)
    assert meter.value == pytest.approx(rms_level(quiet))


def test_meter_reset(sine):
    """reset() drops the meter to silence at once."""
    meter = LevelMeter(16000)
    meter.push(sine(440, 16000, 0.02).tobytes())
    meter.reset()
    assert meter.value == 0.0
    assert meter.dbfs == SILENCE_DBFS


@pytest.mark.parametrize(
    "kwargs", [{"sample_rate": 0}, {"sample_rate": 16000, "channels": 0}, {"sample_rate": 16000, "half_life_s": 0}]
)
def test_meter_rejects_bad_arguments(kwargs):
    """Non-positive rate, channels or half-life raise ValueError."""
    with pytest.raises(ValueError):
        LevelMeter(**kwargs)


def test_level_of_a_changed_buffer_is_measured_again(sine):
    """rms_level remembers only immutable bytes: the same bytes twice agree, a bytearray changed in place is re-measured."""
    loud = sine(1000, 16000, 0.02, 1.0).tobytes()
    assert rms_level(loud) == rms_level(loud) == pytest.approx(math.sqrt(0.5), rel=1e-3)
    buf = bytearray(loud)
    assert rms_level(buf) == pytest.approx(math.sqrt(0.5), rel=1e-3)
    buf[:] = bytes(len(buf))
    assert rms_level(buf) == 0.0
    other = bytes(len(loud))
    assert rms_level(other) == 0.0 and rms_level(loud) == pytest.approx(math.sqrt(0.5), rel=1e-3)


@pytest.mark.parametrize("amplitude", [0, 3, 700, 1001, 1500, 9000, 32767])
def test_rms_level_matches_the_exact_sum_of_squares_within_a_thousandth(amplitude):
    """Loud frames take audioop's fast path, quiet ones numpy's exact one; both agree with float64 RMS to 0.1 %."""
    rng = np.random.default_rng(amplitude)
    samples = np.clip(rng.normal(0, amplitude, 960), -32768, 32767).astype("<i2")
    exact = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2))) / 32768
    assert rms_level(samples.tobytes()) == pytest.approx(exact, rel=1e-3, abs=1e-9)
