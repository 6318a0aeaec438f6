"""Small asyncio task helpers shared by the gateway's long-running loops."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has finished, swallowing its cancellation.

    Callers stop a loop (playout, demo talker, recording clock) and must know it no
    longer touches shared state before they go on; a bare ``cancel()`` does not wait.
    """
    if task is None or task.done():
        if task is not None and not task.cancelled():
            task.exception()  # retrieve it so asyncio does not log "never retrieved"
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
