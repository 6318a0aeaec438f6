"""Speech recognition in a child process, so decoding never holds the event loop's GIL.

PocketSphinx's Python binding keeps the GIL while it decodes, so a recogniser in a thread still
stalls the event loop for the whole of each C call (130-400 ms for the second pass at the end of
an utterance), and the loop paces everyone's audio in 20 ms frames. A :class:`RecognizerWorker`
runs any :class:`~gateway.media.transcribe.Recognizer` in one child process instead and talks to
it over two pipes; the loop only ever does non-blocking pipe I/O.

Usage (on the event loop)::

    worker = RecognizerWorker(functools.partial(create_recognizer, sample_rate=16000))
    info = await worker.start()                 # spawns the child, loads the engine there
    stream = await worker.open_stream()         # one per participant
    segments = await stream.accept(pcm)         # the child decodes; the loop goes on meanwhile
    segments += await stream.finish()
    await worker.close()

Process: started with the ``spawn`` context (a fresh interpreter: no copy of the parent's
threads, locks or event loop, which ``fork`` would give). The factory must be picklable (a
module-level function or a ``functools.partial`` of one). The child ignores SIGINT (Ctrl+C reaches
the whole process group; the parent decides when recognition ends and flushes the last words
first) and exits when its request pipe reaches end of file: on :meth:`RecognizerWorker.close`,
and also when the parent dies however it dies (SIGKILL included), since the kernel then closes
the parent's end. A write to a dead parent fails (EPIPE) and ends the child too.

Wire (both pipes): messages framed as a 4-byte little-endian length and a pickle
(:func:`encode_message`, :class:`MessageReader`, free of I/O). Requests are
``(op, request_id, stream_id, *args)`` with op ``open``, ``accept`` (args: pcm) or ``finish``;
replies ``("ok", request_id, result)`` or ``("err", request_id, exception)``. The child answers
in request order. Its first message is ``("ready", 0, RecognizerInfo)`` or
``("failed", 0, exception)``.

Flow control: writes go through asyncio's pipe transport (buffered, never blocking). Above
``max_queued_bytes`` waiting to be written, :meth:`RemoteStream.accept` waits (like
``StreamWriter.drain``) instead of queueing more, so the caller's own bounded buffer is where
audio waits, is coalesced, and is dropped oldest-first (``gateway.backends.local.transcription``
holds at most 30 s per participant and counts what it drops).

Errors: :class:`WorkerDied` (a :class:`~gateway.media.transcribe.TranscriptionError`) when the
child exits or is killed with requests in flight or its streams open; the streams it held are lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import signal
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .transcribe import Recognizer, RecognizerUnavailable, TranscriptionError, TranscriptSegment

__all__ = [
    "MessageReader",
    "RecognizerInfo",
    "RecognizerWorker",
    "RemoteStream",
    "WorkerDied",
    "encode_message",
]

log = logging.getLogger("gateway.media.transcribe_worker")

_HEADER = struct.Struct("<I")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest message either side accepts; a larger length means a corrupt stream."""
DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024
"""Request bytes waiting for the pipe before senders wait (about 2 minutes of 16 kHz audio)."""
START_TIMEOUT_S = 60.0
"""Longest the child may take to start and load its engine."""


class WorkerDied(TranscriptionError):
    """The recognition process exited; the streams it held are lost."""

    def __init__(self, pid: int | None, exitcode: int | None) -> None:
        if exitcode is None:
            how = "is gone"
        elif exitcode < 0:
            how = f"was killed by signal {-exitcode}"
        else:
            how = f"exited with code {exitcode}"
        super().__init__(f"the recognition process {pid} {how}")
        self.pid = pid
        """Process id of the child that died."""
        self.exitcode = exitcode
        """Its exit code (negative: the signal that killed it), None when unknown."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pid, self.exitcode))


@dataclass(frozen=True, slots=True)
class RecognizerInfo:
    """What the child's recogniser is: the ``Recognizer`` attributes, without the engine."""

    engine: str
    sample_rate: int
    language: str


# ---------------------------------------------------------------- wire codec (no I/O)


def encode_message(message: tuple[Any, ...]) -> bytes:
    """One framed message: 4-byte little-endian length, then the pickle."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class MessageReader:
    """Splits a byte stream into messages; feed it whatever the pipe gave."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[Any, ...]]:
        """Yield every message completed by ``data``.

        Raises:
            ValueError: a frame longer than ``MAX_MESSAGE_BYTES`` (corrupt stream).
        """
        self._buf += data
        while len(self._buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buf)
            if size > MAX_MESSAGE_BYTES:
                raise ValueError(f"message of {size} bytes announced; at most {MAX_MESSAGE_BYTES}")
            end = _HEADER.size + size
            if len(self._buf) < end:
                return
            body = bytes(self._buf[_HEADER.size : end])
            del self._buf[:end]
            yield pickle.loads(body)


# ---------------------------------------------------------------- the child


def _read_message(pipe: BinaryIO) -> tuple[Any, ...] | None:
    header = pipe.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None  # end of file: the parent closed its end or died
    (size,) = _HEADER.unpack(header)
    body = pipe.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a TranscriptionError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return TranscriptionError(f"{type(exc).__name__}: {exc}")


def _child_main(requests: Any, replies: Any, factory: Callable[[], Recognizer]) -> None:
    """The child's whole life: load the engine, then answer requests until end of file."""
    # Ctrl+C goes to the whole process group: the parent stops recognition (and flushes the
    # last words through us) in its own time.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rin = os.fdopen(os.dup(requests.fileno()), "rb")
    out = os.dup(replies.fileno())
    requests.close()
    replies.close()

    def send(message: tuple[Any, ...]) -> None:
        data = memoryview(encode_message(message))
        while data:
            data = data[os.write(out, data) :]

    try:
        try:
            recognizer = factory()
        except Exception as exc:
            send(("failed", 0, _portable(exc)))
            return
        send(("ready", 0, RecognizerInfo(recognizer.engine, recognizer.sample_rate, recognizer.language)))
        streams: dict[int, Any] = {}
        while (message := _read_message(rin)) is not None:
            op, request_id, stream_id, *args = message
            try:
                result: Any = None
                if op == "open":
                    streams[stream_id] = recognizer.open_stream()
                elif op == "accept":
                    result = streams[stream_id].accept(args[0])
                elif op == "finish":
                    result = streams.pop(stream_id).finish()
                else:
                    raise ValueError(f"unknown request {op!r}")
                reply: tuple[Any, ...] = ("ok", request_id, result)
            except Exception as exc:
                reply = ("err", request_id, _portable(exc))
            send(reply)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass  # the parent is gone: nobody to answer
    finally:
        os.close(out)


# ---------------------------------------------------------------- the parent side


class _Pipe(asyncio.Protocol):
    """Pipe transport events forwarded to the worker."""

    def __init__(self, worker: RecognizerWorker, reading: bool) -> None:
        self.worker = worker
        self.reading = reading

    def data_received(self, data: bytes) -> None:
        self.worker._on_data(data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.reading:
            self.worker._on_lost()

    def pause_writing(self) -> None:
        self.worker._writable.clear()

    def resume_writing(self) -> None:
        self.worker._writable.set()


class RecognizerWorker:
    """One child process owning recogniser streams, driven from the event loop without blocking.

    Args:
        factory: picklable callable run in the child to make the ``Recognizer``.
        name: process name (``ps``, logs).
        max_queued_bytes: request bytes buffered for the pipe before ``accept`` waits.
        on_death: called on the loop (with the :class:`WorkerDied`) when the child dies while
            not being closed.
    """

    def __init__(
        self,
        factory: Callable[[], Recognizer],
        *,
        name: str = "transcribe-worker",
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        on_death: Callable[[WorkerDied], None] | None = None,
    ) -> None:
        self._factory = factory
        self.name = name
        self._max_queued = max_queued_bytes
        self._on_death = on_death
        self.process: multiprocessing.process.BaseProcess | None = None
        """The child, once started."""
        self.info: RecognizerInfo | None = None
        """The child's recogniser, once it reported ready."""
        self.died: WorkerDied | None = None
        """Set when the child has exited (or was never started successfully)."""
        self.streams: dict[int, RemoteStream] = {}
        """Open streams by id."""
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader = MessageReader()
        self._out: asyncio.WriteTransport | None = None
        self._in: asyncio.ReadTransport | None = None
        self._ready: asyncio.Future[RecognizerInfo] | None = None
        self._exited: asyncio.Future[int | None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._closing = False

    @property
    def pid(self) -> int | None:
        """The child's process id (None before start)."""
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        """Started, ready and not dead or closing."""
        return self.info is not None and self.died is None and not self._closing

    async def start(self) -> RecognizerInfo:
        """Spawn the child and wait until its recogniser is loaded.

        Raises:
            RecognizerUnavailable: the engine cannot be loaded in the child (or it died starting).
        """
        loop = asyncio.get_running_loop()
        ctx = multiprocessing.get_context("spawn")
        req_r, req_w = ctx.Pipe(duplex=False)
        rep_r, rep_w = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_child_main, args=(req_r, rep_w, self._factory), name=self.name, daemon=True)
        try:
            # Spawning forks and execs a new interpreter and writes its preparation data:
            # quick, but not ours to do on the loop thread.
            await asyncio.to_thread(self.process.start)
        finally:
            req_r.close()  # the child's ends: ours must be closed for end of file to be seen
            rep_w.close()
        self._ready = loop.create_future()
        self._watch_exit()
        out_file = os.fdopen(os.dup(req_w.fileno()), "wb", buffering=0)
        in_file = os.fdopen(os.dup(rep_r.fileno()), "rb", buffering=0)
        req_w.close()
        rep_r.close()
        self._out, _ = await loop.connect_write_pipe(lambda: _Pipe(self, False), out_file)
        self._in, _ = await loop.connect_read_pipe(lambda: _Pipe(self, True), in_file)
        self._out.set_write_buffer_limits(high=self._max_queued)
        log.info("= %s started (pid %s)", self.name, self.pid)
        try:
            self.info = await asyncio.wait_for(asyncio.shield(self._ready), START_TIMEOUT_S)
        except TranscriptionError as exc:
            await self.close()
            if isinstance(exc, RecognizerUnavailable):
                raise
            raise RecognizerUnavailable("worker", str(exc)) from exc
        except TimeoutError:
            await self.close()
            raise RecognizerUnavailable(
                "worker", f"the recognition process took over {START_TIMEOUT_S:.0f} s to start"
            ) from None
        return self.info

    async def open_stream(self) -> RemoteStream:
        """Open a recogniser stream in the child.

        Raises:
            WorkerDied: the child is gone.
        """
        self._next_id += 1
        stream = RemoteStream(self, self._next_id)
        self.streams[stream.stream_id] = stream
        try:
            await self._call("open", stream.stream_id)
        except BaseException:
            self.streams.pop(stream.stream_id, None)
            raise
        return stream

    async def close(self, timeout: float = 5.0) -> None:
        """End the child: close its request pipe (it exits at end of file), then terminate, then kill."""
        self._closing = True
        if self._out is not None:
            self._out.close()  # sends what is buffered, then end of file
        proc = self.process
        if proc is None or proc.pid is None:
            return
        if not await self._wait_exit(timeout):
            log.warning("%s (pid %s) did not exit in %.1f s: terminating it", self.name, proc.pid, timeout)
            proc.terminate()
            if not await self._wait_exit(2.0):
                proc.kill()
                await self._wait_exit(2.0)
        if self._in is not None:
            self._in.close()
        self._fail_all(self.died or WorkerDied(proc.pid, proc.exitcode))
        log.info("= %s (pid %s) stopped (exit code %s)", self.name, proc.pid, proc.exitcode)

    def _watch_exit(self) -> None:
        """Resolve ``_exited`` when the child exits (its sentinel becomes readable)."""
        loop = asyncio.get_running_loop()
        proc = self.process
        assert proc is not None
        self._exited = done = loop.create_future()
        fd = proc.sentinel

        def exited(tries: int = 0) -> None:
            if tries == 0:
                loop.remove_reader(fd)
            # The sentinel closes as the child exits, a moment before it can be reaped: poll.
            proc.join(0)
            if proc.exitcode is None and tries < 200:
                loop.call_later(0.005, exited, tries + 1)
            elif not done.done():
                done.set_result(proc.exitcode)

        loop.add_reader(fd, exited)

    async def _wait_exit(self, timeout: float) -> bool:
        """Wait (without blocking the loop) until the child has exited; True if it has."""
        assert self._exited is not None, "not started"
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), timeout)
        except TimeoutError:
            return False
        return True

    async def _call(self, op: str, stream_id: int, *args: Any) -> Any:
        if self.died is not None:
            raise self.died
        if self._out is None or self._closing:
            raise TranscriptionError(f"{self.name} is {'closing' if self._closing else 'not started'}")
        await self._writable.wait()
        if self.died is not None:
            raise self.died
        self._next_id += 1
        request_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._out.write(encode_message((op, request_id, stream_id, *args)))
        try:
            return await future
        finally:
            self._pending.pop(request_id, None)

    def _on_data(self, data: bytes) -> None:
        try:
            messages = list(self._reader.feed(data))
        except Exception:
            log.exception("corrupt reply from %s (pid %s): stopping it", self.name, self.pid)
            if self.process is not None:
                self.process.kill()
            return
        for kind, request_id, value in messages:
            if kind in ("ready", "failed"):
                if self._ready is not None and not self._ready.done():
                    if kind == "ready":
                        self._ready.set_result(value)
                    else:
                        self._ready.set_exception(value)
                continue
            future = self._pending.get(request_id)
            if future is None or future.done():
                continue
            if kind == "ok":
                future.set_result(value)
            else:
                future.set_exception(value)

    def _on_lost(self) -> None:
        """The reply pipe ended: the child exited (on close, or it died)."""
        asyncio.get_running_loop().create_task(self._after_exit(), name=f"{self.name}-exit")

    async def _after_exit(self) -> None:
        proc = self.process
        assert proc is not None
        await self._wait_exit(1.0)
        died = WorkerDied(proc.pid, proc.exitcode)
        self.died = died
        if self._out is not None and not self._out.is_closing():
            self._out.abort()
        self._fail_all(died)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(died)
        if not self._closing:
            log.error("%s: %s streams lost", died, len(self.streams))
            for stream in list(self.streams.values()):
                stream._lost(died)
            if self._on_death is not None:
                self._on_death(died)

    def _fail_all(self, exc: WorkerDied) -> None:
        self._writable.set()  # wake waiting senders: they see ``died``
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()


class RemoteStream:
    """A recogniser stream living in a :class:`RecognizerWorker`'s child; async ``accept``/``finish``."""

    def __init__(self, worker: RecognizerWorker, stream_id: int) -> None:
        self.worker = worker
        self.stream_id = stream_id
        self.lost: WorkerDied | None = None
        """Set when the worker died with this stream open."""
        self.on_lost: Callable[[WorkerDied], None] | None = None
        """Called on the loop when the worker dies with this stream open."""

    async def accept(self, pcm: bytes) -> list[TranscriptSegment]:
        """See ``RecognizerStream.accept``; waits while the pipe is full.

        Raises:
            WorkerDied: the child is gone (this stream with it).
        """
        if self.lost is not None:
            raise self.lost
        return await self.worker._call("accept", self.stream_id, pcm)  # type: ignore[no-any-return]

    async def finish(self) -> list[TranscriptSegment]:
        """See ``RecognizerStream.finish``; idempotent."""
        if self.stream_id not in self.worker.streams:
            return []
        if self.lost is not None:
            raise self.lost
        try:
            return await self.worker._call("finish", self.stream_id)  # type: ignore[no-any-return]
        finally:
            self.worker.streams.pop(self.stream_id, None)

    def _lost(self, died: WorkerDied) -> None:
        self.lost = died
        if self.on_lost is not None:
            self.on_lost(died)
