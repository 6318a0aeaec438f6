"""The embedded ``local`` backend: in-process rooms at ``local://<name>``, no key, no network."""

from __future__ import annotations

from typing import Any

from ..base import Backend, JoinOptions, Transport, TransportListener
from .room import LocalParticipant, LocalRoom, LocalRoomServer
from .transport import LocalTransport


class LocalBackend(Backend):
    name = "local"
    schemes = ("local",)

    def __init__(self) -> None:
        self.server = LocalRoomServer()

    def check_room_url(self, room_url: str) -> None:
        self.server.room_name(room_url)

    def create_transport(self, options: JoinOptions, listener: TransportListener) -> Transport:
        return LocalTransport(self.server, options, listener)

    def rooms(self) -> list[dict[str, Any]]:
        return [
            {"room_url": room.url, "backend": self.name, "participants": room.render()}
            for room in self.server.rooms.values()
        ]


__all__ = ["LocalBackend", "LocalParticipant", "LocalRoom", "LocalRoomServer", "LocalTransport"]
