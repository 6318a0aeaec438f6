"""Remote control and media settings: update-remote-participants, eject-remote-participants,
update-inputs, update-publishing, update-subscriptions, update-subscription-profiles,
send-prebuilt-chat-message.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name through
the transport's capabilities :class:`~gateway.backends.capabilities.RemoteControl`,
:class:`~gateway.backends.capabilities.MediaSettings` and :class:`~gateway.backends.capabilities.PrebuiltChat`
(PROTOCOL.md, "Permissions and remote control",
"Subscriptions and publishing").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.capabilities import MediaSettings, PrebuiltChat, RemoteControl
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


@handler("update-inputs")
async def update_inputs(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    media = await session.require(MediaSettings)
    return {"input_settings": await media.update_inputs(params["input_settings"])}


@handler("update-publishing")
async def update_publishing(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    media = await session.require(MediaSettings)
    return {"publishing_settings": await media.update_publishing(params["publishing_settings"])}


@handler("update-subscriptions")
async def update_subscriptions(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    media = await session.require(MediaSettings)
    subscriptions = await media.update_subscriptions(
        params.get("participant_settings"), params.get("profile_settings")
    )
    return {"subscriptions": subscriptions}


@handler("update-subscription-profiles")
async def update_subscription_profiles(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    media = await session.require(MediaSettings)
    return {"subscription_profiles": await media.update_subscription_profiles(params["profile_settings"])}


@handler("send-prebuilt-chat-message")
async def send_prebuilt_chat_message(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    chat = await session.require(PrebuiltChat, wait=True)
    await chat.send_prebuilt_chat_message(params["message"], params.get("user_name"))
    return {}
