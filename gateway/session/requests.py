"""A session's requests and background tasks: each request gets exactly one reply.

Requests run as tasks, so a slow ``join`` never delays ``ping``; ``in_order`` handlers run
at once, between the binary frames read before and after them (``gateway.handlers``). A
handler's result is the reply; a ``ProtocolError`` it raises is the error reply; anything
else is a bug, answered ``internal`` (and logged), so no request is ever left without its
reply, even when its result or its error cannot be encoded. The ids of the requests still
running are the ``resume`` result's ``running`` (PROTOCOL.md, "Resume").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode, ProtocolError

from .state import SessionState

if TYPE_CHECKING:
    from ..handlers import RequestHandler
    from .session import Session

log = logging.getLogger("gateway.session")


class RequestRunner:
    """Runs one session's requests and background tasks; the tasks end with the session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tasks: set[asyncio.Task[Any]] = set()
        self.running: set[str] = set()
        """Ids of requests received and not yet answered (the ``resume`` result's ``running``)."""
        self.count = 0
        """Valid requests received (``get-stats``'s ``requests``), counted by the link before admission."""

    def start(self, entry: RequestHandler, rid: str, params: dict[str, Any]) -> None:
        """Run an admitted request: now if ``in_order``, else as a task; its reply follows either way."""
        if entry.in_order:
            self._run_in_order(entry, rid, params)
            return
        self.running.add(rid)
        task = asyncio.create_task(self._run(entry, rid, params))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, entry: RequestHandler, rid: str, params: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            result = await entry.run(self.session, rid, params)
        except Exception as exc:  # CancelledError is a BaseException: it propagates
            self.running.discard(rid)
            self.failed(entry.type, rid, exc, started)
            return
        self.running.discard(rid)
        if self.session.state is not SessionState.CLOSED:  # a resume's reply went out with the hand-over
            self._reply(entry.type, rid, result, started)
        elif entry.type == "resume":
            self.session.gateway.metrics.request_done(entry.type, True, time.perf_counter() - started)

    def _run_in_order(self, entry: RequestHandler, rid: str, params: dict[str, Any]) -> None:
        """A synchronous handler, now: a task would start only after later frames were read."""
        started = time.perf_counter()
        try:
            result = entry.run(self.session, rid, params)
        except Exception as exc:
            self.failed(entry.type, rid, exc, started)
            return
        self._reply(entry.type, rid, result, started)

    def _reply(self, rtype: str, rid: str, result: dict[str, Any] | None, started: float) -> None:
        """The success reply; a result the encoder refuses is answered ``internal`` instead (still one reply)."""
        try:
            self.session.outbox.result(rid, result)
        except Exception as exc:
            self.failed(rtype, rid, exc, started)
            return
        self.session.gateway.metrics.request_done(rtype, True, time.perf_counter() - started)

    def failed(self, rtype: str, rid: str, exc: Exception, started: float | None = None) -> None:
        """The one error reply of a request: its typed error, or ``internal`` for a bug (logged).

        ``started``: when it began to run (``perf_counter``), for its latency; None when it was refused before.
        """
        self.session.gateway.metrics.request_done(rtype, False, None if started is None else time.perf_counter() - started)
        if not isinstance(exc, ProtocolError):
            log.exception("request %s failed", rtype, exc_info=exc)
            exc = CommandError(ErrorCode.INTERNAL, f"{rtype} failed: {type(exc).__name__}: {exc}")
        exc.request_id = rid
        self.session.record.event("request-failed", {"request": rtype, "code": exc.code.value, "message": exc.message})
        outbox = self.session.outbox
        try:
            outbox.failure(rid, exc)
        except Exception:  # details the encoder refuses: the reply still goes out, without them
            log.exception("encoding the error reply of %s failed", rtype)
            outbox.failure(rid, CommandError(exc.code, f"{rtype} failed (its error details could not be encoded)",
                                             request_id=rid))

    # ------------------------------------------------------------------ background tasks

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run a background task of the session; if it dies, the client gets an ``error`` event (``internal``)."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(self._task_died)

    def spawn_quietly(self, coro: Awaitable[Any]) -> None:
        """Run a task of the session whose failure is its own business (closing the connection)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _task_died(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.error("= %s task %s died", self.session.id[:8], getattr(task, "get_name", lambda: "?")(), exc_info=exc)
        self.session.outbox.event(
            "error", {"code": ErrorCode.INTERNAL.value, "message": f"a background task of this session failed: {type(exc).__name__}: {exc}"}
        )

    def cancel(self, *, keep: asyncio.Task[Any] | None = None) -> None:
        """Cancel every request and background task (but ``keep``): the session is ending."""
        for task in list(self.tasks):
            if task is not keep:
                task.cancel()
