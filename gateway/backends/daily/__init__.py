"""The ``daily`` backend: Daily rooms (``https://<domain>.daily.co/<room>``) through daily-python.

Each session that joins gets a :class:`DailyTransport` with its own ``CallClient``. The SDK is
loaded and initialized on the first join only (``sdk.py``), so a gateway that never joins a Daily
room never starts daily-python's threads. ``release()`` blocks until a pending join ends (~19 s for
an unreachable room), so it runs on an executor of its own: it can never starve the getters, which
run on another one and answer at once (``CallClient.participants()`` is never called: it blocks
behind a pending join WHILE HOLDING THE GIL, freezing the whole process; the backend keeps the
participants from events instead).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.errors import CommandError, ErrorCode

from ..base import Backend, BackendMetric, JoinOptions, Transport, TransportListener
from . import sdk as sdk_loader
from .events import make_handler_class
from .transport import SERVER_REQUESTS, DailyTransport

if TYPE_CHECKING:
    from ...config import Config

log = logging.getLogger("gateway.daily")

T = TypeVar("T")

COMMAND_TIMEOUT = 15.0
"""Seconds a Daily request the SDK answers by itself (inputs, subscriptions, app message...) may take."""
SDK_SERVER_TIMEOUT = 20.0
"""daily-python's own limit for the requests Daily's servers answer (dial-out, transcription...)."""
SERVER_REQUEST_TIMEOUT = 30.0
"""Seconds the gateway waits for those: longer than the SDK's own limit, so that the SDK's answer
(success, or its own timeout error) always comes first and a slow success is never reported as
``timeout`` (a client retrying a "timed out" dial-out would place a second call)."""
RELEASE_TIMEOUT = 40.0
"""Seconds leaving waits for ``release()``, which waits for a pending join (~20 s when unreachable)."""
GETTER_WORKERS = 2
"""Threads for the SDK's getters (they answer at once from daily-python's cache)."""
RELEASE_WORKERS = 8
"""Threads for ``release()`` calls, each of which may wait ~19 s behind its client's pending join."""


class DailyBackend(Backend):
    """Daily rooms over daily-python.

    Args:
        config: the gateway's config: ``daily_sdk`` (which module is daily-python; tests name a
            fake), ``daily_api_key`` / ``daily_api_url`` (REST, for pinless dial-in).
        command_timeout: seconds before a request's reply is ``timeout`` (default: ``config.daily_command_timeout``
            if the config has one, else :data:`COMMAND_TIMEOUT`).
        server_timeout: the same for :data:`SERVER_REQUESTS` (default :data:`SERVER_REQUEST_TIMEOUT`, at
            least ``command_timeout``).
        release_timeout: seconds leaving waits for the client's release.
    """

    name = "daily"
    schemes = ("https",)

    def __init__(
        self,
        config: Config,
        *,
        command_timeout: float | None = None,
        server_timeout: float = SERVER_REQUEST_TIMEOUT,
        release_timeout: float = RELEASE_TIMEOUT,
    ) -> None:
        self.config = config
        self.command_timeout: float = (
            command_timeout or getattr(config, "daily_command_timeout", None) or COMMAND_TIMEOUT
        )
        self.server_timeout = max(server_timeout, self.command_timeout)
        self.release_timeout = release_timeout
        self.transports: set[DailyTransport] = set()
        """Transports holding a CallClient (joining, joined or releasing)."""
        self.mixed_audio: DailyTransport | None = None
        """The one transport receiving the room's mix through daily-python's speaker (one per process)."""
        self._sdk: Any = None
        self._handler_class: type | None = None
        self._executors: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.started = time.time()
        self.retired_drops: Counter[str] = Counter()
        """``DailyTransport.drops`` of the transports released so far (metrics only grow)."""

    # -- SDK and threads

    def sdk(self) -> Any:
        """daily-python (or the configured fake), initialized once per process.

        Raises:
            CommandError: ``not_supported`` when daily-python cannot be imported.
        """
        if self._sdk is None:
            sdk = sdk_loader.load(getattr(self.config, "daily_sdk", sdk_loader.DEFAULT_SDK))
            sdk_loader.ensure_initialized(sdk)
            self._handler_class = make_handler_class(sdk.EventHandler)
            self._sdk = sdk
        return self._sdk

    def handler_class(self) -> Any:
        """A new event handler (a subclass of the SDK's ``EventHandler``); call after :meth:`sdk`."""
        if self._handler_class is None:
            self.sdk()
        assert self._handler_class is not None
        return self._handler_class()

    def timeout_for(self, method: str) -> float:
        """Seconds the gateway waits for ``CallClient.<method>``'s completion (PROTOCOL.md 6.2)."""
        return self.server_timeout if method in SERVER_REQUESTS else self.command_timeout

    async def run_blocking(
        self, fn: Callable[..., T], *args: Any, timeout: float | None = None, pool: str = "getters"
    ) -> T:
        """Run an SDK call off the loop, on ``pool`` (``getters`` or ``release``); ``TimeoutError`` past ``timeout``.

        Two pools so that a ``release()`` stuck behind a pending join never delays a getter.
        """
        executor = self._executors.get(pool)
        if executor is None:
            workers = RELEASE_WORKERS if pool == "release" else GETTER_WORKERS
            executor = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix=f"daily-{pool}")
            self._executors[pool] = executor
        future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        return await asyncio.wait_for(future, timeout) if timeout else await future

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a background task the backend keeps track of (and waits for on close)."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Daily background task %s failed", task.get_name(), exc_info=task.exception())

    # -- Backend

    def check_room_url(self, room_url: str) -> None:
        try:
            parts = urllib.parse.urlsplit(room_url)
            host = parts.hostname
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
        except ValueError:
            host, parts = None, None
        if parts is None or parts.scheme.lower() != "https" or not host or any(c.isspace() for c in room_url):
            raise CommandError(
                ErrorCode.BAD_ROOM_URL,
                f"{room_url!r} is not a Daily room URL (https://<domain>.daily.co/<room>)",
                details={"field": "room_url"},
            )

    def admit(self, transport: DailyTransport, *, mixed: bool) -> None:
        """Refuse a join that would share daily-python's one speaker device (``join.audio_in.mixed``).

        daily-python selects one virtual speaker per process (``Daily.select_speaker_device``), which
        the calls of the process play into: a mixed-audio session must be the only Daily session.

        Raises:
            CommandError: ``limit_reached`` when a mixed-audio session exists, or when ``mixed`` is
                asked while other Daily sessions exist.
        """
        holder = self.mixed_audio
        if holder is not None and holder is not transport:
            raise CommandError(
                ErrorCode.LIMIT_REACHED,
                "this gateway process hosts a Daily session with join.audio_in.mixed: no other Daily session beside it",
            )
        if mixed:
            if any(t is not transport for t in self.transports):
                raise CommandError(
                    ErrorCode.LIMIT_REACHED,
                    "join.audio_in.mixed needs the gateway process to itself: other Daily sessions are in rooms",
                    details={"field": "audio_in.mixed"},
                )
            self.mixed_audio = transport

    def create_transport(self, options: JoinOptions, listener: TransportListener) -> Transport:
        return DailyTransport(self, options, listener)

    def rooms(self) -> list[dict[str, Any]]:
        rooms: dict[str, dict[str, Any]] = {}
        for transport in self.transports:
            if not transport.joined:
                continue
            room = rooms.setdefault(
                transport.room_url,
                {"room_url": transport.room_url, "backend": self.name, "participants": {}, "observers": 0,
                 "active_speaker": None, "created_at": round(self.started, 3)},
            )  # fmt: skip
            for pid, doc in transport.participants().items():
                # The room as anyone sees it: the gateway's own participants are not "local" here.
                info = doc.get("info")
                room["participants"][pid] = {**doc, "info": {**info, "isLocal": False}} if isinstance(info, dict) else doc
        return list(rooms.values())

    def retire(self, transport: DailyTransport) -> None:
        """``transport`` released its client (called once): keep what it dropped in the totals."""
        self.retired_drops.update(transport.drops())

    def metrics(self) -> list[BackendMetric]:
        drops = Counter(self.retired_drops)
        for transport in self.transports:
            drops.update(transport.drops())
        return [
            BackendMetric("daily_calls", "gauge", "daily-python CallClients held (joining, joined or leaving).",
                          len(self.transports)),
            BackendMetric("daily_events_dropped", "counter",
                          "Room events dropped between daily-python's threads and the loop (the loop fell behind).",
                          drops["events"]),
            BackendMetric("daily_audio_in_dropped", "counter",
                          "Received audio chunks dropped between daily-python's threads and the loop.", drops["audio_in"]),
            BackendMetric("daily_audio_out_dropped", "counter",
                          "Published audio chunks dropped because daily-python consumed them too slowly.",
                          drops["audio_out"]),
            BackendMetric("daily_audio_writer_lag_max_ms", "gauge",
                          "Published audio waiting for daily-python's write_frames, in the most behind session (ms).",
                          max((t.writer_lag_ms() for t in self.transports), default=0.0)),
        ]

    async def close(self) -> None:
        """Leave and release every client (sessions normally left already), then stop the executor."""
        transports = list(self.transports)
        if transports:
            await asyncio.gather(*(t.leave("shutdown") for t in transports), return_exceptions=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.release_timeout)
        executors, self._executors = self._executors, {}
        for executor in executors.values():
            # Every release was awaited above (or timed out and is logged): idle workers just exit.
            executor.shutdown(wait=False, cancel_futures=True)

__all__ = ["SDK_SERVER_TIMEOUT", "SERVER_REQUEST_TIMEOUT", "DailyBackend", "DailyTransport"]
