"""Turns (PROTOCOL.md 5.12): get-turn-stats, the response gaps and overlaps a session has seen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("get-turn-stats", role="observer")
async def get_turn_stats(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """The session's turns summed up: overall, per participant who took the turn, and the latest ones."""
    where = session.transport if session.transport is not None else session.observation
    if where is None:
        raise CommandError(ErrorCode.NOT_JOINED, "join or observe a room first: turns are counted in one")
    return session.turn_log.report(where.room_url, params["recent"])
