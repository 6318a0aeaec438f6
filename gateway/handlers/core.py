"""Core requests: join, leave, app messages, participants, stats, ping."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from protocol.errors import TooLarge

from . import handler

if TYPE_CHECKING:
    from ..session import Session

@handler("join")
async def join(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await session.join(params)


@handler("leave", role="observer")
async def leave(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    await session.leave("left")
    return {}


@handler("send-app-message")
async def send_app_message(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    size = len(orjson.dumps(params["message"]))
    limit = session.config.max_app_message_bytes
    if size > limit:
        raise TooLarge(f"app message of {size} bytes exceeds max_app_message_bytes {limit}")
    transport = await session.require_room(wait=True)
    await transport.send_app_message(params["message"], params.get("participant_id"), params["urgent"])
    return {}


@handler("get-participants", role="observer")
async def get_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    if session.observation is not None:  # observers may read the room too
        return {"participants": session.observation.participants()}
    transport = await session.require_room()
    return {"participants": transport.participants()}


@handler("get-stats", role="observer")
async def get_stats(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return session.stats()


@handler("ping", role="observer")
async def ping(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"time_ms": time.time_ns() // 1_000_000}
