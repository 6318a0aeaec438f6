"""The history's SQLite database (stdlib ``sqlite3``): sessions and their entries, bounded (PROTOCOL.md 5.13).

Synchronous, and used from one thread only (:class:`gateway.history.History` runs every call in its
own single worker thread): the event loop never waits for the disk. Bounds: ``max_events`` entries
per session (later ones counted in ``dropped_events``), ``max_sessions`` sessions (the oldest
deleted first) and ``retention_s`` (sessions that ended longer ago are deleted by :meth:`prune`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    room_url TEXT NOT NULL,
    backend TEXT NOT NULL,
    role TEXT NOT NULL,
    participant_id TEXT,
    user_name TEXT,
    principal TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    end_cause TEXT,
    events INTEGER NOT NULL DEFAULT 0,
    dropped_events INTEGER NOT NULL DEFAULT 0,
    turns TEXT
);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_at);
CREATE INDEX IF NOT EXISTS sessions_room ON sessions (room_url, started_at);
CREATE TABLE IF NOT EXISTS entries (
    session_id TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    event TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, n)
) WITHOUT ROWID;
"""

SESSION_FIELDS = ("session_id", "room_url", "backend", "role", "participant_id", "user_name", "principal",
                  "started_at", "ended_at", "end_cause", "events", "dropped_events", "turns")


@dataclass(frozen=True)
class SessionRow:
    """A session as it starts: where, as what, for whom."""

    session_id: str
    room_url: str
    backend: str
    role: str
    """``participant`` or ``observer``."""
    participant_id: str | None
    user_name: str | None
    principal: str | None
    started_at: float


@dataclass(frozen=True)
class Entry:
    """One entry of a session's log."""

    session_id: str
    at: float
    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class SessionEnd:
    session_id: str
    ended_at: float
    cause: str
    turns: dict[str, Any]


Write = SessionRow | Entry | SessionEnd


class HistoryStore:
    """One SQLite database: :meth:`write` batches, :meth:`list_sessions`, :meth:`get_session`, :meth:`prune`."""

    def __init__(self, path: str, *, max_sessions: int, max_events: int, retention_s: float) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        self.db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)
        self.max_sessions = max_sessions
        self.max_events = max_events
        self.retention_s = retention_s

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ writing

    def write(self, batch: Iterable[Write]) -> None:
        """Apply ``batch`` in one transaction: sessions started, entries (within ``max_events``), sessions ended."""
        started = False
        with self._transaction():
            for item in batch:
                if isinstance(item, SessionRow):
                    self.db.execute(
                        "INSERT OR IGNORE INTO sessions (session_id, room_url, backend, role, participant_id, user_name,"
                        " principal, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (item.session_id, item.room_url, item.backend, item.role, item.participant_id, item.user_name,
                         item.principal, item.started_at),
                    )
                    started = True
                elif isinstance(item, Entry):
                    self._add_entry(item)
                else:
                    self.db.execute(
                        "UPDATE sessions SET ended_at = ?, end_cause = ?, turns = ? WHERE session_id = ? AND ended_at IS NULL",
                        (item.ended_at, item.cause, orjson.dumps(item.turns).decode(), item.session_id),
                    )
            if started:
                self._keep_newest(self.max_sessions)

    def _add_entry(self, entry: Entry) -> None:
        row = self.db.execute("SELECT events FROM sessions WHERE session_id = ?", (entry.session_id,)).fetchone()
        if row is None:
            return  # its session was pruned (or never started): nowhere to keep it
        if row[0] >= self.max_events:
            self.db.execute("UPDATE sessions SET dropped_events = dropped_events + 1 WHERE session_id = ?",
                            (entry.session_id,))
            return
        self.db.execute("INSERT INTO entries (session_id, n, at, event, data) VALUES (?, ?, ?, ?, ?)",
                        (entry.session_id, row[0], entry.at, entry.event, orjson.dumps(entry.data)))
        self.db.execute("UPDATE sessions SET events = events + 1 WHERE session_id = ?", (entry.session_id,))

    def _keep_newest(self, count: int) -> None:
        self.db.execute(
            "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM sessions ORDER BY started_at DESC"
            " LIMIT -1 OFFSET ?)", (count,),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # ------------------------------------------------------------------ bounds

    def prune(self, now: float | None = None) -> int:
        """Delete the sessions that ended (or, never ended, started) more than ``retention_s`` ago, and the oldest past ``max_sessions``.

        Several gateways may share one database (``--workers``, one data_dir): none ends another's sessions.
        """
        now = time.time() if now is None else now
        with self._transaction():
            # A session never ended (its gateway was killed; or one running that long) goes by its start.
            deleted = self.db.execute("DELETE FROM sessions WHERE COALESCE(ended_at, started_at) < ?",
                                      (now - self.retention_s,)).rowcount
            self._keep_newest(self.max_sessions)
        return deleted

    # ------------------------------------------------------------------ reading

    def list_sessions(
        self, *, room_url: str | None, before: float | None, limit: int, allows_room: Callable[[str], bool] | None
    ) -> list[dict[str, Any]]:
        """Sessions newest first (started before ``before``), in rooms ``allows_room`` accepts, at most ``limit``."""
        where: list[str] = []
        args: list[Any] = []
        if room_url is not None:
            where.append("room_url = ?")
            args.append(room_url)
        if before is not None:
            where.append("started_at < ?")
            args.append(before)
        sql = f"SELECT {', '.join(SESSION_FIELDS)} FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        out: list[dict[str, Any]] = []
        for row in self.db.execute(sql + " ORDER BY started_at DESC", args):
            session = _session(row)
            if allows_room is None or allows_room(session["room_url"]):
                out.append(session)
                if len(out) >= limit:
                    break
        return out

    def get_session(self, session_id: str, offset: int, limit: int) -> dict[str, Any] | None:
        """The session and ``limit`` of its entries from ``offset``, in order; None if it is not kept."""
        row = self.db.execute(f"SELECT {', '.join(SESSION_FIELDS)} FROM sessions WHERE session_id = ?",
                              (session_id,)).fetchone()
        if row is None:
            return None
        session = _session(row)
        entries = [
            {"at": at, "event": event, "data": orjson.loads(data)}
            for at, event, data in self.db.execute(
                "SELECT at, event, data FROM entries WHERE session_id = ? ORDER BY n LIMIT ? OFFSET ?",
                (session_id, limit, offset),
            )
        ]
        return {"session": session, "events": entries, "total": session["events"]}

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


class _Transaction:
    """``BEGIN`` ... ``COMMIT`` (``ROLLBACK`` on an exception): the connection runs in autocommit mode otherwise."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _session(row: tuple[Any, ...]) -> dict[str, Any]:
    session = dict(zip(SESSION_FIELDS, row, strict=True))
    session["turns"] = orjson.loads(session["turns"]) if session["turns"] else None
    return session
