"""The room's media on its way to one client: a track per participant source, speech, levels.

Each (participant, source) the session hears gets an :class:`~gateway.session.tracks.InboundTrack` the
first time its audio arrives (``track-started``), in the format the client asked for at
``join`` / ``observe``; each participant video it captures (``capture-participant-video``) is
a :class:`~gateway.session.tracks.VideoTrack`. Both share one track id space and the outbox's media
queue, which holds ``media_queue_ms`` per open track (PROTOCOL.md, "Slow clients").
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from protocol.errors import ErrorCode

from ..backends.base import AudioFormat, RawVideoFrame
from ..media.filters import FilterSpec
from ..media.vad import VadParams, VadTransition
from .state import SessionState
from .tracks import FIRST_TRACK_ID, InboundTrack, VideoTrack

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("gateway.session")

TrackKey = tuple[str, str]
"""(participant id, source)."""


class Receiver:
    """The tracks one session receives: audio per participant source and captured videos."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.outbox = session.outbox
        self.config = session.config
        self.audio: dict[TrackKey, InboundTrack] = {}
        self.video: dict[TrackKey, VideoTrack] = {}
        """Captured participant video (``capture-participant-video``), by (participant id, source)."""
        self._next_track = FIRST_TRACK_ID
        self.format: AudioFormat | None = None
        """What each audio track is converted to (``audio_in``); None: the session receives no audio."""
        self.frame_ms = 20
        self.vad: VadParams | None = None
        self.filter: FilterSpec | None = None
        """``join.audio_in.filter``: each received track's input filter (None: unfiltered)."""
        self.analysis_only = False
        """An observer with ``audio`` ``analysis``: speech and levels, no frames."""

    def configure(
        self,
        audio: AudioFormat | None,
        frame_ms: int,
        vad: VadParams | None,
        audio_filter: FilterSpec | None,
        *,
        analysis_only: bool = False,
    ) -> None:
        """What the session asked for at ``join`` or ``observe``; tracks started from now on use it."""
        self.format = audio
        self.frame_ms = frame_ms
        self.vad = vad
        self.filter = audio_filter
        self.analysis_only = analysis_only

    # ------------------------------------------------------------------ audio, per frame

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        track = self.audio.get((participant_id, source))
        if track is None:
            track = self._start_audio(participant_id, source)
            if track is None:
                return
        try:
            track.push(pcm, sample_rate, channels)
        except Exception:
            # Called from the room's fan-out: a failure here must not reach the
            # publisher or the other receivers. Drop this track and tell the client.
            self._track_failed(participant_id, source, "relaying")

    def on_audio_flush(self, participant_id: str, source: str) -> None:
        track = self.audio.get((participant_id, source))
        if track is not None:
            try:
                track.flush()
            except Exception:
                self._track_failed(participant_id, source, "flushing")

    def _track_failed(self, participant_id: str, source: str, doing: str) -> None:
        log.exception("%s %s/%s to %s failed", doing, participant_id, source, self.session.id[:8])
        self.stop((participant_id, source))
        self.outbox.event(
            "error",
            {"code": ErrorCode.INTERNAL.value, "message": f"relaying {participant_id}'s {source} failed; track stopped"},
        )

    def _start_audio(self, participant_id: str, source: str) -> InboundTrack | None:
        fmt = self.format
        if fmt is None or self.session.state not in (SessionState.JOINED, SessionState.OBSERVING):
            return None
        track = InboundTrack(
            self.allocate_track(),
            participant_id,
            source,
            fmt,
            self.frame_ms,
            _discard if self.analysis_only else self.outbox.media,
            vad=self.vad,
            on_speech=self._on_speech,
            audio_filter=self.filter,
        )
        self.audio[(participant_id, source)] = track
        self._resize_media_queue()
        self.outbox.event("track-started", track.describe())
        return track

    def _on_speech(self, track: InboundTrack, transition: VadTransition) -> None:
        self.outbox.event(
            "speech-started" if transition.speaking else "speech-stopped",
            {"participant_id": track.participant_id, "track": track.track_id, "offset_ms": transition.offset_ms},
        )
        # The speech began (ended) this long before now, in the track's audio (PROTOCOL.md 9.5).
        delay = track.vad_position_ms - transition.speech_ms if transition.speech_ms >= 0 else 0
        self.session.turn_log.speech(track.participant_id, transition.speaking, delay)

    # ------------------------------------------------------------------ video

    def on_video(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        track = self.video.get((participant_id, source))
        if track is not None:
            track.push(frame)

    def add_video(self, track: VideoTrack) -> None:
        """Hold a new capture (one already held for its participant and source is stopped first)."""
        key = (track.participant_id, track.source)
        self.stop(key)
        self.video[key] = track
        self._resize_media_queue()

    def captured(self, participant_id: str, source: str) -> VideoTrack | None:
        return self.video.get((participant_id, source))

    # ------------------------------------------------------------------ ending tracks

    def stop(self, key: TrackKey) -> None:
        """Close the track(s) of ``key``: ``track-stopped`` after its last frame (and ``speech-stopped`` if it spoke)."""
        video = self.video.pop(key, None)
        if video is not None:
            video.close()
            self.outbox.event_after_media("track-stopped", video.describe())
            self._resize_media_queue()
        track = self.audio.pop(key, None)
        if track is None:
            return
        track.close()
        if track.speaking:
            self.outbox.event("speech-stopped", {"participant_id": track.participant_id, "track": track.track_id})
            self.session.turn_log.speech(track.participant_id, False, 0)
        self.outbox.event_after_media("track-stopped", track.describe())
        self._resize_media_queue()

    def participant_left(self, participant_id: object) -> None:
        for key in [k for k in (*self.audio, *self.video) if k[0] == participant_id]:
            self.stop(key)

    def stop_all(self, *, video: bool = True) -> None:
        for key in [*self.audio, *(self.video if video else ())]:
            self.stop(key)

    # ------------------------------------------------------------------ bookkeeping

    def allocate_track(self) -> int:
        """The next free track id (16-65535, wrapping; ids in use are skipped)."""
        in_use = {t.track_id for t in self.audio.values()} | {v.track_id for v in self.video.values()}
        while self._next_track in in_use or self._next_track > 0xFFFF:
            self._next_track = FIRST_TRACK_ID if self._next_track > 0xFFFF else self._next_track + 1
        track_id = self._next_track
        self._next_track += 1
        return track_id

    def _resize_media_queue(self) -> None:
        """Hold ``media_queue_ms`` of frames per open track (PROTOCOL.md, "Slow clients")."""
        per_track = max(5, self.config.media_queue_ms // max(10, self.frame_ms))
        self.outbox.media_limit = per_track * max(1, len(self.audio) + len(self.video))

    async def levels_loop(self, interval_s: float) -> None:
        """``audio-levels`` every ``interval_s`` while joined or observing (``levels_interval_ms``)."""
        while self.session.state in (SessionState.JOINED, SessionState.OBSERVING):
            await asyncio.sleep(interval_s)
            if self.audio:
                self.outbox.event(
                    "audio-levels",
                    {
                        "levels": [
                            {
                                "track": t.track_id,
                                "participant_id": t.participant_id,
                                "level": round(min(1.0, t.meter.value), 4),
                                "speaking": t.speaking,
                            }
                            for t in self.audio.values()
                        ]
                    },
                )


def _discard(frame: bytes) -> None:
    """Media sink of an observer that asked for analysis only (audio=analysis)."""
