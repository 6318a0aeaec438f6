"""Transcribing a local room with an offline recogniser, in Daily's message format.

This is the local stand-in for Daily's transcription (PROTOCOL.md, "Transcription"): the
same requests (``start-transcription``, ``stop-transcription``, ``update-transcription``)
and the same events (``transcription-started {status}``, ``transcription-stopped
{stopped_by, stopped_by_error}``, ``transcription-error {message}``,
``transcription-message {message}``), delivered to everyone in the room. A message is
Daily's ``{participantId, text, timestamp, trackType, rawResponse: {is_final, ...}}``.

Each instance (``settings.instanceId``, Daily's default id when absent) transcribes the
participants it was asked for (``settings.participants``; everyone by default) with one
recogniser stream per participant, opened when that participant is first heard. Interim
results are sent when ``settings.extra.interim_results`` is true, as with Daily (Deepgram).

Processes: recognition is CPU bound, and PocketSphinx keeps the GIL while it decodes (up to
400 ms at the end of an utterance), so in a thread it would stall the event loop that paces
everyone's audio. :class:`TranscriptionEngine` runs it in ``Config.transcription_workers``
recognition processes (:mod:`gateway.media.transcribe_worker`), started with the first
``start-transcription``, restarted if one dies (the rooms get a ``transcription-error``), and
ended with the gateway. One worker coroutine per participant feeds its stream in order, one
request in flight at a time. The engine sits behind :mod:`gateway.media.transcribe`'s
``Recognizer`` interface (PocketSphinx today; its model ships in the wheel, so nothing is
downloaded); the process boundary is invisible to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ...media.resample import Resampler, convert_channels
from ...media.transcribe import (
    Recognizer,
    RecognizerStream,
    RecognizerUnavailable,
    TranscriptSegment,
    create_recognizer,
)
from ...media.transcribe_worker import RecognizerInfo, RecognizerWorker, RemoteStream, WorkerDied
from .recording import DEFAULT_STREAM_ID

if TYPE_CHECKING:
    from .room import LocalRoom

log = logging.getLogger("gateway.local.transcription")

ENGINE_RATE = 16000
"""Rate the recogniser is fed at; every participant is resampled to it (mono)."""
MAX_BACKLOG_S = 30.0
"""Audio a stream may have waiting for the recogniser before its oldest audio is dropped."""
LANGUAGES = ("en", "en-us", "en-US")
"""Languages the bundled model speaks."""
DEFAULT_INSTANCE_ID = DEFAULT_STREAM_ID
"""Daily's default transcription instance id, used when a request names none."""

MAX_RESTARTS = 3
"""Recognition process restarts allowed in RESTART_WINDOW_S before transcription gives up."""
RESTART_WINDOW_S = 60.0

BYTES_PER_MS = ENGINE_RATE * 2 / 1000
_BACKLOG_BYTES = int(MAX_BACKLOG_S * ENGINE_RATE * 2)
_GAP_S = 0.1
"""A pause in a participant's audio longer than this re-anchors its timestamps to wall time."""


def default_recognizer() -> Recognizer:
    """PocketSphinx at :data:`ENGINE_RATE` (a module-level function: a recognition process can unpickle it)."""
    return create_recognizer("pocketsphinx", sample_rate=ENGINE_RATE)


class _ThreadStream:
    """A recogniser stream driven in the engine's thread (``isolation="thread"``)."""

    lost: WorkerDied | None = None

    def __init__(self, engine: TranscriptionEngine, stream: RecognizerStream) -> None:
        self._engine = engine
        self._stream = stream

    async def accept(self, pcm: bytes) -> list[TranscriptSegment]:
        return await self._engine.run(self._stream.accept, pcm)  # type: ignore[no-any-return]

    async def finish(self) -> list[TranscriptSegment]:
        return await self._engine.run(self._stream.finish)  # type: ignore[no-any-return]


AsyncStream = RemoteStream | _ThreadStream
"""A recogniser stream as the loop sees it: ``await accept(pcm)``, ``await finish()``, ``lost``."""


class TranscriptionEngine:
    """The process's recognition service: recognition processes (or one thread), started on first use.

    Args:
        factory: makes the recogniser (PocketSphinx at 16 kHz by default); another engine
            implementing ``gateway.media.transcribe.Recognizer`` can replace it. With
            ``isolation="process"`` it runs in each recognition process, so it must be picklable
            (a module-level function or a ``functools.partial`` of one).
        workers: recognition processes (``Config.transcription_workers``); a new stream goes to
            the one holding the fewest streams. Each costs a loaded engine (about 95 MB).
        isolation: ``"process"`` (default): recognition runs in child processes
            (:class:`~gateway.media.transcribe_worker.RecognizerWorker`), so the event loop never
            waits for it, even though PocketSphinx keeps the GIL while decoding. A process that
            dies is restarted (at most :data:`MAX_RESTARTS` times in :data:`RESTART_WINDOW_S`).
            ``"thread"``: one worker thread in this process, for engines that release the GIL
            or cannot be pickled (test fakes).

    Raises:
        ValueError: ``workers`` < 1 or an unknown ``isolation``.
    """

    def __init__(
        self,
        factory: Callable[[], Recognizer] | None = None,
        *,
        workers: int = 1,
        isolation: str = "process",
    ) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        if isolation not in ("process", "thread"):
            raise ValueError(f"isolation must be 'process' or 'thread', got {isolation!r}")
        self._factory = factory or default_recognizer
        self.isolation = isolation
        """``"process"`` or ``"thread"``, see the class docstring."""
        self.worker_count = workers
        """Recognition processes run (``isolation="process"``)."""
        self.workers: list[RecognizerWorker] = []
        """The recognition processes, once started (a dead one is replaced in place)."""
        self._info: Recognizer | RecognizerInfo | None = None
        self._lock = asyncio.Lock()
        self._restarts: deque[float] = deque()
        self.restarts = 0
        """Recognition processes replaced after dying, over the engine's life (``gateway_transcription_worker_restarts_total``)."""
        self._closed = False
        # Thread isolation: one thread keeps every stream's calls in order for free.
        self.executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcribe") if isolation == "thread" else None
        )
        self.tasks: set[asyncio.Task[Any]] = set()
        """Stream workers and stops in flight, awaited by :meth:`close`."""

    async def recognizer(self) -> Recognizer | RecognizerInfo:
        """What recognises (engine, sample_rate, language); the first call starts the engine off the loop.

        Raises:
            RecognizerUnavailable: the engine or its model cannot be loaded.
        """
        async with self._lock:
            if self._info is None:
                if self._closed:
                    raise RecognizerUnavailable("worker", "the gateway is stopping")
                if self.executor is not None:
                    loop = asyncio.get_running_loop()
                    self._info = await loop.run_in_executor(self.executor, self._factory)
                else:
                    workers = [self._new_worker(i) for i in range(self.worker_count)]
                    results = await asyncio.gather(*(w.start() for w in workers), return_exceptions=True)
                    failed = [r for r in results if isinstance(r, BaseException)]
                    if failed:
                        await asyncio.gather(*(w.close() for w in workers))
                        raise failed[0]
                    self.workers = workers
                    self._info = results[0]  # type: ignore[assignment]
            assert self._info is not None
            return self._info

    async def open_stream(self, on_lost: Callable[[WorkerDied], None] | None = None) -> AsyncStream:
        """A new recogniser stream, in the recognition process holding the fewest streams.

        Args:
            on_lost: called on the loop if its process dies while the stream is open.

        Raises:
            RecognizerUnavailable: the engine cannot be loaded, or its process keeps dying.
            WorkerDied: the process died while opening the stream.
        """
        info = await self.recognizer()
        if self.executor is not None:
            stream = await self.run(info.open_stream)  # type: ignore[union-attr]
            return _ThreadStream(self, stream)
        await self._revive()
        alive = [w for w in self.workers if w.alive]
        if not alive:
            raise RecognizerUnavailable(
                "worker", f"the recognition process died {MAX_RESTARTS} times in {RESTART_WINDOW_S:.0f} s"
            )
        remote = await min(alive, key=lambda w: len(w.streams)).open_stream()
        remote.on_lost = on_lost
        return remote

    def _new_worker(self, index: int) -> RecognizerWorker:
        return RecognizerWorker(
            self._factory, name=f"transcribe-worker-{index}", on_death=lambda died: self._died(died)
        )

    def _died(self, died: WorkerDied) -> None:
        if not self._closed:
            self.spawn(self._revive(), "transcribe-restart")

    async def _revive(self) -> None:
        """Replace dead recognition processes, within the restart budget."""
        async with self._lock:
            for index, worker in enumerate(self.workers):
                if worker.died is None or self._closed:
                    continue
                now = time.monotonic()
                while self._restarts and now - self._restarts[0] > RESTART_WINDOW_S:
                    self._restarts.popleft()
                if len(self._restarts) >= MAX_RESTARTS:
                    continue
                self._restarts.append(now)
                replacement = self._new_worker(index)
                try:
                    await replacement.start()
                except RecognizerUnavailable as exc:
                    log.error("restarting %s failed: %s", worker.name, exc)
                    continue
                self.workers[index] = replacement
                self.restarts += 1
                log.warning("= %s restarted (pid %s, was %s)", worker.name, replacement.pid, worker.pid)

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` in the engine's thread (``isolation="thread"``)."""
        assert self.executor is not None, "run() is for isolation='thread'"
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self, timeout: float = 5.0) -> None:
        """Let stops in flight finish (bounded), then end the recognition processes (or thread)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        self._closed = True
        for task in list(self.tasks):
            task.cancel()
        async with self._lock:
            workers, self.workers = self.workers, []
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


class ParticipantStream:
    """One participant's audio into one recogniser stream, fed in order by one worker coroutine.

    The worker opens the recogniser stream itself (that may load a decoder, ~0.2 s), so
    audio that arrives meanwhile waits in the backlog instead of being lost. The backlog is the
    bounded queue in front of the recogniser: audio arriving while a chunk is being decoded is
    coalesced into the next chunk (one request in flight per stream), and past
    :data:`MAX_BACKLOG_S` the oldest is dropped and counted (``dropped_ms``).
    """

    def __init__(self, instance: Transcription, participant_id: str) -> None:
        self.instance = instance
        self.participant_id = participant_id
        self._stream: AsyncStream | None = None
        self._pending = bytearray()
        self._wake = asyncio.Event()
        self._closing = False
        self._resampler: Resampler | None = None
        self._in: tuple[int, int] | None = None
        self._fed_ms = 0.0
        """Milliseconds of audio taken so far (the time base of the segments sent)."""
        self._sent_ms = 0.0
        """Milliseconds of audio given to the current recogniser stream (its own time base)."""
        self._offset_ms = 0.0
        """Add to the recogniser stream's times to get ``_fed_ms`` times (drops, restarts)."""
        self._anchors: list[tuple[float, float]] = []
        """(stream ms, wall time) where the audio (re)started: maps stream time to wall time."""
        self._next_wall = 0.0
        """When the next chunk is due if the audio is continuous."""
        self.dropped_ms = 0.0
        """Audio dropped because the recogniser was more than MAX_BACKLOG_S behind."""
        self._warned_at = 0.0
        self.worker = instance.engine.spawn(self._work(), f"transcribe-{participant_id[:8]}")

    def feed(self, pcm: bytes, sample_rate: int, channels: int) -> None:
        if self._closing:
            return
        if self._in != (sample_rate, channels):
            self._in = (sample_rate, channels)
            self._resampler = Resampler(sample_rate, ENGINE_RATE, 1)
        if channels != 1:
            pcm = convert_channels(pcm, channels, 1)
        assert self._resampler is not None
        data = self._resampler.process(pcm)
        if not data:
            return
        now = time.time()
        if not self._anchors or now - self._next_wall > _GAP_S:
            # First audio, or audio resuming after a pause: this stream time is now.
            self._anchors.append((self._fed_ms, now))
            self._next_wall = now
            if len(self._anchors) > 64:
                del self._anchors[:-32]
        chunk_ms = len(data) / (ENGINE_RATE * 2) * 1000
        self._next_wall += chunk_ms / 1000
        self._fed_ms += chunk_ms
        self._pending += data
        if len(self._pending) > _BACKLOG_BYTES:
            excess = len(self._pending) - _BACKLOG_BYTES
            excess -= excess % 2
            del self._pending[:excess]
            self.dropped_ms += excess / BYTES_PER_MS
            if now - self._warned_at >= 5.0:
                self._warned_at = now
                log.warning(
                    "transcription of %s is %.0f s behind: dropping its oldest audio (%.1f s dropped so far)",
                    self.participant_id,
                    MAX_BACKLOG_S,
                    self.dropped_ms / 1000,
                )
        self._wake.set()

    def wall_time(self, stream_ms: float) -> datetime:
        """Wall-clock time of a point in this stream's audio."""
        anchor_ms, anchor_wall = self._anchors[0] if self._anchors else (0.0, time.time())
        for ms, wall in self._anchors:
            if ms > stream_ms:
                break
            anchor_ms, anchor_wall = ms, wall
        return datetime.fromtimestamp(anchor_wall + (stream_ms - anchor_ms) / 1000, UTC)

    def finish(self) -> None:
        """No more audio: the worker decodes what is left, sends the last results, and ends."""
        self._closing = True
        self._wake.set()

    async def _work(self) -> None:
        lost = 0
        try:
            while True:
                try:
                    await self._recognise()
                    return
                except WorkerDied as died:
                    # The chunk in flight and the utterance in progress died with the process;
                    # go on with what is waiting, in a fresh stream (in a restarted process).
                    lost += 1
                    self.instance.worker_died(died)
                    if lost > MAX_RESTARTS or (self._closing and not self._pending):
                        self._closing = True
                        self._pending.clear()
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the engine failed: report it, stop this stream only
            self._closing = True
            self._pending.clear()
            log.exception("recognising %s failed", self.participant_id)
            self.instance.error(f"recognising {self.participant_id} failed: {type(exc).__name__}: {exc}")

    async def _recognise(self) -> None:
        """Open a recogniser stream, feed it until finish, send the last results."""
        self._stream = stream = await self.instance.engine.open_stream(on_lost=lambda died: self._wake.set())
        self._sent_ms = 0.0
        while True:
            if stream.lost is not None:
                raise stream.lost
            if not self._pending and not self._closing:
                await self._wake.wait()
                self._wake.clear()
                continue
            if self._pending:
                chunk = bytes(self._pending)
                self._pending.clear()
                # Where this chunk starts in _fed_ms time, minus where it starts in the stream's.
                self._offset_ms = self._fed_ms - len(chunk) / BYTES_PER_MS - self._sent_ms
                self._sent_ms += len(chunk) / BYTES_PER_MS
                self.instance.emit(self, self._shift(await stream.accept(chunk)))
                continue
            break  # closing, nothing pending
        self.instance.emit(self, self._shift(await stream.finish()))

    def _shift(self, segments: list[TranscriptSegment]) -> list[TranscriptSegment]:
        """Recogniser-stream times to this participant's times (they differ after drops or a restart)."""
        offset = round(self._offset_ms)
        if not offset:
            return segments
        return [replace(s, start_ms=s.start_ms + offset, end_ms=s.end_ms + offset) for s in segments]


class Transcription:
    """One running transcription instance of a room."""

    def __init__(
        self,
        transcriber: RoomTranscriber,
        instance_id: str,
        settings: dict[str, Any],
        participants: list[str] | None,
        started_by: str | None,
        recognizer: Recognizer | RecognizerInfo,
    ) -> None:
        self.transcriber = transcriber
        self.engine = transcriber.engine
        self.instance_id = instance_id
        self.settings = settings
        self.participants: set[str] | None = set(participants) if participants is not None else None
        """Who is transcribed; None for everyone."""
        self.started_by = started_by
        self.recognizer = recognizer
        self.language: str = settings.get("language", "en")
        extra = settings.get("extra") or {}
        self.interim: bool = bool(extra.get("interim_results", False))
        self.transcript_id = str(uuid.uuid4())
        self.streams: dict[str, ParticipantStream] = {}
        self._deaths_reported: set[int | None] = set()

    def status(self) -> dict[str, Any]:
        """The ``transcription-started`` status, in Daily's shape."""
        status: dict[str, Any] = {
            "instanceId": self.instance_id,
            "transcriptId": self.transcript_id,
            "language": self.language,
            "model": f"{self.recognizer.engine}-{self.recognizer.language}",
            "startedBy": self.started_by,
            "includeRawResponse": True,
        }
        if self.participants is not None:
            status["participants"] = sorted(self.participants)
        for key in ("profanity_filter", "punctuate", "endpointing", "redact", "extra"):
            if key in self.settings:
                status[key] = self.settings[key]
        return status

    def wants(self, participant_id: str) -> bool:
        return self.participants is None or participant_id in self.participants

    def feed(self, participant_id: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if not self.wants(participant_id):
            return
        stream = self.streams.get(participant_id)
        if stream is None:
            stream = self.streams[participant_id] = ParticipantStream(self, participant_id)
        stream.feed(pcm, sample_rate, channels)

    def drop(self, participant_id: str) -> asyncio.Task[Any] | None:
        """Stop transcribing one participant; returns its worker (which sends the last finals)."""
        stream = self.streams.pop(participant_id, None)
        if stream is None:
            return None
        stream.finish()
        return stream.worker

    def set_participants(self, participants: list[str] | None) -> None:
        self.participants = set(participants) if participants is not None else None
        for pid in list(self.streams):
            if not self.wants(pid):
                self.drop(pid)

    async def stop(self) -> None:
        """Finish every stream (their last finals are sent) and wait for them."""
        workers = [w for w in (self.drop(pid) for pid in list(self.streams)) if w is not None]
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    def emit(self, stream: ParticipantStream, segments: list[TranscriptSegment]) -> None:
        for seg in segments:
            if not seg.is_final and not self.interim:
                continue
            self.transcriber.room.broadcast("transcription-message", {"message": self.message(stream, seg)})

    def message(self, stream: ParticipantStream, seg: TranscriptSegment) -> dict[str, Any]:
        """Daily's transcription message for one segment."""
        timestamp = stream.wall_time(seg.start_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        alternative: dict[str, Any] = {"transcript": seg.text, "languages": [self.language]}
        if seg.confidence is not None:
            alternative["confidence"] = round(seg.confidence, 4)
        return {
            "participantId": stream.participant_id,
            "text": seg.text,
            "timestamp": timestamp,
            "trackType": "cam-audio",
            "instanceId": self.instance_id,
            "rawResponse": {
                "type": "Results",
                "is_final": seg.is_final,
                "speech_final": seg.is_final,
                "start": seg.start_ms / 1000,
                "duration": (seg.end_ms - seg.start_ms) / 1000,
                "channel": {"alternatives": [alternative]},
                "engine": self.recognizer.engine,
            },
        }

    def error(self, message: str) -> None:
        self.transcriber.room.broadcast("transcription-error", {"message": message})

    def worker_died(self, died: WorkerDied) -> None:
        """Tell the room once per dead recognition process (several streams may have been in it)."""
        if died.pid in self._deaths_reported:
            return
        self._deaths_reported.add(died.pid)
        self.error(f"{died}; transcription goes on in a new one, the words being recognised were lost")


class RoomTranscriber:
    """The transcription instances of one local room; hears every participant's microphone."""

    def __init__(self, room: LocalRoom, engine: TranscriptionEngine) -> None:
        self.room = room
        self.engine = engine
        self.instances: dict[str, Transcription] = {}

    async def start(self, settings: dict[str, Any] | None, started_by: str | None) -> Transcription:
        """Start an instance; emits ``transcription-started`` (``transcription-error`` on failure)."""
        settings = dict(settings or {})
        instance_id = settings.get("instanceId") or DEFAULT_INSTANCE_ID
        if instance_id in self.instances:
            raise CommandError(
                ErrorCode.WRONG_STATE,
                f"transcription {instance_id} is already running; stop it first or use another instanceId",
                details={"instance_id": instance_id},
            )
        language = settings.get("language", "en")
        if language not in LANGUAGES:
            message = f"language {language!r} is not available offline; the local recogniser speaks 'en'"
            self.room.broadcast("transcription-error", {"message": message})
            raise CommandError(ErrorCode.NOT_SUPPORTED, message, details={"field": "settings.language"})
        participants = self._check_participants(settings.get("participants"), "settings.participants")
        try:
            recognizer = await self.engine.recognizer()
        except RecognizerUnavailable as exc:
            self.room.broadcast("transcription-error", {"message": str(exc)})
            raise CommandError(ErrorCode.BACKEND_ERROR, str(exc)) from None
        if instance_id in self.instances:  # started by someone else while the engine loaded
            raise CommandError(ErrorCode.WRONG_STATE, f"transcription {instance_id} is already running")
        instance = Transcription(self, instance_id, settings, participants, started_by, recognizer)
        self.instances[instance_id] = instance
        log.info("= transcription %s of %s started", instance_id, self.room.url)
        self.room.broadcast("transcription-started", {"status": instance.status()})
        return instance

    def get(self, instance_id: str | None) -> Transcription:
        instance_id = instance_id or DEFAULT_INSTANCE_ID
        instance = self.instances.get(instance_id)
        if instance is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no transcription {instance_id} is running in {self.room.url}",
                details={"instance_id": instance_id},
            )
        return instance

    async def stop(self, instance_id: str | None, stopped_by: str | None) -> None:
        """Stop an instance: its last finals, then ``transcription-stopped``. ``not_found`` if none."""
        instance = self.get(instance_id)
        del self.instances[instance.instance_id]
        await instance.stop()
        self._stopped(instance, stopped_by, error=False)

    def update(self, participants: list[str] | None, instance_id: str | None) -> None:
        """Transcribe ``participants`` (None: everyone) from now on."""
        instance = self.get(instance_id)
        instance.set_participants(self._check_participants(participants, "participants"))

    def _check_participants(self, participants: Any, field: str) -> list[str] | None:
        if participants is None:
            return None
        if not isinstance(participants, list) or not all(isinstance(p, str) for p in participants):
            raise CommandError(
                ErrorCode.INVALID_PARAMS, f"{field} must be a list of participant ids", details={"field": field}
            )
        unknown = [p for p in participants if p not in self.room.participants]
        if unknown:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no participant {unknown[0]!r} in {self.room.url}",
                details={"participant_id": unknown[0], "field": field},
            )
        return participants

    def _stopped(self, instance: Transcription, stopped_by: str | None, *, error: bool) -> None:
        log.info("= transcription %s of %s stopped", instance.instance_id, self.room.url)
        self.room.broadcast(
            "transcription-stopped",
            {"stopped_by": stopped_by or "", "stopped_by_error": error, "instance_id": instance.instance_id},
        )

    def close(self) -> None:
        """Stop every instance (room emptied, gateway stopping); finals still flush in the background."""
        for instance in list(self.instances.values()):
            del self.instances[instance.instance_id]
            self.engine.spawn(self._finish(instance), f"transcription-stop-{instance.instance_id[:8]}")

    async def _finish(self, instance: Transcription) -> None:
        await instance.stop()
        self._stopped(instance, None, error=False)

    # Room service hooks (called by the room on the loop thread).

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if source != "microphone" or not self.instances:
            return
        for instance in self.instances.values():
            instance.feed(participant_id, pcm, sample_rate, channels)

    def on_participant_left(self, participant_id: str) -> None:
        for instance in self.instances.values():
            instance.drop(participant_id)
        if not self.room.participants:
            self.close()
