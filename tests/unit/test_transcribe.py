"""Offline transcription with PocketSphinx: words, endpointing, streams, errors.

PocketSphinx on espeak-ng speech is imperfect, so word checks count how many of
a few key words come out (words it does get on this fixture, with margin).
The fixture says "hello world. please open the door and close the window."
(see tests/fixtures/README.md).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soxr

from gateway.media.transcribe import (
    PocketsphinxRecognizer,
    Recognizer,
    RecognizerStream,
    RecognizerUnavailable,
    StreamClosed,
    TranscriptionError,
    TranscriptSegment,
    create_recognizer,
)

pytest.importorskip("pocketsphinx")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "speech_hello_world.wav"
PHRASE = "hello world. please open the door and close the window."
KEY_WORDS = {"hello", "world", "open", "door", "close", "window"}
RATE = 16000


def load_fixture() -> np.ndarray:
    with wave.open(str(FIXTURE)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def timeline(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).astype("<i2").tobytes()


def feed(
    stream: RecognizerStream, pcm: bytes, chunk: int = 640, rate: int = RATE
) -> list[tuple[int, TranscriptSegment]]:
    """Feed ``pcm`` in chunks; return (input position in ms, segment) pairs, finish last."""
    out: list[tuple[int, TranscriptSegment]] = []
    for i in range(0, len(pcm), chunk):
        fed_ms = (i + len(pcm[i : i + chunk])) * 1000 // (2 * rate)
        out += [(fed_ms, s) for s in stream.accept(pcm[i : i + chunk])]
    end_ms = len(pcm) * 1000 // (2 * rate)
    out += [(end_ms, s) for s in stream.finish()]
    return out


def finals(results: Iterable[tuple[int, TranscriptSegment]]) -> list[TranscriptSegment]:
    return [s for _, s in results if s.is_final]


def key_words(text: str) -> set[str]:
    return KEY_WORDS & set(text.split())


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return create_recognizer("pocketsphinx", sample_rate=RATE)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_fixture()


def test_fixture_is_recognised(recognizer: Recognizer, speech: np.ndarray) -> None:
    """The fixture phrase comes out as one final with most of its key words."""
    results = feed(recognizer.open_stream(), timeline(silence(0.5), speech, silence(1.0)))
    [final] = finals(results)
    assert len(key_words(final.text)) >= 3, final.text
    assert final.confidence is not None and 0.0 < final.confidence <= 1.0


@pytest.mark.slow
def test_final_after_each_pause(recognizer: Recognizer, speech: np.ndarray) -> None:
    """Each utterance gets its final during the following pause, not at finish()."""
    duration_ms = len(speech) * 1000 // RATE
    pcm = timeline(silence(0.5), speech, silence(1.5), speech, silence(1.5))
    results = feed(recognizer.open_stream(), pcm)
    timed_finals = [(fed_ms, s) for fed_ms, s in results if s.is_final]
    assert len(timed_finals) == 2, [s.text for _, s in timed_finals]
    first_end = 500 + duration_ms
    second_start, second_end = first_end + 1500, first_end + 1500 + duration_ms
    (fed1, final1), (fed2, final2) = timed_finals
    # Emitted within the pause that follows each utterance.
    assert first_end < fed1 < second_start
    assert second_end < fed2 < second_end + 1500
    # Timestamps are in stream time and bracket the words.
    assert 400 <= final1.start_ms < final1.end_ms <= first_end + 100
    assert second_start - 100 <= final2.start_ms < final2.end_ms <= second_end + 100
    for final in (final1, final2):
        assert len(key_words(final.text)) >= 3, final.text


@pytest.mark.slow
def test_interims_precede_final(recognizer: Recognizer, speech: np.ndarray) -> None:
    """Partial hypotheses arrive before the final, at most one per 500 ms of speech."""
    results = feed(recognizer.open_stream(), timeline(silence(0.5), speech, silence(1.0)))
    segments = [s for _, s in results]
    assert segments[-1].is_final
    interims = segments[:-1]
    assert len(interims) >= 3
    assert all(not s.is_final and s.confidence is None and s.text for s in interims)
    ends = [s.end_ms for s in interims]
    assert all(later - earlier >= 500 for earlier, later in zip(ends, ends[1:], strict=False))
    assert all(s.start_ms == interims[0].start_ms for s in interims)
    # The partial hypothesis grows towards the final text.
    assert key_words(interims[-1].text)


def test_silence_gives_no_text(recognizer: Recognizer) -> None:
    """Digital silence and faint noise produce no segments at all."""
    noise = np.random.default_rng(7).normal(0, 30, RATE * 3).astype(np.int16)  # about -60 dBFS
    assert feed(recognizer.open_stream(), timeline(silence(3.0))) == []
    assert feed(recognizer.open_stream(), timeline(noise)) == []


@pytest.mark.slow
def test_finish_flushes_utterance_in_progress(recognizer: Recognizer, speech: np.ndarray) -> None:
    """Audio that ends mid-utterance is decoded by finish(), not lost."""
    stream = recognizer.open_stream()
    pcm = timeline(silence(0.5), speech)
    during = [s for i in range(0, len(pcm), 640) for s in stream.accept(pcm[i : i + 640])]
    assert not any(s.is_final for s in during)
    [final] = stream.finish()
    assert final.is_final and len(key_words(final.text)) >= 3, final.text


@pytest.mark.slow
@pytest.mark.parametrize("rate", [48000, 22050])
def test_other_input_rates_are_resampled(rate: int, speech: np.ndarray) -> None:
    """Input at 48 kHz (WebRTC) or 22.05 kHz (odd ratio) is resampled and recognised."""
    recognizer = create_recognizer(sample_rate=rate)
    phrase = soxr.resample(speech, RATE, rate).astype(np.int16)
    pcm = timeline(silence(0.5, rate), phrase, silence(1.5, rate), phrase, silence(1.0, rate))
    results = feed(recognizer.open_stream(), pcm, chunk=rate // 25, rate=rate)
    first, second = finals(results)
    # The trip through another rate costs a word or two, mostly in the first
    # utterance (before the cepstral mean has adapted): count over both.
    assert len(key_words(first.text + " " + second.text)) >= 2, (first.text, second.text)
    # Times are in stream time whatever the input rate.
    assert 400 <= first.start_ms and first.end_ms <= 500 + len(speech) * 1000 // RATE + 100
    assert second.start_ms >= 2000 + len(speech) * 1000 // RATE - 100


@pytest.mark.slow
def test_resampled_results_are_repeatable(speech: np.ndarray) -> None:
    """The same 48 kHz audio gives the same results twice (no random dither)."""
    recognizer = create_recognizer(sample_rate=48000)
    pcm = timeline(silence(0.3, 48000), soxr.resample(speech, RATE, 48000).astype(np.int16), silence(0.8, 48000))
    first = [s for _, s in feed(recognizer.open_stream(), pcm, chunk=1920, rate=48000)]
    second = [s for _, s in feed(recognizer.open_stream(), pcm, chunk=1920, rate=48000)]
    assert first == second


@pytest.mark.slow
def test_without_second_pass_still_transcribes(speech: np.ndarray) -> None:
    """second_pass=False gives a final with text, just less accurate words."""
    recognizer = create_recognizer(second_pass=False)
    results = feed(recognizer.open_stream(), timeline(silence(0.5), speech, silence(1.0)))
    [final] = finals(results)
    assert key_words(final.text), final.text


@pytest.mark.slow
def test_chunking_does_not_change_results(recognizer: Recognizer, speech: np.ndarray) -> None:
    """Odd-sized chunks (split samples) give exactly the results of aligned chunks."""
    pcm = timeline(silence(0.3), speech, silence(0.8))
    aligned = [s for _, s in feed(recognizer.open_stream(), pcm, chunk=640)]
    odd = [s for _, s in feed(recognizer.open_stream(), pcm, chunk=999)]
    assert finals((0, s) for s in odd) == finals((0, s) for s in aligned)


@pytest.mark.slow
def test_reused_decoder_starts_fresh(speech: np.ndarray) -> None:
    """A stream on a pooled decoder gives the same result as on a new one."""
    recognizer = create_recognizer(max_idle_decoders=1)
    pcm = timeline(silence(0.3), speech, silence(0.8))
    first = finals(feed(recognizer.open_stream(), pcm))
    # Different audio in between adapts the decoder's cepstral mean.
    feed(recognizer.open_stream(), timeline(np.random.default_rng(3).normal(0, 3000, RATE).astype(np.int16)))
    again = finals(feed(recognizer.open_stream(), pcm))
    assert again == first


@pytest.mark.slow
def test_streams_in_threads_are_independent(recognizer: Recognizer, speech: np.ndarray) -> None:
    """Two streams decoded at once in worker threads give the single-thread result."""
    pcm = timeline(silence(0.3), speech, silence(0.8))
    expected = finals(feed(recognizer.open_stream(), pcm))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(lambda: finals(feed(recognizer.open_stream(), pcm))) for _ in range(2)]
        results = [f.result(timeout=60) for f in futures]
    assert results == [expected, expected]


def test_accept_after_finish_raises(recognizer: Recognizer) -> None:
    """A finished stream refuses audio and finish() is idempotent."""
    stream = recognizer.open_stream()
    stream.accept(bytes(640))
    assert stream.finish() == []
    assert stream.finish() == []
    with pytest.raises(StreamClosed):
        stream.accept(bytes(640))


def test_empty_and_one_byte_chunks(recognizer: Recognizer) -> None:
    """Empty and single-byte chunks are buffered, not errors."""
    stream = recognizer.open_stream()
    assert stream.accept(b"") == []
    assert stream.accept(b"\x01") == []
    assert stream.accept(b"\x00") == []
    assert stream.finish() == []


def test_protocols_are_satisfied(recognizer: Recognizer) -> None:
    """The PocketSphinx classes satisfy the Recognizer and RecognizerStream protocols."""
    assert isinstance(recognizer, Recognizer)
    stream = recognizer.open_stream()
    assert isinstance(stream, RecognizerStream)
    stream.finish()
    assert (recognizer.engine, recognizer.sample_rate, recognizer.language) == ("pocketsphinx", RATE, "en")


def test_unknown_engine_raises() -> None:
    """An unknown engine name raises RecognizerUnavailable carrying the name."""
    with pytest.raises(RecognizerUnavailable) as info:
        create_recognizer("vosk")
    assert info.value.engine == "vosk" and "pocketsphinx" in info.value.reason
    assert isinstance(info.value, TranscriptionError)


def test_unsupported_language_raises() -> None:
    """A language without a bundled model raises RecognizerUnavailable."""
    with pytest.raises(RecognizerUnavailable, match="'fr'"):
        create_recognizer(language="fr")
    assert create_recognizer(language="en-US").language == "en-US"


def test_missing_model_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A model that can't be loaded fails at creation with RecognizerUnavailable."""
    import pocketsphinx

    monkeypatch.setattr(pocketsphinx, "get_model_path", lambda sub=None: str(tmp_path / (sub or "")))
    with pytest.raises(RecognizerUnavailable, match="cannot load model"):
        PocketsphinxRecognizer()


def test_missing_engine_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the pocketsphinx package the error says how to install it."""
    import sys

    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(RecognizerUnavailable, match="pip install pocketsphinx"):
        create_recognizer()


@pytest.mark.parametrize("kwargs", [{"sample_rate": 0}, {"sample_rate": 16000.0}, {"interim_interval_s": 0}])
def test_bad_options_raise_value_error(kwargs: dict[str, object]) -> None:
    """Nonsense numeric options are rejected up front."""
    with pytest.raises(ValueError):
        create_recognizer(**kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_speech_at_run_time(recognizer: Recognizer) -> None:
    """Speech synthesised now by the installed espeak-ng is recognised too."""
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "140", "--stdout", PHRASE], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    pcm = soxr.resample(raw, rate, RATE).astype(np.int16)
    results = feed(recognizer.open_stream(), timeline(silence(0.5), pcm, silence(1.0)))
    text = " ".join(s.text for s in finals(results))
    # espeak-ng versions differ in voice; ask for fewer words than on the fixture.
    assert len(key_words(text)) >= 2, text
