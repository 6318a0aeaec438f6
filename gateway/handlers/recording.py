"""Recording (PROTOCOL.md 5.4): start-recording, stop-recording, update-recording.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name through
:class:`~gateway.backends.capabilities.Recording`; the room reports with ``recording-*`` events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.capabilities import Recording
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("start-recording")
async def start_recording(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    recording = await session.require(Recording)
    return await recording.start_recording(
        params.get("streaming_settings"), params.get("stream_id"), params["force_new"]
    )


@handler("stop-recording")
async def stop_recording(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    recording = await session.require(Recording)
    await recording.stop_recording(params.get("stream_id"))
    return {}


@handler("update-recording")
async def update_recording(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    recording = await session.require(Recording)
    await recording.update_recording(params["update_settings"], params.get("stream_id"))
    return {}
