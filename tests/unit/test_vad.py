"""VoiceActivityDetector on real speech, silence and noise; VadParams validation."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from gateway.media.vad import VadParams, VadTransition, VoiceActivityDetector

# webrtcvad keeps flagging a few frames as voiced after speech ends; allow for it.
HANGOVER_MS = 300


def run(detector: VoiceActivityDetector, chunks: list[bytes]) -> list[VadTransition]:
    """Feed chunks through a detector and collect its transitions."""
    return [t for chunk in chunks for t in detector.process(chunk)]


def resampled(demo, rate: int, channels: int = 1) -> bytes:
    """The demo speech at another rate (and duplicated into ``channels``)."""
    samples = soxr.resample(demo.samples, demo.rate, rate) if rate != demo.rate else demo.samples
    return np.repeat(samples, channels).tobytes()


def test_demo_speech_starts_and_stops_at_plausible_times(demo, demo_segments, irregular_chunks):
    """On the demo WAV each sentence gives one start inside it and one stop in the silence after."""
    params = VadParams()
    transitions = run(VoiceActivityDetector(16000, params=params), irregular_chunks(demo.pcm))
    assert [t.speaking for t in transitions] == [True, False] * len(demo_segments)
    for (begin, end), start, stop in zip(demo_segments, transitions[::2], transitions[1::2], strict=True):
        begin_ms, end_ms = begin * 1000, end * 1000
        assert begin_ms + params.start_ms <= start.offset_ms < end_ms
        assert end_ms + params.stop_ms <= stop.offset_ms <= end_ms + params.stop_ms + HANGOVER_MS


def test_speaking_property_follows_transitions(demo, demo_segments):
    """speaking is True right after a start and False at the end of the demo."""
    detector = VoiceActivityDetector(16000)
    first_sentence_end = int(demo_segments[0][1] * 16000) * 2
    assert detector.process(demo.pcm[:first_sentence_end])[-1].speaking
    assert detector.speaking
    detector.process(demo.pcm[first_sentence_end:])
    assert not detector.speaking


def test_digital_silence_never_fires():
    """A minute of zeros yields no transition."""
    detector = VoiceActivityDetector(16000)
    assert run(detector, [bytes(640)] * 3000) == []
    assert not detector.speaking


@pytest.mark.parametrize("rms", [0.001, 0.003, 0.01])
def test_low_white_noise_never_fires(rms, white_noise):
    """White noise at -60, -50 and -40 dBFS yields no transition with the default params."""
    noise = white_noise(rms, 16000, 30.0)
    assert run(VoiceActivityDetector(16000), [noise[i : i + 640] for i in range(0, len(noise), 640)]) == []


def test_min_level_silences_noise_that_webrtcvad_calls_speech(white_noise):
    """In mode 0, -40 dBFS noise triggers webrtcvad, and min_level=0.02 suppresses it."""
    noise = white_noise(0.01, 16000, 30.0)
    assert run(VoiceActivityDetector(16000, params=VadParams(aggressiveness=0)), [noise]) != []
    gated = VoiceActivityDetector(16000, params=VadParams(aggressiveness=0, min_level=0.02))
    assert run(gated, [noise]) == []


@pytest.mark.parametrize(("rate", "channels"), [(24000, 1), (44100, 1), (48000, 2), (22050, 2), (8000, 1)])
def test_other_rates_and_channels_match_16k(rate, channels, demo, irregular_chunks):
    """At 24 and 44.1 kHz (resampled), 48 kHz stereo, etc., transitions match 16 kHz within 30 ms."""
    reference = run(VoiceActivityDetector(16000), [demo.pcm])
    pcm = resampled(demo, rate, channels)
    transitions = run(VoiceActivityDetector(rate, channels), irregular_chunks(pcm))
    assert [t.speaking for t in transitions] == [t.speaking for t in reference]
    for got, want in zip(transitions, reference, strict=True):
        assert abs(got.offset_ms - want.offset_ms) <= 30


def test_chunk_size_does_not_matter(demo, irregular_chunks):
    """One big chunk and ragged chunks split inside samples give identical transitions."""
    whole = run(VoiceActivityDetector(16000), [demo.pcm])
    assert whole
    assert run(VoiceActivityDetector(16000), irregular_chunks(demo.pcm, seed=3, largest=37)) == whole


def test_shorter_stop_ms_stops_sooner(demo):
    """stop_ms sets the silence needed: 500 ms stops each sentence 300 ms before 800 ms does."""
    slow = run(VoiceActivityDetector(16000, params=VadParams(stop_ms=800)), [demo.pcm])
    fast = run(VoiceActivityDetector(16000, params=VadParams(stop_ms=500)), [demo.pcm])
    assert [s.offset_ms - f.offset_ms for s, f in zip(slow[1::2], fast[1::2], strict=True)] == [300] * 3


def test_reset_starts_a_new_stream(demo):
    """After reset, the detector is silent and offsets count from zero again."""
    detector = VoiceActivityDetector(16000)
    first = detector.process(demo.pcm[: 16000 * 2])  # stops mid-sentence, speaking
    assert detector.speaking
    detector.reset()
    assert not detector.speaking
    assert detector.process(demo.pcm[: 16000 * 2]) == first


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"aggressiveness": 4}, "aggressiveness"),
        ({"aggressiveness": -1}, "aggressiveness"),
        ({"start_ms": 5}, "start_ms"),
        ({"start_ms": 5001}, "start_ms"),
        ({"stop_ms": 0}, "stop_ms"),
        ({"stop_ms": 10001}, "stop_ms"),
        ({"min_level": -0.1}, "min_level"),
        ({"min_level": 1.5}, "min_level"),
        ({"min_level": float("nan")}, "min_level"),
    ],
)
def test_params_out_of_range_raise(kwargs, field):
    """Each out-of-range VadParams field raises ValueError naming that field."""
    with pytest.raises(ValueError, match=field):
        VadParams(**kwargs)


def test_params_bounds_are_accepted():
    """The documented bounds themselves are valid."""
    VadParams(aggressiveness=0, start_ms=10, stop_ms=10, min_level=0.0)
    VadParams(aggressiveness=3, start_ms=5000, stop_ms=10000, min_level=1.0)


@pytest.mark.parametrize(("rate", "channels"), [(7000, 1), (96000, 1), (16000, 0)])
def test_unsupported_input_format_raises(rate, channels):
    """Rates outside 8-48 kHz and non-positive channel counts raise ValueError."""
    with pytest.raises(ValueError):
        VoiceActivityDetector(rate, channels)


def test_speech_ms_places_starts_and_stops_where_the_speech_was(demo, demo_segments):
    """Each transition's speech_ms is its offset less start_ms (a start) or stop_ms (a stop): near the sentence's edges."""
    params = VadParams()
    transitions = run(VoiceActivityDetector(16000, params=params), [demo.pcm])
    for (begin, end), start, stop in zip(demo_segments, transitions[::2], transitions[1::2], strict=True):
        assert start.speech_ms == start.offset_ms - params.start_ms and abs(start.speech_ms - begin * 1000) <= 100
        assert stop.speech_ms == stop.offset_ms - params.stop_ms and -50 <= stop.speech_ms - end * 1000 <= HANGOVER_MS


def test_a_paused_stream_stops_speaking_at_its_last_voiced_frame(demo, demo_segments):
    """pause() while speaking: a stop now, at the stream's position, whose speech_ms is the end of the last voiced frame."""
    detector = VoiceActivityDetector(16000)
    end = demo_segments[0][1]
    assert detector.process(demo.pcm[: int(end * 16000) * 2])[-1].speaking
    stop = detector.pause()
    assert stop is not None and not stop.speaking and not detector.speaking
    assert stop.offset_ms == detector.position_ms == int(end * 1000) // 10 * 10
    assert end * 1000 - 200 <= stop.speech_ms <= stop.offset_ms
    assert detector.pause() is None, "a second pause decides nothing"
