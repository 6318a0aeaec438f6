"""The session history: each session's log kept in SQLite, listed and opened later (PROTOCOL.md 5.13).

:class:`History` is what the gateway and its sessions use, on the event loop: :meth:`History.record`
never waits (entries are buffered and written in batches by one worker thread that owns the
database, ``store.py``); :meth:`History.list_sessions` and :meth:`History.get_session` run there too.
What a session keeps, and in which shape, is ``recorder.py``'s.

``history_db``: a path (default ``<data_dir>/history.sqlite3``), ``:memory:`` (gone when the
gateway stops) or ``off``. Should the database fail (a full disk, a broken file), the gateway logs
it once and goes on without history: a log is never worth a call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from protocol.errors import CommandError, ErrorCode

from ..config import Config
from .store import Entry, HistoryStore, SessionEnd, SessionRow, Write

log = logging.getLogger("gateway.history")

T = TypeVar("T")

FLUSH_S = 0.25
"""Entries wait at most this long before they are written (one transaction per batch)."""
PRUNE_S = 3600.0
"""Retention is applied at start and then this often."""
MAX_BUFFERED = 50_000
"""Entries waiting for the writer beyond which new ones are counted lost (a stalled disk must not grow memory)."""


def history_path(config: Config) -> str | None:
    """Where the database is (``:memory:`` included), or None when the history is off."""
    value = config.history_db.strip()
    if value.lower() == "off":
        return None
    return value or os.path.join(config.data_dir, "history.sqlite3")


class History:
    """The gateway's history: buffered writes and reads, in one worker thread (module docstring)."""

    def __init__(self, config: Config) -> None:
        self.path = history_path(config)
        """The database (``:memory:``), or None: off."""
        self._config = config
        self._store: HistoryStore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Write] = []
        self._flush: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Future[None]] = set()
        self._pruner: asyncio.Task[None] | None = None
        self.lost = 0
        """Entries not written: the buffer was full, or the database failed."""

    @property
    def enabled(self) -> bool:
        return self._store is not None

    async def start(self) -> None:
        """Open the database and apply retention (then hourly)."""
        if self.path is None:
            log.info("history off (history_db=off)")
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        config = self._config
        try:
            self._store = await self._run(lambda: HistoryStore(
                self.path or ":memory:", max_sessions=config.history_max_sessions, max_events=config.history_max_events,
                retention_s=config.history_retention_days * 86400,
            ))
        except Exception as exc:
            log.error("history disabled: cannot open %s (%s)", self.path, exc)
            self._store = None
            self._executor.shutdown(wait=False)
            self._executor = None
            return
        log.info("history in %s (at most %d sessions, %d entries each, %g days)", self.path,
                 config.history_max_sessions, config.history_max_events, config.history_retention_days)
        self._pruner = asyncio.create_task(self._prune_loop(), name="history-prune")

    async def close(self) -> None:
        """Write what is buffered, then close the database."""
        if self._pruner is not None:
            self._pruner.cancel()
        if self._store is None or self._executor is None:
            return
        await self.flush()
        if self._writes:
            await asyncio.wait(self._writes)
        store, self._store = self._store, None
        await asyncio.get_running_loop().run_in_executor(self._executor, store.close)
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------------ writing (never waits)

    def session_started(self, row: SessionRow) -> None:
        self._queue(row)

    def record(self, session_id: str, event: str, data: dict[str, Any], at: float | None = None) -> None:
        """Keep one entry of ``session_id``'s log (its shape already the one to keep: ``recorder.py``)."""
        self._queue(Entry(session_id, time.time() if at is None else at, event, data))

    def session_ended(self, session_id: str, cause: str, turns: dict[str, Any]) -> None:
        self._queue(SessionEnd(session_id, time.time(), cause, turns))

    def _queue(self, item: Write) -> None:
        if self._store is None:
            return
        if len(self._pending) >= MAX_BUFFERED:
            self.lost += 1
            return
        self._pending.append(item)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_S, self._start_write)

    def _start_write(self) -> None:
        self._flush = None
        task = asyncio.ensure_future(self._write_now())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_now(self) -> None:
        """Hand the buffered entries to the worker: it runs jobs in order, so a read queued later sees them."""
        batch, self._pending = self._pending, []
        store = self._store
        if not batch or store is None:
            return
        try:
            await self._run(lambda: store.write(batch))
        except Exception as exc:
            self.lost += len(batch)
            log.error("history: writing %d entries failed (%s); they are lost", len(batch), exc)

    async def flush(self) -> None:
        """Write what is buffered now (reads see every entry recorded before them)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        await self._write_now()

    # ------------------------------------------------------------------ reading

    async def list_sessions(
        self, *, room_url: str | None, before: float | None, limit: int, allows_room: Callable[[str], bool] | None
    ) -> dict[str, Any]:
        """``list-history``'s result: sessions newest first, and their rooms."""
        await self.flush()
        sessions = await self._run(lambda: self._require().list_sessions(
            room_url=room_url, before=before, limit=limit, allows_room=allows_room))
        rooms: dict[str, dict[str, Any]] = {}
        for session in sessions:
            room = rooms.setdefault(session["room_url"], {
                "room_url": session["room_url"], "backend": session["backend"], "sessions": 0,
                "started_at": session["started_at"], "ended_at": session["ended_at"],
            })
            room["sessions"] += 1
            room["started_at"] = min(room["started_at"], session["started_at"])
            if room["ended_at"] is not None:
                room["ended_at"] = None if session["ended_at"] is None else max(room["ended_at"], session["ended_at"])
        return {"sessions": sessions, "rooms": sorted(rooms.values(), key=lambda r: -r["started_at"])}

    async def get_session(self, session_id: str, offset: int, limit: int) -> dict[str, Any] | None:
        """``get-history``'s result, or None for a session not kept."""
        await self.flush()
        return await self._run(lambda: self._require().get_session(session_id, offset, limit))

    # ------------------------------------------------------------------ the worker thread

    def _require(self) -> HistoryStore:
        store = self._store
        if store is None:
            raise CommandError(ErrorCode.NOT_SUPPORTED, "this gateway keeps no history (history_db=off)",
                               details={"config": "history_db"})
        return store

    async def _run(self, work: Callable[[], T]) -> T:
        if self._executor is None:
            self._require()
            raise CommandError(ErrorCode.NOT_SUPPORTED, "the history is not open", details={"config": "history_db"})
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def _prune_loop(self) -> None:
        while self._store is not None:
            store = self._store
            try:
                deleted = await self._run(store.prune)
                if deleted:
                    log.info("history: %d sessions past history_retention_days deleted", deleted)
            except Exception as exc:
                log.error("history: applying retention failed (%s)", exc)
            await asyncio.sleep(PRUNE_S)


__all__ = ["History", "SessionRow", "history_path"]
