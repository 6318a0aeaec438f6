"""Keep-alive: ping an idle client, close a dead one with 4009 (PROTOCOL.md, "Hello", ``idle_timeout_ms``).

The listener (``gateway.net.listener``) has no keep-alive of its own: the gateway's closes with
its own code, 4009, and counts any message as a sign of life, not only pongs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from protocol.constants import CloseCode

log = logging.getLogger("gateway.limits")


class Pinger(Protocol):
    def ping(self) -> Awaitable[Awaitable[Any]]: ...


class KeptAlive(Protocol):
    """A connection the watchdog watches (``gateway.session.link.Link``)."""

    last_seen: float
    """``time.monotonic()`` of the last message read, or pong: moved on by the link and by pongs here."""

    @property
    def ws(self) -> Pinger: ...

    @property
    def log_id(self) -> str: ...

    async def close(self, code: int, reason: str) -> None: ...


async def idle_watchdog(link: KeptAlive, idle_timeout_ms: int, ping_interval_ms: int) -> None:
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
            log.info("= %s idle for %d ms: closing (4009)", link.log_id, int((now - link.last_seen) * 1000))
            await link.close(CloseCode.IDLE_TIMEOUT, f"idle for {idle_timeout_ms} ms (idle_timeout_ms)")
            return
        if interval_s and now >= next_ping:
            next_ping = now + interval_s
            try:
                waiter = asyncio.ensure_future(await link.ws.ping())
            except ConnectionClosed:
                return
            waiter.add_done_callback(on_pong)
