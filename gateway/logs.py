"""The gateway's log lines: text for people, or one JSON object per line for log search (``log_format``).

Every record can say which session, room and request it is about, without each call passing them:
the link sets the session it serves (:data:`SUBJECT`) for its connection's task, and a request's id
(:data:`REQUEST_ID`) is set while the request is read and dispatched, so the request's task and the
tasks it starts carry both (asyncio copies the context into each new task). :class:`ContextFilter`
puts them on the record (``session_id``, ``room``, ``request_id``), where :class:`JsonFormatter`
writes them:

    {"time": "2026-12-07T10:15:02.123Z", "level": "info", "logger": "gateway.session",
     "event": "= 4f1c2a9b joined local://demo as 7d3e...", "session_id": "4f1c2a9b-...",
     "room": "local://demo", "request_id": "j1"}

No secret reaches a line: credentials are never logged in any format (the no-secret tests read both).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import orjson

FORMATS = ("text", "json")
"""The values of ``log_format``."""
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

T = TypeVar("T")


class LogSubject(Protocol):
    """What a record may be about: a session, or the link serving one (``log_fields`` reads it when logged)."""

    def log_fields(self) -> tuple[str, str | None]:
        """(the session's id, the room it is in or observes, or None)."""
        ...


SUBJECT: contextvars.ContextVar[LogSubject | None] = contextvars.ContextVar("gateway_log_subject", default=None)
"""The session (or the link serving it) the code running now works for."""
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("gateway_request_id", default=None)
"""The id of the request the code running now serves."""


def serving(subject: LogSubject) -> None:
    """From now on, in this task (and the tasks it starts), records are about ``subject``."""
    SUBJECT.set(subject)


def run_for_request(subject: LogSubject, request_id: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` with records about ``subject`` and ``request_id``; tasks it starts keep both."""
    return contextvars.copy_context().run(_run_bound, subject, request_id, fn, args)


def _run_bound(subject: LogSubject, request_id: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    SUBJECT.set(subject)
    REQUEST_ID.set(request_id)
    return fn(*args)


class ContextFilter(logging.Filter):
    """Adds ``session_id``, ``room`` and ``request_id`` from the context to every record (None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        subject = SUBJECT.get()
        session_id = room = None
        if subject is not None:
            try:
                session_id, room = subject.log_fields()
            except Exception:  # a log line must never fail because of its context
                pass
        record.session_id = session_id
        record.room = room
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, event (the message), session_id, room, request_id.

    Fields that are unknown are left out; an exception's traceback is ``exc``, a stack ``stack``.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for field in ("session_id", "room", "request_id"):
            value = getattr(record, field, None)
            if value is not None:
                out[field] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode()


def configure(level: str, log_format: str = "text") -> None:
    """The process's logging: ``level`` and ``log_format`` (text or json) on stderr (the CLI's; library code never calls it).

    Raises:
        ValueError: an unknown ``log_format``.
    """
    if log_format not in FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler], force=True)
    logging.getLogger("websockets").setLevel(logging.WARNING)
