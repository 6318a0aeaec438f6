"""History (PROTOCOL.md 5.13): list-history, get-history, the sessions kept in the gateway's SQLite log.

Both are for observers too, within the credential's rooms: a session of another room is left out of
``list-history`` and is ``not_found`` for ``get-history``, as one that does not exist (no probing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..session.turns import empty_summary
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("list-history", role="observer")
async def list_history(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """The sessions kept, newest first, and their rooms; only rooms the credential covers."""
    scope = session.admission.scope
    found = await session.gateway.history.list_sessions(
        room_url=params.get("room_url"),
        before=params.get("before"),
        limit=params["limit"],
        allows_room=scope.allows_room if scope is not None else None,
    )
    for kept in found["sessions"]:
        _fill_turns(session, kept)
    return found


@handler("get-history", role="observer")
async def get_history(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """One session's log (the export); ``not_found`` for a session outside the credential's rooms."""
    found = await session.gateway.history.get_session(params["session_id"], params["offset"], params["limit"])
    scope = session.admission.scope
    if found is None or (scope is not None and not scope.allows_room(found["session"]["room_url"])):
        raise CommandError(ErrorCode.NOT_FOUND, f"no session {params['session_id']!r} in the history",
                           details={"session_id": params["session_id"]})
    _fill_turns(session, found["session"])
    return found


def _fill_turns(session: Session, kept: dict[str, Any]) -> None:
    """A running session's turns so far (the history has them when it ends); none for one that ended without."""
    if kept["turns"] is None:
        live = session.gateway.session_by_id(kept["session_id"].split(".", 1)[0])
        if live is not None and live.record.history_id == kept["session_id"]:
            kept["turns"] = live.turn_log.stats.summary()
        else:
            kept["turns"] = empty_summary()
