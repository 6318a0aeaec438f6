"""Room directory and read-only observation: list-rooms, observe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("list-rooms", role="observer")
async def list_rooms(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every live room of every enabled backend (or of ``backend``), needing no room of one's own."""
    backends = [session.gateway.backends.get(params["backend"])] if "backend" in params else session.gateway.backends
    rooms = [room for backend in backends for room in backend.rooms()]
    if session.scope is not None:  # a room-scoped credential sees only its rooms (PROTOCOL.md, "Authentication")
        rooms = [room for room in rooms if session.scope.allows_room(room["room_url"])]
    rooms.sort(key=lambda r: r["room_url"])
    return {"rooms": rooms}


@handler("observe", role="observer")
async def observe(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await session.observe(params)
