"""Outbox and replay-buffer faults: a failing writer closes with 1011; retained frames cost their size (soak finding)."""

from __future__ import annotations

import asyncio

from gateway.session.outbox import Outbox
from protocol.constants import CloseCode


class BrokenSocket:
    """A connection whose send raises something that is not ConnectionClosed (a bug below the outbox)."""

    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None

    writable = True

    def write_message(self, data: bytes, *, text: bool) -> bool:
        raise RuntimeError("simulated bug in the writer")

    async def wait_writable(self) -> None:
        return None

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


def test_replay_buffer_holds_frames_at_their_size():
    """1024 small orjson frames in the replay buffer cost about their length, not orjson's 4 KB allocation each (soak finding)."""
    import tracemalloc

    import orjson

    from gateway.session.replay import ReplayBuffer

    buffer = ReplayBuffer(1024, 1 << 20)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for seq in range(1024):
            buffer.append(seq, orjson.dumps({"type": "event", "seq": seq, "event": "app-message", "data": {"n": seq}}))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1024 * 400, f"{held / 1024:.0f} KiB for {buffer.size_bytes / 1024:.0f} KiB of frames"
