"""Room requests (PROTOCOL.md 5.1, "Room"): join, leave, observe, list-rooms, get-participants, send-app-message.

Joining, observing and leaving move the session through its states; that code is the
session's (``gateway.session.place``), shared with a phone answering a call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from protocol.errors import TooLarge

from ..session import place
from ..session.state import SessionState
from . import handler

if TYPE_CHECKING:
    from ..server import Gateway
    from ..session import Session


@handler("join")
async def join(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Enter the room as a participant; the result is the ``joined`` event's data."""
    return await place.join(session, params)


@handler("leave", role="observer")
async def leave(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Leave the room (or stop observing); after a join in progress."""
    await place.leave(session, "left")
    return {}


@handler("observe", role="observer")
async def observe(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Watch a room, or a session's transport (a bot), read-only; the result is the room's snapshot."""
    return await place.observe(session, params)


@handler("list-rooms", role="observer")
async def list_rooms(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every live room of every enabled backend (or of ``backend``), with the gateway's sessions in each."""
    backends = [session.gateway.backends.get(params["backend"])] if "backend" in params else session.gateway.backends
    rooms = with_sessions(session.gateway, [room for backend in backends for room in backend.rooms()])
    result: dict[str, Any] = {}
    cluster = session.gateway.cluster
    if cluster is not None:  # every node's rooms (PROTOCOL.md 16.1)
        rooms, complete = await cluster.cluster_rooms(rooms)
        if "backend" in params:
            rooms = [room for room in rooms if room["backend"] == params["backend"]]
        if not complete:
            result["incomplete"] = True
    scope = session.admission.scope
    if scope is not None:  # a room-scoped credential sees only its rooms (PROTOCOL.md, "Authentication")
        rooms = [room for room in rooms if scope.allows_room(room["room_url"])]
    rooms.sort(key=lambda r: r["room_url"])
    return {"rooms": rooms, **result}


def with_sessions(gateway: Gateway, rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rooms`` (a backend's) with this gateway's sessions in each, and their watchers counted as observers."""
    inside: dict[tuple[str, str], list[Session]] = {}
    for other in gateway.joined:
        transport = other.transport
        if transport is not None and other.state is SessionState.JOINED:
            inside.setdefault((transport.backend, transport.room_url), []).append(other)
    for room in rooms:
        bots = sorted(inside.get((room["backend"], room["room_url"]), []), key=lambda s: s.started)
        room["sessions"] = [session_summary(bot) for bot in bots]
        room["observers"] = room.get("observers", 0) + sum(len(bot.watchers) for bot in bots)
    return rooms


def session_summary(bot: Session) -> dict[str, Any]:
    """One of the gateway's sessions in a room, as ``list-rooms`` lists it (what ``observe {session_id}`` takes)."""
    transport = bot.transport
    assert transport is not None
    return {
        "session_id": bot.id,
        "participant_id": transport.participant_id,
        "user_name": transport.options.user_name,
        "detached": bot.detached,
        "watchers": len(bot.watchers),
        "started_at": round(bot.started, 3),
    }


@handler("get-participants", role="observer")
async def get_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    if session.observation is not None:  # observers may read the room too
        return {"participants": session.observation.participants()}
    transport = await session.require_room()
    return {"participants": transport.participants()}


@handler("send-app-message")
async def send_app_message(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    size = len(orjson.dumps(params["message"]))
    limit = session.config.max_app_message_bytes
    if size > limit:
        raise TooLarge(f"app message of {size} bytes exceeds max_app_message_bytes {limit}")
    transport = await session.require_room(wait=True)
    await transport.send_app_message(params["message"], params.get("participant_id"), params["urgent"])
    return {}
