"""``resume``: continue a session whose connection dropped (PROTOCOL.md, "Resume")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("resume", role="observer")
async def resume(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    # On success the reply is already on its way (Session.resume hands it over with the connection).
    return await session.resume(rid, params)
