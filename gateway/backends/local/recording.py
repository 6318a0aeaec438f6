"""Recording a local room to WAV files: the room mix, and optionally one file per participant.

This is the local stand-in for Daily's cloud recording (PROTOCOL.md, "Recording"): the
same requests (``start-recording``, ``stop-recording``, ``update-recording``) and the same
events (``recording-started {status}``, ``recording-stopped {stream_id}``,
``recording-error {stream_id, message}``), delivered to everyone in the room.

A recording belongs to the room, not to the participant who started it: it goes on when
that participant leaves, and ends on ``stop-recording`` (from anyone in the room), after
``streaming_settings.maxDuration`` seconds, when the room empties, or when the gateway
shuts down. Several recordings may run at once under different stream ids.

Clock: every participant's microphone is resampled to :data:`RECORDING_RATE` mono into its
own jitter buffer; a drift-free 20 ms clock takes one frame from each buffer and writes
their sum, so silence is recorded as silence and the file's length is wall time.

Files, under ``<recordings_dir>/<room>/<UTC start>-<recording id>/``:

- ``mix.wav``: the room mix, PCM16 mono at :data:`RECORDING_RATE`;
- ``<participant id>.wav``: one per participant heard, with ``streaming_settings.type``
  ``"raw-tracks"``; each starts when that participant is first heard;
- ``recording.json``: stream id, recording id, room, layout, who started it, start and stop
  times, and which participant each file holds.

WAV headers are patched every :data:`HEADER_PATCH_S` and on close, so a file is a valid
WAV at any moment, even after the process is killed (it then ends at the last patch).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

import numpy as np

from protocol.errors import CommandError, ErrorCode

from ...media.playout import FrameClock
from ...media.resample import Resampler, convert_channels
from ...tasks import cancel_and_wait
from .faults import RECORDING_CRASH_AFTER_S, InjectedFault, fault_of

URL_PREFIX = "/recordings/"
"""Where the gateway serves finished recordings over HTTP (``gateway.recordings``): the prefix, then ``path``."""


def recording_url(path: str, file: str = "mix.wav") -> str:
    """Where ``file`` of the recording at ``path`` (``recording-started``' ``status.path``) is served."""
    return URL_PREFIX + "/".join(quote(part, safe="") for part in [*path.split("/"), file])

if TYPE_CHECKING:
    from .room import LocalRoom

log = logging.getLogger("gateway.local.recording")

RECORDING_RATE = 48000
"""Sample rate of every file, in Hz (mono PCM16)."""
FRAME_MS = 20
"""Period of the recording clock."""
PREROLL_MS = 60
"""Audio a participant's buffer holds before the clock starts taking from it (absorbs jitter)."""
MAX_BUFFER_MS = 1000
"""A buffer fuller than this has drifted; its oldest audio is dropped down to the preroll."""
HEADER_PATCH_S = 1.0
"""How often the WAV headers are rewritten with the current sizes."""
DEFAULT_STREAM_ID = "00000000-0000-4000-8000-000000000000"
"""Daily's default recording instance id, used when a request names none."""
TYPES = ("cloud", "cloud-audio-only", "raw-tracks")
"""``streaming_settings.type`` values the local backend records (all write the mix)."""

_FRAME_BYTES = RECORDING_RATE * 2 * FRAME_MS // 1000
_PREROLL_BYTES = RECORDING_RATE * 2 * PREROLL_MS // 1000
_MAX_BUFFER_BYTES = RECORDING_RATE * 2 * MAX_BUFFER_MS // 1000


class WavWriter:
    """A PCM16 WAV file written incrementally, its header kept valid by :meth:`patch`.

    Blocking file I/O in small pieces (one frame per write, buffered); the caller decides
    where it runs.
    """

    HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")

    def __init__(self, path: Path, sample_rate: int, channels: int = 1) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.data_bytes = 0
        """PCM bytes written so far."""
        self._file: BinaryIO | None = open(path, "wb", buffering=64 * 1024)  # noqa: SIM115 - closed in close()
        self._file.write(self._header(0))

    def _header(self, data_bytes: int) -> bytes:
        block = 2 * self.channels
        return self.HEADER.pack(
            b"RIFF",
            36 + data_bytes,
            b"WAVE",
            b"fmt ",
            16,
            1,
            self.channels,
            self.sample_rate,
            self.sample_rate * block,
            block,
            16,
            b"data",
            data_bytes,
        )

    @property
    def closed(self) -> bool:
        return self._file is None

    @property
    def duration_s(self) -> float:
        return self.data_bytes / (2 * self.channels * self.sample_rate)

    def write(self, pcm: bytes) -> None:
        assert self._file is not None, "write after close"
        self._file.write(pcm)
        self.data_bytes += len(pcm)

    def patch(self) -> None:
        """Rewrite the header with the sizes written so far and flush to the OS."""
        f = self._file
        if f is None:
            return
        f.flush()
        f.seek(0)
        f.write(self._header(self.data_bytes))
        f.seek(0, 2)
        f.flush()

    def close(self) -> None:
        """Patch the header and close (idempotent)."""
        if self._file is None:
            return
        try:
            self.patch()
        finally:
            self._file.close()
            self._file = None


class TrackBuffer:
    """One participant's audio on its way into a recording: resampled, buffered against jitter."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._resampler: Resampler | None = None
        self._in: tuple[int, int] | None = None
        self._primed = False
        self.dropped_bytes = 0
        """Audio dropped because the buffer drifted past :data:`MAX_BUFFER_MS`."""

    def push(self, pcm: bytes, sample_rate: int, channels: int) -> None:
        if self._in != (sample_rate, channels):
            self._in = (sample_rate, channels)
            self._resampler = Resampler(sample_rate, RECORDING_RATE, 1)
        if channels != 1:
            pcm = convert_channels(pcm, channels, 1)
        assert self._resampler is not None
        self._data += self._resampler.process(pcm)
        if len(self._data) > _MAX_BUFFER_BYTES:
            excess = len(self._data) - _PREROLL_BYTES
            excess -= excess % 2
            del self._data[:excess]
            self.dropped_bytes += excess

    def pull(self, *, flush: bool = False) -> bytes | None:
        """One frame (zero-padded if the buffer runs dry inside it); None while empty or refilling.

        With ``flush`` (the participant left: nothing more will come) the preroll is not awaited.
        """
        if not self._primed and not flush:
            if len(self._data) < _PREROLL_BYTES:
                return None
            self._primed = True
        if not self._data:
            self._primed = False  # ran dry: refill before taking again
            return None
        frame = bytes(self._data[:_FRAME_BYTES])
        del self._data[:_FRAME_BYTES]
        if len(frame) < _FRAME_BYTES:
            self._primed = False  # ran dry: refill before taking again
            frame += bytes(_FRAME_BYTES - len(frame))
        return frame

    def drain(self) -> bytes:
        """Everything still buffered (at the end of a recording)."""
        rest = bytes(self._data)
        self._data.clear()
        return rest[: len(rest) - len(rest) % 2]


@dataclass
class _Track:
    """A participant heard in a recording: its buffer and, with raw-tracks, its own file."""

    buffer: TrackBuffer = field(default_factory=TrackBuffer)
    writer: WavWriter | None = None
    user_name: str = ""
    left: bool = False


def mix(frames: list[bytes]) -> bytes:
    """Sum PCM16 frames of equal length with saturation."""
    if len(frames) == 1:
        return frames[0]
    total = np.zeros(len(frames[0]) // 2, dtype=np.int32)
    for frame in frames:
        total += np.frombuffer(frame, dtype=np.int16)
    return np.clip(total, -32768, 32767).astype(np.int16).tobytes()


class Recording:
    """One running recording of a room (one stream id)."""

    def __init__(
        self,
        recorder: RoomRecorder,
        stream_id: str,
        settings: dict[str, Any],
        started_by: str | None,
    ) -> None:
        self.recorder = recorder
        self.stream_id = stream_id
        self.recording_id = str(uuid.uuid4())
        self.settings = dict(settings)
        self.type: str = settings.get("type", "cloud")
        self.layout: dict[str, Any] = settings.get("layout") or {"preset": "default"}
        self.started_by = started_by
        self.started_at = datetime.now(UTC)
        self.stopped_at: datetime | None = None
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        self.relative_dir = Path(recorder.room.name) / f"{stamp}-{self.recording_id[:8]}"
        self.dir = recorder.recordings_dir / self.relative_dir
        self.mix: WavWriter | None = None
        self.tracks: dict[str, _Track] = {}
        """Participants heard and still being written."""
        self.finished_tracks: dict[str, _Track] = {}
        """Participants who left and whose audio is all written."""
        self._task: asyncio.Task[None] | None = None
        self._max_duration: float | None = settings.get("maxDuration")

    @property
    def per_participant(self) -> bool:
        return self.type == "raw-tracks"

    def status(self) -> dict[str, Any]:
        """The ``recording-started`` status, in Daily's shape (plus local ``path``)."""
        return {
            "streamId": self.stream_id,
            "instanceId": self.stream_id,
            "recordingId": self.recording_id,
            "type": self.type,
            "layout": self.layout,
            "startedBy": self.started_by,
            "local": True,
            "path": self.relative_dir.as_posix(),
        }

    def open(self) -> None:
        """Create the folder, the mix file and the manifest (blocking; run in a thread)."""
        self.dir.mkdir(parents=True, exist_ok=False)
        self.mix = WavWriter(self.dir / "mix.wav", RECORDING_RATE)
        self.write_manifest()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"recording-{self.stream_id[:8]}")

    def feed(self, participant_id: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        track = self.tracks.get(participant_id)
        if track is None:
            track = self.tracks[participant_id] = _Track(user_name=self.recorder.user_name(participant_id))
            if self.per_participant:
                track.writer = WavWriter(self.dir / f"{participant_id}.wav", RECORDING_RATE)
        if not track.left:
            track.buffer.push(pcm, sample_rate, channels)

    def participant_left(self, participant_id: str) -> None:
        track = self.tracks.get(participant_id)
        if track is not None:
            track.left = True

    async def _run(self) -> None:
        clock = FrameClock(FRAME_MS / 1000)
        ticks_per_patch = max(1, round(HEADER_PATCH_S * 1000 / FRAME_MS))
        loop = asyncio.get_running_loop()
        started = loop.time()
        crash = fault_of(self.recorder.room.name) == "recording-crash"
        try:
            while True:
                await clock.tick()
                self._tick()
                if clock.ticks % ticks_per_patch == 0:
                    self._patch()
                if self._max_duration is not None and loop.time() - started >= self._max_duration:
                    self.recorder.finish(self, reason="maxDuration")
                    return
                if crash and loop.time() - started >= RECORDING_CRASH_AFTER_S:
                    raise InjectedFault("simulated crash of the recording clock (fault-recording-crash)")
        except asyncio.CancelledError:
            raise
        except OSError as exc:
            self.recorder.fail(self, f"writing {self.relative_dir} failed: {exc}")
        except Exception as exc:
            # A dying clock must not leave a recording that runs on paper and never ends:
            # the room hears recording-error, then recording-stopped, and the files are closed.
            log.error("recording %s crashed", self.relative_dir, exc_info=exc)
            self.recorder.fail(self, f"recording {self.relative_dir} stopped: {type(exc).__name__}: {exc}")

    def _tick(self) -> None:
        frames: list[bytes] = []
        for pid, track in list(self.tracks.items()):
            frame = track.buffer.pull(flush=track.left)
            if frame is None and track.left:  # gone, and all its audio is written
                self._close_track(pid, track)
                continue
            if frame is None:
                frame = bytes(_FRAME_BYTES)
            else:
                frames.append(frame)
            if track.writer is not None:
                track.writer.write(frame)
        assert self.mix is not None
        self.mix.write(mix(frames) if frames else bytes(_FRAME_BYTES))

    def _close_track(self, pid: str, track: _Track) -> None:
        if track.writer is not None:
            track.writer.close()
        del self.tracks[pid]
        self.finished_tracks[pid] = track

    def _patch(self) -> None:
        for writer in self._writers():
            writer.patch()

    def _writers(self) -> list[WavWriter]:
        out = [t.writer for t in self.tracks.values() if t.writer is not None]
        return ([self.mix] if self.mix is not None else []) + out

    async def stop(self) -> None:
        """Stop the clock, write what is buffered, close every file (valid WAVs)."""
        if self._task is not asyncio.current_task():
            await cancel_and_wait(self._task)
        self.close()

    def close(self) -> None:
        """Synchronous end: write what is buffered into the files and close them (idempotent).

        Safe from inside the clock task (maxDuration) and from outside it (the task is cancelled).
        """
        if self._task is not None and not self._task.done() and self._task is not _current_task():
            self._task.cancel()
        if self.stopped_at is not None:
            return
        self.stopped_at = datetime.now(UTC)
        try:
            if self.mix is not None and not self.mix.closed:
                tails = {pid: t.buffer.drain() for pid, t in self.tracks.items()}
                longest = max((len(t) for t in tails.values()), default=0)
                if longest:
                    padded = [t + bytes(longest - len(t)) for t in tails.values() if t]
                    self.mix.write(mix(padded))
                    for pid, tail in tails.items():
                        writer = self.tracks[pid].writer
                        if writer is not None:
                            writer.write(tail + bytes(longest - len(tail)))
            for pid, track in list(self.tracks.items()):
                self._close_track(pid, track)
            if self.mix is not None:
                self.mix.close()
            self.write_manifest()
        except OSError as exc:
            log.error("closing recording %s failed: %s", self.relative_dir, exc)
            for writer in self._writers():
                try:
                    writer.close()
                except OSError:
                    pass

    def write_manifest(self) -> None:
        """Write ``recording.json`` (blocking, small)."""
        tracks = {**self.finished_tracks, **self.tracks}
        manifest = {
            "stream_id": self.stream_id,
            "recording_id": self.recording_id,
            "room_url": self.recorder.room.url,
            "type": self.type,
            "layout": self.layout,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "stopped_at": self.stopped_at.isoformat(timespec="milliseconds") if self.stopped_at else None,
            "sample_rate": RECORDING_RATE,
            "mix": "mix.wav",
            "duration_s": round(self.mix.duration_s, 3) if self.mix is not None else 0.0,
            "participants": {
                pid: {"user_name": t.user_name, "file": f"{pid}.wav" if t.writer is not None else None}
                for pid, t in tracks.items()
            },
        }
        (self.dir / "recording.json").write_text(json.dumps(manifest, indent=2))


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class RoomRecorder:
    """The recordings of one local room, by stream id; hears every participant's microphone."""

    def __init__(self, room: LocalRoom, recordings_dir: Path) -> None:
        self.room = room
        self.recordings_dir = recordings_dir
        self.recordings: dict[str, Recording] = {}

    def user_name(self, participant_id: str) -> str:
        participant = self.room.participants.get(participant_id)
        return participant.user_name if participant is not None else ""

    async def start(
        self, settings: dict[str, Any] | None, stream_id: str | None, force_new: bool, started_by: str | None
    ) -> Recording:
        """Start a recording; emits ``recording-started`` to the room (``recording-error`` on failure)."""
        settings = dict(settings or {})
        stream_id = stream_id or DEFAULT_STREAM_ID
        kind = settings.get("type", "cloud")
        if kind not in TYPES:
            raise CommandError(
                ErrorCode.INVALID_PARAMS,
                f"streaming_settings.type {kind!r} is not recorded by local rooms (use one of {', '.join(TYPES)})",
                details={"field": "streaming_settings.type"},
            )
        max_duration = settings.get("maxDuration")
        if max_duration is not None and (
            isinstance(max_duration, bool) or not isinstance(max_duration, int | float) or max_duration <= 0
        ):
            raise CommandError(
                ErrorCode.INVALID_PARAMS,
                f"streaming_settings.maxDuration must be a positive number of seconds, got {max_duration!r}",
                details={"field": "streaming_settings.maxDuration"},
            )
        running = self.recordings.get(stream_id)
        if running is not None:
            if not force_new:
                raise CommandError(
                    ErrorCode.WRONG_STATE,
                    f"recording {stream_id} is already running; stop it first or pass force_new",
                    details={"stream_id": stream_id},
                )
            await self.stop(stream_id)
        recording = Recording(self, stream_id, settings, started_by)
        self.recordings[stream_id] = recording
        try:
            await asyncio.to_thread(recording.open)
        except OSError as exc:
            del self.recordings[stream_id]
            message = f"cannot create recording files in {recording.dir}: {exc.strerror or exc}"
            log.error("recording %s in %s: %s", stream_id, self.room.url, message)
            self.room.broadcast("recording-error", {"stream_id": stream_id, "message": message})
            raise CommandError(ErrorCode.BACKEND_ERROR, message, details={"stream_id": stream_id}) from None
        if self.recordings.get(stream_id) is not recording:  # stopped while the files were being made
            recording.close()
            raise CommandError(ErrorCode.WRONG_STATE, f"recording {stream_id} was stopped while starting")
        recording.start()
        log.info("= recording %s of %s started in %s", stream_id, self.room.url, recording.dir)
        self.room.broadcast("recording-started", {"status": recording.status()})
        return recording

    def get(self, stream_id: str | None) -> Recording:
        stream_id = stream_id or DEFAULT_STREAM_ID
        recording = self.recordings.get(stream_id)
        if recording is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no recording {stream_id} is running in {self.room.url}",
                details={"stream_id": stream_id},
            )
        return recording

    async def stop(self, stream_id: str | None) -> None:
        """Stop a running recording; emits ``recording-stopped``. ``not_found`` if none."""
        recording = self.get(stream_id)
        del self.recordings[recording.stream_id]
        await recording.stop()
        self._stopped(recording, "stopped")

    def update(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        """Apply ``update_settings.layout`` (kept in the manifest; audio is unaffected)."""
        recording = self.get(stream_id)
        layout = update_settings.get("layout")
        if layout is not None:
            if not isinstance(layout, dict):
                raise CommandError(
                    ErrorCode.INVALID_PARAMS,
                    "update_settings.layout must be an object",
                    details={"field": "update_settings.layout"},
                )
            recording.layout = layout
        recording.write_manifest()

    def finish(self, recording: Recording, reason: str) -> None:
        """End a recording from inside (maxDuration, room empty, shutdown)."""
        if self.recordings.get(recording.stream_id) is recording:
            del self.recordings[recording.stream_id]
        recording.close()
        self._stopped(recording, reason)

    def fail(self, recording: Recording, message: str) -> None:
        """A recording could not go on: ``recording-error``, then it is closed and stopped."""
        log.error("recording %s of %s failed: %s", recording.stream_id, self.room.url, message)
        self.room.broadcast("recording-error", {"stream_id": recording.stream_id, "message": message})
        self.finish(recording, "error")

    def _stopped(self, recording: Recording, reason: str) -> None:
        log.info(
            "= recording %s of %s stopped (%s): %.1f s",
            recording.stream_id,
            self.room.url,
            reason,
            recording.mix.duration_s if recording.mix else 0.0,
        )
        path = recording.relative_dir.as_posix()
        self.room.broadcast("recording-stopped", {"stream_id": recording.stream_id, "path": path,
                                                  "url": recording_url(path)})

    def close(self, reason: str = "shutdown") -> None:
        """Stop every recording now, synchronously (room emptied, gateway stopping)."""
        for recording in list(self.recordings.values()):
            self.finish(recording, reason)

    # Room service hooks (called by the room on the loop thread).

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if source != "microphone" or not self.recordings:
            return
        for recording in list(self.recordings.values()):
            try:
                recording.feed(participant_id, pcm, sample_rate, channels)
            except OSError as exc:  # a participant's file cannot be made: never the publisher's problem
                self.fail(recording, f"writing {recording.relative_dir} failed: {exc}")

    def on_participant_left(self, participant_id: str) -> None:
        for recording in self.recordings.values():
            recording.participant_left(participant_id)
        if not self.room.participants:
            self.close("room empty")
