"""Room state and network (PROTOCOL.md 5.10): get-participant-counts, get-active-speaker, get-network-stats.

Each maps 1:1 to daily-python's ``CallClient`` getter of the same name through
:class:`~gateway.backends.capabilities.RoomState` (PROTOCOL.md, "Room state and network").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.capabilities import RoomState
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("get-participant-counts")
async def get_participant_counts(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    room = await session.require(RoomState)
    return await room.participant_counts()


@handler("get-active-speaker")
async def get_active_speaker(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    room = await session.require(RoomState)
    return {"participant": await room.active_speaker()}


@handler("get-network-stats")
async def get_network_stats(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    room = await session.require(RoomState)
    return await room.get_network_stats()
