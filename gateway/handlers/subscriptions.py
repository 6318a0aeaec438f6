"""Subscriptions and publishing (PROTOCOL.md 5.8): update-inputs, update-publishing, update-subscriptions,
update-subscription-profiles.

Each maps 1:1 to daily-python's ``CallClient`` method of the same name, through the transport's
:class:`~gateway.backends.capabilities.MediaSettings` capability; the result is what the room applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends.capabilities import MediaSettings
from . import handler

if TYPE_CHECKING:
    from ..session import Session


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
    subscriptions = await media.update_subscriptions(params.get("participant_settings"), params.get("profile_settings"))
    return {"subscriptions": subscriptions}


@handler("update-subscription-profiles")
async def update_subscription_profiles(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    media = await session.require(MediaSettings)
    return {"subscription_profiles": await media.update_subscription_profiles(params["profile_settings"])}
