"""Participant tracks on their way to one client: resample, reframe, VAD, level, encode.

Each (participant, source) a session hears gets an :class:`InboundTrack` with its own
track id (announced by ``track-started``), its own resampler state and its own voice
activity detector, so one participant's audio never disturbs another's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol.media import encode_audio

from .backends.base import AudioFormat
from .media.framing import Framer, frame_bytes
from .media.level import LevelMeter
from .media.resample import Resampler, convert_channels
from .media.vad import VadParams, VadTransition, VoiceActivityDetector

FIRST_TRACK_ID = 16
"""Gateway-assigned track ids start here; 1-15 are the client's own outbound tracks."""


class InboundTrack:
    """One participant audio track relayed to one client in the client's format."""

    def __init__(
        self,
        track_id: int,
        participant_id: str,
        source: str,
        out: AudioFormat,
        frame_ms: int,
        send: Callable[[bytes], None],
        *,
        vad: VadParams | None = None,
        on_speech: Callable[[InboundTrack, VadTransition], None] | None = None,
    ) -> None:
        self.track_id = track_id
        self.participant_id = participant_id
        self.source = source
        self.out = out
        self.frame_ms = frame_ms
        self._send = send
        self._framer = Framer(frame_bytes(out.sample_rate, out.channels, frame_ms))
        self._resampler: Resampler | None = None
        self._in: tuple[int, int] | None = None
        self._vad = VoiceActivityDetector(out.sample_rate, out.channels, vad) if vad is not None else None
        self._on_speech = on_speech
        self.meter = LevelMeter(out.sample_rate, out.channels)
        self.seq = 0
        self.frames = 0

    @property
    def speaking(self) -> bool:
        return bool(self._vad and self._vad.speaking)

    def describe(self) -> dict[str, object]:
        """The ``track-started`` / ``track-stopped`` event data."""
        return {
            "track": self.track_id,
            "participant_id": self.participant_id,
            "kind": "audio",
            "source": self.source,
            "sample_rate": self.out.sample_rate,
            "channels": self.out.channels,
            "frame_ms": self.frame_ms,
        }

    def push(self, pcm: bytes, sample_rate: int, channels: int) -> None:
        """Take a chunk at the source format; send every whole frame it completes."""
        if self._in != (sample_rate, channels):
            self._in = (sample_rate, channels)
            self._resampler = Resampler(sample_rate, self.out.sample_rate, self.out.channels)
        if channels != self.out.channels:
            pcm = convert_channels(pcm, channels, self.out.channels)
        assert self._resampler is not None
        data = self._resampler.process(pcm)
        if not data:
            return
        timestamp_us = time.time_ns() // 1000
        out = self.out
        for frame in self._framer.push(data):
            self.seq += 1
            self.frames += 1
            self._send(encode_audio(self.track_id, self.seq, timestamp_us, out.sample_rate, out.channels, frame))
            self.meter.push(frame)
            if self._vad is not None:
                for transition in self._vad.process(frame):
                    if self._on_speech is not None:
                        self._on_speech(self, transition)
