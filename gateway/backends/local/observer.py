"""A session observing a local room read-only (the ``observe`` request)."""

from __future__ import annotations

import uuid
from typing import Any

from ..base import Observation, TransportListener
from .room import LocalRoom, LocalRoomServer
from .transport import delivery_failed


class LocalObservation(Observation):
    """Registered in :attr:`LocalRoom.observers`: gets the room's events and audio, is no participant.

    The room is kept (and listed) while it is observed, even when nobody is in it, so a
    dashboard can watch an empty room and see the first participant arrive.
    """

    backend = "local"

    def __init__(self, server: LocalRoomServer, room: LocalRoom, listener: TransportListener) -> None:
        super().__init__(room.url, listener)
        self._server = server
        self._room: LocalRoom | None = room
        self.key = str(uuid.uuid4())
        room.add_observer(self.key, self)

    def participants(self) -> dict[str, dict[str, Any]]:
        return self._room.render() if self._room is not None else {}

    async def close(self) -> None:
        room, self._room = self._room, None
        if room is not None:
            room.remove_observer(self.key)
            self._server.release(room)

    # RoomMember: the room calls these on the loop thread. As for participants, a failure
    # stays with this observer (``transport.delivery_failed``), never the room's fan-out.

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        try:
            self.listener.on_event(name, data)
        except Exception as exc:
            delivery_failed(self.listener, f"the {name} event", exc)

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        try:
            self.listener.on_audio(participant_id, source, pcm, sample_rate, channels)
        except Exception as exc:
            delivery_failed(self.listener, f"{participant_id}'s {source} audio", exc)

    def deliver_audio_flush(self, participant_id: str, source: str) -> None:
        try:
            self.listener.on_audio_flush(participant_id, source)
        except Exception as exc:
            delivery_failed(self.listener, f"the end of {participant_id}'s {source} audio", exc)

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        try:
            self.listener.on_track_ended(participant_id, source)
        except Exception as exc:
            delivery_failed(self.listener, f"the end of {participant_id}'s {source}", exc)
