"""Recognizers for the transcription tests, importable by a recognition process (spawned children unpickle them).

Not a test module: the factories must live at module level so that ``pickle`` can name them.
"""

from __future__ import annotations

import os

from gateway.media.transcribe import RecognizerUnavailable, TranscriptSegment


class FakeStream:
    """Says "hello" (interim, then final) once it has heard 0.5 s at 16 kHz; "bye" at finish."""

    def __init__(self) -> None:
        self.samples = 0
        self.finished = False

    def accept(self, data: bytes) -> list[TranscriptSegment]:
        before, self.samples = self.samples, self.samples + len(data) // 2
        if before < 8000 <= self.samples:
            return [TranscriptSegment("hel", False, 100, 400, None), TranscriptSegment("hello", True, 100, 450, 0.9)]
        return []

    def finish(self) -> list[TranscriptSegment]:
        if self.finished:
            return []
        self.finished = True
        return [TranscriptSegment(f"bye from {os.getpid()}", True, 600, 700, 0.5)]


class FakeRecognizer:
    engine = "fake"
    sample_rate = 16000
    language = "en"

    def open_stream(self) -> FakeStream:
        return FakeStream()


def fake_recognizer() -> FakeRecognizer:
    """The factory a worker process runs."""
    return FakeRecognizer()


def unavailable_recognizer() -> FakeRecognizer:
    """A factory whose engine cannot load."""
    raise RecognizerUnavailable("fake", "no model here")
