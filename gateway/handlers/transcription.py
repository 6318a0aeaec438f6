"""Transcription requests: start-transcription, stop-transcription, update-transcription.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name through
:class:`~gateway.backends.base.Transport`; the room reports with ``transcription-*`` events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("start-transcription")
async def start_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return await transport.start_transcription(params.get("settings"))


@handler("stop-transcription")
async def stop_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.stop_transcription(params.get("instance_id"))
    return {}


@handler("update-transcription")
async def update_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.update_transcription(params.get("participants"), params.get("instance_id"))
    return {}
