"""Permissions and remote control (PROTOCOL.md 5.7): update-remote-participants, eject-remote-participants,
send-prebuilt-chat-message.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name, through the transport's
:class:`~gateway.backends.capabilities.RemoteControl` and
:class:`~gateway.backends.capabilities.PrebuiltChat` capabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.capabilities import PrebuiltChat, RemoteControl
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("update-remote-participants")
async def update_remote_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    control = await session.require(RemoteControl)
    await control.update_remote_participants(params["remote_participants"])
    return {}


@handler("eject-remote-participants")
async def eject_remote_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    control = await session.require(RemoteControl)
    await control.eject_remote_participants(params["ids"])
    return {}


@handler("send-prebuilt-chat-message")
async def send_prebuilt_chat_message(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    chat = await session.require(PrebuiltChat, wait=True)
    await chat.send_prebuilt_chat_message(params["message"], params.get("user_name"))
    return {}
