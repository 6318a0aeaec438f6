"""Offline speech recognition for the embedded "local" room backend.

The local backend must produce transcripts with no network, so the engine and
its model have to come from a package registry.  PocketSphinx (PyPI
``pocketsphinx``) ships its US English acoustic model, language model and
dictionary inside the wheel, which makes it the one engine here that works
offline out of the box (Vosk and Whisper download their models at run time).

Usage::

    recognizer = create_recognizer("pocketsphinx", sample_rate=48000)
    stream = recognizer.open_stream()          # one per participant
    for chunk in pcm_chunks:                   # PCM16 mono at 48 kHz
        for segment in stream.accept(chunk):   # interim and final results
            ...
    segments = stream.finish()                 # flush the last utterance

The bundled model is wideband (16 kHz).  Any input rate is accepted and
resampled, but narrowband audio (8 kHz telephony) carries nothing above 4 kHz
and is recognised poorly by it.

Threading: recognition is CPU heavy (see ``RecognizerStream.accept``) and the
API is synchronous, so async callers must run ``accept``/``finish`` off the
event loop.  A stream owns its decoder, endpointer and resampler, so different
streams can be used from different threads; calls on one stream are serialised
by a lock.  PocketSphinx's Python binding does *not* release the GIL while
decoding, so threads do not decode in parallel, and a loop thread still waits
for each C call: ~3 ms per 30 ms frame, but 130-400 ms for the second pass at
the end of each utterance (``second_pass=False`` cuts it to ~15 ms at a clear
cost in accuracy).  So a server runs recognizers in a worker process:
``gateway.media.transcribe_worker.RecognizerWorker`` hosts any ``Recognizer``
in a spawned child and gives async ``accept``/``finish`` over a pipe.
Cost: about 0.16 s of CPU per second of audio (silence is nearly free) and
about 95 MB per concurrently open stream.

Error tree::

    TranscriptionError
    ├── RecognizerUnavailable   engine or language can't be loaded
    ├── StreamClosed            accept() after finish()
    └── WorkerDied              (transcribe_worker) the recognition process exited
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "ENGINE_SAMPLE_RATE",
    "Recognizer",
    "RecognizerStream",
    "RecognizerUnavailable",
    "StreamClosed",
    "TranscriptSegment",
    "TranscriptionError",
    "create_recognizer",
    "PocketsphinxRecognizer",
]

logger = logging.getLogger("gateway.media.transcribe")

ENGINE_SAMPLE_RATE = 16000
"""Sample rate PocketSphinx's shipped en-us model was trained on."""


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """One recognition result for a stretch of one participant's audio.

    Times are milliseconds since the stream was opened, counted in audio
    samples fed (not wall clock), so they stay exact when decoding lags.
    """

    text: str
    """Recognised words separated by single spaces, lower case."""
    is_final: bool
    """False for a partial hypothesis of an utterance still in progress."""
    start_ms: int
    """Start of the utterance (interim) or of its first word (final)."""
    end_ms: int
    """End of the audio decoded so far (interim) or of the last word (final)."""
    confidence: float | None
    """Mean word posterior in [0, 1] for finals; None when unknown (interims)."""


class TranscriptionError(Exception):
    """Base class of this module's errors."""


class RecognizerUnavailable(TranscriptionError):
    """The requested engine, model or language can't be loaded here."""

    def __init__(self, engine: str, reason: str) -> None:
        super().__init__(f"speech recognizer {engine!r} unavailable: {reason}")
        self.engine = engine
        """Engine name that was asked for."""
        self.reason = reason
        """Why it can't be used, with a hint at the fix where there is one."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its fields, so it survives the pipe from a recognition process.
        return (type(self), (self.engine, self.reason))


class StreamClosed(TranscriptionError):
    """Audio was given to a stream after ``finish()``."""


@runtime_checkable
class RecognizerStream(Protocol):
    """Incremental recognition of one continuous audio stream (one speaker)."""

    def accept(self, pcm: bytes) -> list[TranscriptSegment]:
        """Feed PCM16 little-endian mono audio; return results it completed.

        Blocks for the decoding time (CPU bound): don't call on the event loop.

        Raises:
            StreamClosed: after ``finish()``.
        """
        ...

    def finish(self) -> list[TranscriptSegment]:
        """End the stream: decode what is buffered and return the last finals.

        Always call it (also on abandoned streams) so that engines which pool
        their decoders get this one back.  Idempotent: later calls return [].
        """
        ...


@runtime_checkable
class Recognizer(Protocol):
    """A loaded engine from which per-participant streams are opened."""

    engine: str
    sample_rate: int
    language: str

    def open_stream(self) -> RecognizerStream:
        """Start an independent stream whose times start at zero."""
        ...


_LANGUAGES = {"en": "en-us", "en-us": "en-us"}
"""Language tags accepted, mapped to the model directory shipped in the wheel."""


def create_recognizer(
    engine: str = "pocketsphinx",
    *,
    sample_rate: int = 16000,
    language: str = "en",
    **options: Any,
) -> Recognizer:
    """Load a recognizer engine, failing now rather than at the first audio.

    Args:
        engine: engine name; only ``"pocketsphinx"`` exists so far.
        sample_rate: rate of the PCM given to ``accept``, resampled to the
            engine's rate when it differs.
        language: BCP 47 tag; PocketSphinx ships only US English (``"en"``).
        options: engine specific keyword options, see ``PocketsphinxRecognizer``.

    Raises:
        RecognizerUnavailable: unknown engine, engine not installed, model
            missing, or language not shipped.
        ValueError: sample_rate is not a positive integer.
    """
    if engine == "pocketsphinx":
        return PocketsphinxRecognizer(sample_rate=sample_rate, language=language, **options)
    raise RecognizerUnavailable(engine, "unknown engine; available: 'pocketsphinx'")


class PocketsphinxRecognizer:
    """PocketSphinx with its bundled en-us model and its own VAD endpointer.

    Each stream needs its own decoder (the decoder is stateful and not
    thread safe), and a decoder holds about 90 MB and takes about 0.2 s to
    load, so finished streams hand their decoder back to a small idle pool
    that the next ``open_stream`` reuses.
    """

    engine = "pocketsphinx"

    def __init__(
        self,
        *,
        sample_rate: int = 16000,
        language: str = "en",
        pause_s: float = 0.5,
        interim_interval_s: float = 0.5,
        vad_mode: int = 0,
        second_pass: bool = True,
        max_idle_decoders: int = 2,
    ) -> None:
        """Load the engine and one decoder.

        Args:
            sample_rate: input PCM rate.
            language: see ``create_recognizer``.
            pause_s: silence that ends an utterance (the endpointer window;
                90 % of it must be non-speech).  Also the delay of a final.
            interim_interval_s: speech decoded between two interim results.
            vad_mode: endpointer VAD aggressiveness 0 (loose) to 3 (strict).
            second_pass: rescore each utterance with PocketSphinx's flat
                lexicon search ("fwdflat"): far better words on our tests,
                but 100-200 ms of GIL-holding CPU when an utterance ends.
            max_idle_decoders: decoders kept loaded after their stream ends.

        Raises:
            RecognizerUnavailable: see ``create_recognizer``.
            ValueError: invalid numeric option.
        """
        if not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
        if interim_interval_s <= 0:
            raise ValueError(f"interim_interval_s must be > 0, got {interim_interval_s!r}")
        model = _LANGUAGES.get(language.lower())
        if model is None:
            raise RecognizerUnavailable(
                self.engine,
                f"language {language!r} has no bundled model; supported: 'en'",
            )
        try:
            import pocketsphinx
        except ImportError as exc:
            raise RecognizerUnavailable(
                self.engine, f"cannot import pocketsphinx ({exc}); pip install pocketsphinx"
            ) from exc
        self._ps = pocketsphinx
        self.sample_rate = sample_rate
        """Rate of the PCM callers feed."""
        self.language = language
        """Language tag asked for."""
        self.pause_s = pause_s
        self.interim_interval_s = interim_interval_s
        self.vad_mode = vad_mode
        self._decoder_config = {
            "hmm": pocketsphinx.get_model_path(f"{model}/{model}"),
            "lm": pocketsphinx.get_model_path(f"{model}/{model}.lm.bin"),
            "dict": pocketsphinx.get_model_path(f"{model}/cmudict-{model}.dict"),
            "samprate": ENGINE_SAMPLE_RATE,
            "fwdflat": second_pass,
            "loglevel": "FATAL",  # it logs every utterance to stderr otherwise
        }
        self._max_idle = max_idle_decoders
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        # Validate the endpointer parameters and load a decoder now, so that a
        # broken install fails at start-up and the first stream opens fast.
        self._new_endpointer()
        self._idle.append(self._load_decoder())

    def open_stream(self) -> PocketsphinxStream:
        """Start a stream; reuses an idle decoder when one is loaded."""
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
        if decoder is None:
            decoder = self._load_decoder()
        else:
            # The cepstral mean and noise estimate adapt to each speaker; start
            # from the model's defaults so a stream never depends on the last.
            decoder.reinit_feat()
        return PocketsphinxStream(self, decoder, self._new_endpointer())

    def _load_decoder(self) -> Any:
        try:
            return self._ps.Decoder(**self._decoder_config)
        except (RuntimeError, ValueError, OSError) as exc:
            raise RecognizerUnavailable(self.engine, f"cannot load model {self._decoder_config['hmm']}: {exc}") from exc

    def _new_endpointer(self) -> Any:
        try:
            return self._ps.Endpointer(
                window=self.pause_s,
                vad_mode=self.vad_mode,
                sample_rate=ENGINE_SAMPLE_RATE,
            )
        except ValueError as exc:
            raise ValueError(
                f"invalid endpointer options pause_s={self.pause_s!r} vad_mode={self.vad_mode!r}: {exc}"
            ) from exc

    def _release_decoder(self, decoder: Any) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(decoder)


class PocketsphinxStream:
    """One participant's audio: resample, endpoint, decode.

    Pipeline per ``accept``: bytes -> int16 -> (soxr stream resampler) ->
    30 ms frames -> PocketSphinx endpointer (VAD with ``pause_s`` hangover)
    -> decoder.  An utterance starts when the endpointer reports speech and
    ends, with a final result, when it reports the pause.
    """

    def __init__(self, owner: PocketsphinxRecognizer, decoder: Any, endpointer: Any) -> None:
        self._owner = owner
        self._decoder = decoder
        self._ep = endpointer
        self._frame_bytes: int = endpointer.frame_bytes
        self._lock = threading.Lock()
        self._closed = False
        self._carry = b""  # odd trailing byte of the last chunk
        self._pending = bytearray()  # engine-rate PCM not yet a full frame
        self._resampler: Any = None
        if owner.sample_rate != ENGINE_SAMPLE_RATE:
            import soxr

            # A streaming resampler keeps filter state between chunks; calling
            # soxr.resample per chunk would click at every chunk boundary.
            # float32, not int16: soxr dithers int16 output with a random seed,
            # which made the same audio give different words from run to run.
            self._resampler = soxr.ResampleStream(owner.sample_rate, ENGINE_SAMPLE_RATE, 1, dtype="float32")
        self._interim_samples = int(owner.interim_interval_s * ENGINE_SAMPLE_RATE)
        self._in_utt = False
        self._utt_start_s = 0.0
        self._utt_samples = 0
        self._next_interim = 0
        self._last_interim = ""

    def accept(self, pcm: bytes) -> list[TranscriptSegment]:
        """See ``RecognizerStream.accept``."""
        with self._lock:
            if self._closed:
                raise StreamClosed("accept() called after finish()")
            data = self._carry + bytes(pcm) if self._carry else pcm
            usable = len(data) & ~1
            self._carry = bytes(data[usable:])
            if usable == 0:
                return []
            samples = np.frombuffer(data, dtype="<i2", count=usable // 2)
            if self._resampler is not None:
                samples = _to_int16(self._resampler.resample_chunk(samples.astype(np.float32)))
            self._pending += samples.tobytes()
            out: list[TranscriptSegment] = []
            self._run_frames(out)
            return out

    def finish(self) -> list[TranscriptSegment]:
        """See ``RecognizerStream.finish``."""
        with self._lock:
            if self._closed:
                return []
            self._closed = True
            out: list[TranscriptSegment] = []
            try:
                if self._resampler is not None:
                    tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
                    self._pending += _to_int16(tail).tobytes()
                self._run_frames(out)
                if self._ep.in_speech:
                    # end_stream needs a non-empty buffer of at most one frame.
                    rest = bytes(self._pending) or b"\0\0"
                    speech = self._ep.end_stream(rest)
                    if speech:
                        self._process_speech(speech, out)
                if self._in_utt:
                    self._end_utterance(self._ep.speech_end, out)
            finally:
                self._pending.clear()
                if not self._in_utt:  # else an error left it mid-utterance: drop it
                    self._owner._release_decoder(self._decoder)
                self._decoder = None
            return out

    def _run_frames(self, out: list[TranscriptSegment]) -> None:
        n = self._frame_bytes
        buf = self._pending
        view = memoryview(buf)
        offset = 0
        try:
            while len(buf) - offset >= n:
                speech = self._ep.process(view[offset : offset + n])
                offset += n
                if speech is None:
                    continue
                self._process_speech(speech, out)
                if not self._ep.in_speech:
                    self._end_utterance(self._ep.speech_end, out)
        finally:
            view.release()
            del buf[:offset]

    def _start_utterance(self) -> None:
        self._decoder.start_utt()
        self._in_utt = True
        self._utt_start_s = self._ep.speech_start
        self._utt_samples = 0
        self._next_interim = self._interim_samples
        self._last_interim = ""

    def _process_speech(self, speech: bytes, out: list[TranscriptSegment]) -> None:
        if not self._in_utt:
            # The endpointer just reported speech, so speech_start is this one's.
            self._start_utterance()
        self._decoder.process_raw(speech, False, False)
        self._utt_samples += len(speech) // 2
        if self._utt_samples >= self._next_interim:
            self._next_interim = self._utt_samples + self._interim_samples
            hyp = self._decoder.hyp()
            text = hyp.hypstr if hyp is not None else ""
            if text and text != self._last_interim:
                self._last_interim = text
                start_ms = round(self._utt_start_s * 1000)
                end_ms = start_ms + self._utt_samples * 1000 // ENGINE_SAMPLE_RATE
                out.append(TranscriptSegment(text, False, start_ms, end_ms, None))

    def _end_utterance(self, end_s: float, out: list[TranscriptSegment]) -> None:
        decoder = self._decoder
        decoder.end_utt()
        self._in_utt = False
        hyp = decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        if not text:
            return  # noise the VAD took for speech: nothing to report
        utt_ms = round(self._utt_start_s * 1000)
        frate = int(decoder.config["frate"])  # feature frames per second
        words = [s for s in decoder.seg() if not _is_filler(s.word)]
        if words:
            start_ms = utt_ms + words[0].start_frame * 1000 // frate
            end_ms = utt_ms + (words[-1].end_frame + 1) * 1000 // frate
            confidence = float(sum(s.prob for s in words) / len(words))
        else:
            start_ms, end_ms, confidence = utt_ms, round(end_s * 1000), None
        out.append(TranscriptSegment(text, True, start_ms, end_ms, confidence))


def _to_int16(samples: np.ndarray) -> np.ndarray:
    """Round resampled PCM16-scaled floats back to int16, clipping overshoot."""
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2")


def _is_filler(word: str) -> bool:
    """Silence, sentence markers and noise words: <s>, </s>, <sil>, [NOISE]."""
    return word.startswith(("<", "["))
