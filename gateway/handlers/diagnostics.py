"""Session requests that read, never change (PROTOCOL.md 5.2, "Session"): ping, get-stats."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("ping", role="observer")
async def ping(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"time_ms": time.time_ns() // 1_000_000}


@handler("get-stats", role="observer")
async def get_stats(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """The session's counters: what it read and sent, its queues, tracks, playout, and the backend's own."""
    outbox, receiver = session.outbox, session.receiver
    stats: dict[str, Any] = {
        "session_id": session.id,
        "state": session.state.value,
        "uptime_s": round(time.time() - session.started, 3),
        "requests": session.requests.count,
        "frames_in": session.frames_in,
        "bytes_in": session.bytes_in,
        "text_sent": outbox.text_sent,
        "media_sent": outbox.media_sent,
        "media_bytes_sent": outbox.media_bytes_sent,
        "media_dropped": outbox.media_dropped,
        "media_queued": outbox.media_queued,
        "text_queued": outbox.text_queued,
        "replay_buffered": len(outbox.replay),
        "resumes": session.resumes,
        "playout_buffered_ms": round(session.playout.buffered_ms, 1) if session.playout else 0,
        "tracks": [t.stats() for t in receiver.audio.values()]
        + [{**v.describe(), "frames_sent": v.frames_sent, "frames_skipped": v.frames_skipped}
           for v in receiver.video.values()],
    }
    backend_stats = session.transport.stats() if session.transport is not None else None
    if backend_stats is not None:  # Daily: drops between daily-python and the loop
        stats["backend_stats"] = backend_stats
    return stats
