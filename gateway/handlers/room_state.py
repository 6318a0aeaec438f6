"""Room state and network requests: get-participant-counts, get-active-speaker, get-network-stats.

Each maps 1:1 to daily-python's ``CallClient`` getter of the same name through
:class:`~gateway.backends.base.Transport` (PROTOCOL.md, "Room state and network").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("get-participant-counts")
async def get_participant_counts(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return await transport.participant_counts()


@handler("get-active-speaker")
async def get_active_speaker(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return {"participant": await transport.active_speaker()}


@handler("get-network-stats")
async def get_network_stats(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return await transport.get_network_stats()
