"""Participant tracks on their way to one client: resample, reframe, VAD, level, encode.

Each (participant, source) a session hears gets an :class:`InboundTrack` with its own
track id (announced by ``track-started``), its own resampler state, input filter and voice
activity detector, so one participant's audio never disturbs another's. Each participant
video a session captures gets a :class:`VideoTrack`: rate-limited, latest frame wins,
converted to the client's color format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from protocol.constants import ColorFormat
from protocol.media import encode_audio, encode_video

from ..backends.base import AudioFormat, RawVideoFrame
from ..media.colors import VideoFormatError, convert_frame
from ..media.filters import FilterSpec, NoiseReduceFilter, make_filter
from ..media.framing import Framer, frame_bytes
from ..media.level import LevelMeter
from ..media.resample import StreamResampler, convert_channels, live_resampler
from ..media.vad import VadParams, VadTransition, VoiceActivityDetector

log = logging.getLogger("gateway.tracks")

FIRST_TRACK_ID = 16
"""Gateway-assigned track ids start here; 1-15 are the client's own outbound tracks."""
FILTER_BACKLOG_MS = 2000
"""Audio waiting for a busy input filter beyond this is dropped, oldest first (counted in
``filter_dropped_ms``): a filter slower than real time must not grow memory or delay without bound."""


class InboundTrack:
    """One participant audio track relayed to one client in the client's format.

    With an input filter (``audio_filter``), resampled audio goes through it in a worker thread,
    one call in flight per track, before framing, VAD and levels: the client and VAD get the
    filtered audio, :attr:`filter_latency_ms` later. Without one, everything runs inline.
    """

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
        audio_filter: FilterSpec | None = None,
    ) -> None:
        self.track_id = track_id
        self.participant_id = participant_id
        self.source = source
        self.out = out
        self.frame_ms = frame_ms
        self._send = send
        self._framer = Framer(frame_bytes(out.sample_rate, out.channels, frame_ms))
        self._resampler: StreamResampler | None = None
        self._in: tuple[int, int] | None = None
        self._vad = (
            VoiceActivityDetector(out.sample_rate, out.channels, vad, frame_ms=frame_ms) if vad is not None else None
        )
        self._on_speech = on_speech
        self.meter = LevelMeter(out.sample_rate, out.channels)
        self.seq = 0
        self.frames = 0
        self._filter: NoiseReduceFilter | None = (
            make_filter(audio_filter, out.sample_rate, out.channels) if audio_filter is not None else None
        )
        self._filter_in = bytearray()
        self._filter_busy = False
        self._backlog_bytes = frame_bytes(out.sample_rate, out.channels, FILTER_BACKLOG_MS)
        self.filter_dropped_ms = 0.0
        """Audio dropped because the filter fell more than FILTER_BACKLOG_MS behind."""
        self.closed = False

    @property
    def filter_latency_ms(self) -> float:
        """Delay the input filter adds (0 without one)."""
        return self._filter.latency_ms if self._filter is not None else 0.0

    def stats(self) -> dict[str, object]:
        """``get-stats`` entry: :meth:`describe` plus the input filter's delay and drops, when filtered."""
        out = self.describe()
        if self._filter is not None:
            out["filter_latency_ms"] = round(self._filter.latency_ms, 1)
            out["filter_dropped_ms"] = round(self.filter_dropped_ms, 1)
        return out

    def close(self) -> None:
        """The track stopped: a filter result that comes back later is dropped, not sent."""
        self.closed = True
        self._filter_in.clear()

    @property
    def speaking(self) -> bool:
        return bool(self._vad and self._vad.speaking)

    @property
    def vad_position_ms(self) -> int:
        """The VAD's stream position (ms of this track's audio it classified): where "now" is for a transition."""
        return self._vad.position_ms if self._vad is not None else 0

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
        out_channels = self.out.channels
        if self._in != (sample_rate, channels):
            self._in = (sample_rate, channels)
            # Downmixed before and upmixed after resampling: the filter runs on as few channels as it can.
            self._resampler = live_resampler(sample_rate, self.out.sample_rate, min(channels, out_channels))
        if channels > out_channels:
            pcm = convert_channels(pcm, channels, out_channels)
        assert self._resampler is not None
        data = self._resampler.process(pcm)
        if not data:
            return
        if channels < out_channels:
            data = convert_channels(data, channels, out_channels)
        self._deliver(data)

    def flush(self) -> None:
        """The publisher's audio stopped (its playout span ended: ``clear-audio``, drained, stopped).

        What the resampler still holds (its delayed tail) and the framer's partial frame go out
        now, padded with silence to a whole frame, so nothing of that audio comes out later, at
        the start of the next utterance (PROTOCOL.md, "Publishing audio"). A frame that would
        hold only digital silence is not sent. With an input filter the tail goes through it,
        and what the filter holds comes out with the next audio (9.4).
        """
        data = self._resampler.flush() if self._resampler is not None else b""
        if data and self._in is not None and self._in[1] < self.out.channels:
            data = convert_channels(data, self._in[1], self.out.channels)
        if self._filter is not None:
            if data:
                self._deliver(data)
        else:
            if data:
                self._emit(data)
            rest = self._framer.flush(pad=True)
            if rest is not None and any(rest):
                self._send_frame(rest, time.time_ns() // 1000)
        if self._vad is not None:
            transition = self._vad.pause()
            if transition is not None and self._on_speech is not None:
                self._on_speech(self, transition)

    def _deliver(self, data: bytes) -> None:
        """Resampled audio in the client's format: through the input filter if any, else framed and sent."""
        if self._filter is not None:
            self._filter_in += data
            excess = len(self._filter_in) - self._backlog_bytes
            if excess > 0:
                excess += -excess % (2 * self.out.channels)
                del self._filter_in[:excess]
                self.filter_dropped_ms += excess * 1000 / (2 * self.out.channels * self.out.sample_rate)
            self._run_filter()
            return
        self._emit(data)

    def _run_filter(self) -> None:
        if self._filter_busy or not self._filter_in or self.closed or self._filter is None:
            return
        chunk = bytes(self._filter_in)
        self._filter_in.clear()
        self._filter_busy = True
        future = asyncio.get_running_loop().run_in_executor(None, self._filter.process, chunk)
        future.add_done_callback(self._filtered)

    def _filtered(self, future: asyncio.Future[bytes]) -> None:
        self._filter_busy = False
        if self.closed:
            return
        try:
            data = future.result()
        except Exception:
            # A broken filter must not silence the participant: relay unfiltered from now on.
            log.exception("track %d: input filter failed; relaying unfiltered audio", self.track_id)
            self._filter = None
            data = bytes(self._filter_in)
            self._filter_in.clear()
        if data:
            self._emit(data)
        self._run_filter()

    def _emit(self, data: bytes) -> None:
        """Frame, send, meter and VAD audio in the client's format."""
        timestamp_us = time.time_ns() // 1000
        for frame in self._framer.push(data):
            self._send_frame(frame, timestamp_us)

    def _send_frame(self, frame: bytes, timestamp_us: int) -> None:
        out = self.out
        self.seq += 1
        self.frames += 1
        self._send(encode_audio(self.track_id, self.seq, timestamp_us, out.sample_rate, out.channels, frame))
        self.meter.push(frame)
        if self._vad is not None:
            for transition in self._vad.process(frame):
                if self._on_speech is not None:
                    self._on_speech(self, transition)


VIDEO_QUEUE_LIMIT = 4
"""A video track sends no new frame while the session's media queue holds this many frames or more:
the client is behind, and the frame waiting is replaced by fresher ones meanwhile (latest wins)."""
_VIDEO_RETRY_S = 0.01


class VideoTrack:
    """One participant's video relayed to one client: at most ``framerate`` frames per second,
    the latest frame winning, converted to the client's color format off the event loop.

    Framerate 0 sends nothing by itself: each :meth:`request_frame` sends the latest frame
    (or the next one, if none has arrived yet). A request works at any framerate.

    Args:
        track_id: the client's track id for it (``track-started``).
        participant_id, source: whose video (camera or screenVideo).
        color_format: what the client receives (Daily's names: RGB, RGBA, BGRA, ARGB, ABGR, BGR, I420).
        framerate: frames per second, 0 for on request only.
        send: queues one binary frame to the client.
        ready: False while the client is too far behind to take another frame.
    """

    def __init__(
        self,
        track_id: int,
        participant_id: str,
        source: str,
        color_format: str,
        framerate: float,
        send: Callable[[bytes], None],
        *,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.track_id = track_id
        self.participant_id = participant_id
        self.source = source
        self.color_format = ColorFormat[color_format]
        self.framerate = framerate
        self._send = send
        self._ready = ready
        self._latest: RawVideoFrame | None = None
        self._fresh = False
        """The latest frame has not been sent yet."""
        self._wanted = False
        """A frame was requested and not sent yet."""
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_sent = -1e9
        self.started = False
        """Frames are kept, not sent, until :meth:`start` (after ``track-started`` is queued)."""
        self.closed = False
        self.seq = 0
        self.frames_in = 0
        self.frames_sent = 0
        self.frames_skipped = 0
        """Frames replaced by a newer one before they could be sent (rate limit, slow client)."""
        self.conversion_errors = 0

    def describe(self) -> dict[str, object]:
        """The ``track-started`` / ``track-stopped`` event data."""
        return {
            "track": self.track_id,
            "participant_id": self.participant_id,
            "kind": "video",
            "source": self.source,
            "color_format": self.color_format.name,
            "framerate": self.framerate,
        }

    def push(self, frame: RawVideoFrame) -> None:
        """A new frame from the room (any rate); it replaces one not sent yet."""
        self.frames_in += 1
        if self._fresh:
            self.frames_skipped += 1
        self._latest = frame
        self._fresh = True
        self._pump()

    def request_frame(self) -> None:
        """Send one frame now: the latest, or the next to arrive."""
        self._wanted = True
        self._pump()

    def start(self) -> None:
        """Begin sending (frames that arrived before are not lost: the latest goes out)."""
        self.started = True
        self._pump()

    def close(self) -> None:
        self.closed = True
        self._latest = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _pump(self) -> None:
        if not self.started or self.closed or self._busy or self._timer is not None or self._latest is None:
            return
        if not self._wanted and not (self._fresh and self.framerate > 0):
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = 0.0
        if not self._ready():
            wait = _VIDEO_RETRY_S
        elif not self._wanted:
            wait = self._last_sent + 1.0 / self.framerate - now
        if wait > 0:
            self._timer = loop.call_later(wait, self._on_timer)
            return
        frame = self._latest
        self._fresh = self._wanted = False
        self._last_sent = now
        target = self.color_format.name
        if frame.color_format.upper() == target:
            self._deliver(frame, frame.buffer)
            return
        # Conversion costs milliseconds per HD frame: off the loop, one at a time per track.
        self._busy = True
        future = loop.run_in_executor(
            None, convert_frame, frame.buffer, frame.width, frame.height, frame.color_format, target
        )
        future.add_done_callback(lambda f: self._converted(frame, f))

    def _on_timer(self) -> None:
        self._timer = None
        self._pump()

    def _converted(self, frame: RawVideoFrame, future: asyncio.Future[bytes]) -> None:
        self._busy = False
        if self.closed:
            return
        try:
            pixels = future.result()
        except VideoFormatError:
            self.conversion_errors += 1
            log.warning("track %d: cannot convert %s %dx%d to %s", self.track_id, frame.color_format,
                        frame.width, frame.height, self.color_format.name)
        else:
            self._deliver(frame, pixels)
        self._pump()

    def _deliver(self, frame: RawVideoFrame, pixels: bytes | memoryview) -> None:
        self.seq += 1
        self.frames_sent += 1
        self._send(
            encode_video(self.track_id, self.seq, frame.timestamp_us, frame.width, frame.height, self.color_format, pixels)
        )
