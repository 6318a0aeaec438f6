"""Remote control and media settings: update-remote-participants, eject-remote-participants,
update-inputs, update-publishing, update-subscriptions, update-subscription-profiles,
send-prebuilt-chat-message.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name through
:class:`~gateway.backends.base.Transport` (PROTOCOL.md, "Permissions and remote control",
"Subscriptions and publishing").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("update-remote-participants")
async def update_remote_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.update_remote_participants(params["remote_participants"])
    return {}


@handler("eject-remote-participants")
async def eject_remote_participants(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.eject_remote_participants(params["ids"])
    return {}


@handler("update-inputs")
async def update_inputs(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return {"input_settings": await transport.update_inputs(params["input_settings"])}


@handler("update-publishing")
async def update_publishing(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return {"publishing_settings": await transport.update_publishing(params["publishing_settings"])}


@handler("update-subscriptions")
async def update_subscriptions(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    subscriptions = await transport.update_subscriptions(
        params.get("participant_settings"), params.get("profile_settings")
    )
    return {"subscriptions": subscriptions}


@handler("update-subscription-profiles")
async def update_subscription_profiles(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    return {"subscription_profiles": await transport.update_subscription_profiles(params["profile_settings"])}


@handler("send-prebuilt-chat-message")
async def send_prebuilt_chat_message(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room(wait=True)
    await transport.send_prebuilt_chat_message(params["message"], params.get("user_name"))
    return {}
