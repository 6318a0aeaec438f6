"""Gateway-wide limits: sessions per key, rooms, and the timers that close connections (PROTOCOL.md, "Hello").

The per-request rate, message and frame sizes are checked where the input is
read (``session.py``); what needs state across sessions or a timer lives here.
The memory budget for received bytes is ``budget.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

from .auth import Denied
from .session.state import SessionState

if TYPE_CHECKING:
    from .backends import Backend
    from .session import Session
    from .session.link import Link

log = logging.getLogger("gateway.limits")


class KeySessions:
    """Open connections per key, for ``max_sessions_per_key`` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, key: str, *, force: bool = False) -> None:
        """Count one more connection for ``key`` (``force``: even over the limit, for a resume).

        Raises:
            Denied: 4029 when ``key`` already has ``limit`` connections.
        """
        if self.limit and self.open[key] >= self.limit and not force:
            raise Denied(CloseCode.RATE_LIMITED, f"key {key} has {self.open[key]} sessions (max_sessions_per_key)")
        self.open[key] += 1

    def release(self, key: str) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


def check_new_room(backends: Iterable[Backend], room_url: str, max_rooms: int) -> None:
    """Refuse to enter a room this gateway is not in yet when it is in ``max_rooms`` already.

    Checked when the join or observe starts: two concurrent first joins of new rooms may both pass.

    Raises:
        CommandError: ``limit_reached`` with ``details.limit`` ``max_rooms``.
    """
    if not max_rooms:
        return
    urls = {room["room_url"] for backend in backends for room in backend.rooms()}
    if room_url not in urls and len(urls) >= max_rooms:
        raise CommandError(
            ErrorCode.LIMIT_REACHED, f"this gateway is in {len(urls)} rooms already (max_rooms {max_rooms})",
            details={"limit": "max_rooms"},
        )


async def idle_watchdog(link: Link, idle_timeout_ms: int, ping_interval_ms: int) -> None:
    """Ping every ``ping_interval_ms``; close with 4009 after ``idle_timeout_ms`` with nothing received.

    ``link.last_seen`` is moved on by every message the link reads and by every pong here,
    so a client that only listens stays connected as long as it answers pings; a dead peer
    or a stuck one (not reading its socket, so not answering) is closed.
    """
    idle_s, interval_s = idle_timeout_ms / 1000, ping_interval_ms / 1000
    if not idle_s and not interval_s:
        return
    next_ping = time.monotonic() + interval_s if interval_s else float("inf")

    def on_pong(waiter: asyncio.Future[Any]) -> None:
        if not waiter.cancelled() and waiter.exception() is None:
            link.last_seen = time.monotonic()

    while True:
        deadline = link.last_seen + idle_s if idle_s else float("inf")
        await asyncio.sleep(max(0.0, min(deadline, next_ping) - time.monotonic()))
        now = time.monotonic()
        if idle_s and now - link.last_seen >= idle_s:
            log.info("= %s idle for %d ms: closing (4009)", link.session.id[:8], int((now - link.last_seen) * 1000))
            await link.close(CloseCode.IDLE_TIMEOUT, f"idle for {idle_timeout_ms} ms (idle_timeout_ms)")
            return
        if interval_s and now >= next_ping:
            next_ping = now + interval_s
            try:
                waiter = asyncio.ensure_future(await link.ws.ping())
            except ConnectionClosed:
                return
            waiter.add_done_callback(on_pong)


RESUME_ONLY_TIMEOUT_S = 5.0
"""How long a connection let in over ``max_sessions_per_key`` (to resume only) may take to resume."""


async def close_unless_resumed(session: Session, timeout_s: float = RESUME_ONLY_TIMEOUT_S) -> None:
    """Close a resume-only connection (4029) that has not resumed within ``timeout_s``.

    Such a connection exists only to take back a detached session of its principal; left open it
    would hold a slot past ``max_sessions_per_key`` for nothing (PROTOCOL.md, "Resume").
    """
    await asyncio.sleep(timeout_s)
    if session.state is not SessionState.CLOSED:  # a resume ends it (and this task) at once
        log.info("= %s did not resume within %g s (admitted over max_sessions_per_key to resume only): closing 4029",
                 session.id[:8], timeout_s)
        await session.close(CloseCode.RATE_LIMITED,
                            f"limit_reached: did not resume within {timeout_s:g} s (max_sessions_per_key)",
                            cause="disconnected")
