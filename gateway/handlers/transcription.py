"""Transcription (PROTOCOL.md 5.5): start-, stop-, update-transcription and capture-participant-transcription.

The first three map 1:1 to daily-python's ``CallClient`` method of the same name through
:class:`~gateway.backends.capabilities.Transcription`; the room reports with ``transcription-*`` events.
``capture-participant-transcription`` is the reference DailyTransport's method: it adds one
participant to the set this session has transcribed, now if transcription runs, else once it starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..backends.capabilities import Transcription, require
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("start-transcription")
async def start(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transcription = await session.require(Transcription)
    return await start_transcription(session, transcription, params.get("settings"))


async def start_transcription(
    session: Session, transcription: Transcription, settings: dict[str, Any] | None
) -> dict[str, Any]:
    """Start transcribing; then narrow it to the captured participants, if any and ``settings`` names none.

    The reference DailyTransport does the same with ``capture_participant_transcription`` ids
    collected before the transcription started. ``join.transcription`` starts it this way too.
    """
    result = await transcription.start_transcription(settings)
    if session.transcribed and not (settings or {}).get("participants"):
        await transcription.update_transcription(list(session.transcribed), result.get("instance_id"))
    return result


@handler("stop-transcription")
async def stop_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transcription = await session.require(Transcription)
    await transcription.stop_transcription(params.get("instance_id"))
    return {}


@handler("update-transcription")
async def update_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transcription = await session.require(Transcription)
    await transcription.update_transcription(params.get("participants"), params.get("instance_id"))
    return {}


@handler("capture-participant-transcription")
async def capture_participant_transcription(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    transcription = require(transport, Transcription, transport.backend)
    participant_id = params["participant_id"]
    present = transport.participants()
    if participant_id not in present:
        raise CommandError(
            ErrorCode.NOT_FOUND, f"no participant {participant_id!r} in the room", details={"participant_id": participant_id}
        )
    session.transcribed = [p for p in session.transcribed if p in present]  # who left is no longer transcribed
    if participant_id not in session.transcribed:
        session.transcribed.append(participant_id)
    try:
        await transcription.update_transcription(list(session.transcribed), params.get("instance_id"))
    except CommandError as exc:
        if exc.code in (ErrorCode.NOT_ALLOWED, ErrorCode.NOT_SUPPORTED, ErrorCode.TIMEOUT):
            raise
        # No transcription running (local: not_found; Daily: wrong_state or backend_error): kept for its start.
        return {"participants": list(session.transcribed), "applied": False, "reason": exc.code.value}
    return {"participants": list(session.transcribed), "applied": True}
