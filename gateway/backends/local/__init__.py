"""The embedded ``local`` backend: in-process rooms at ``local://<name>``, no key, no network."""

from __future__ import annotations

from typing import Any

from ..base import Backend, JoinOptions, Observation, Transport, TransportListener
from .observer import LocalObservation
from .room import LocalParticipant, LocalRoom, LocalRoomServer
from .transport import LocalTransport, PhoneTransport


class LocalBackend(Backend):
    name = "local"
    schemes = ("local",)

    def __init__(self, *, recordings_dir: str = "./recordings", transcription_workers: int = 1) -> None:
        from .transcription import TranscriptionEngine

        # The engine starts its recognition processes on the first start-transcription only.
        self.server = LocalRoomServer(
            recordings_dir=recordings_dir, transcription=TranscriptionEngine(workers=transcription_workers)
        )

    async def close(self) -> None:
        await self.server.close()

    def check_room_url(self, room_url: str) -> None:
        self.server.room_name(room_url)

    def create_transport(self, options: JoinOptions, listener: TransportListener) -> Transport:
        if "phone_call" in options.extra:
            return PhoneTransport(self.server, options, listener)
        return LocalTransport(self.server, options, listener)

    def rooms(self) -> list[dict[str, Any]]:
        return [
            {
                "room_url": room.url,
                "backend": self.name,
                "participants": room.render(),
                "observers": len(room.observers),
                "active_speaker": room.active_speaker,
                "created_at": round(room.created_at, 3),
            }
            for room in self.server.rooms.values()
        ]

    async def observe(self, room_url: str, listener: TransportListener) -> Observation:
        return LocalObservation(self.server, self.server.room(room_url), listener)


__all__ = ["LocalBackend", "LocalObservation", "LocalParticipant", "LocalRoom", "LocalRoomServer", "LocalTransport"]
