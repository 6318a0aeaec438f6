"""The outbox writer failing on a bug closes the connection (1011) instead of leaving a session that never writes again."""

from __future__ import annotations

import asyncio

from gateway.outbox import Outbox
from protocol.constants import CloseCode


class BrokenSocket:
    """A connection whose send raises something that is not ConnectionClosed (a bug below the outbox)."""

    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None

    async def send(self, data: bytes, text: bool = False) -> None:
        raise RuntimeError("simulated bug in the writer")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = (code, reason)


async def test_writer_bug_closes_the_connection_with_1011():
    """When writing raises a non-connection error, the outbox closes with 1011 so the session ends and the client reconnects."""
    ws = BrokenSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.event("joined", {})
    for _ in range(100):
        if ws.closed_with is not None:
            break
        await asyncio.sleep(0.01)
    assert ws.closed_with is not None and ws.closed_with[0] == CloseCode.INTERNAL_ERROR
    await box.close(flush_timeout=0.1)
