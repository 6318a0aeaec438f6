"""A session's participant in a local room."""

from __future__ import annotations

from typing import Any

from protocol.errors import CommandError, ErrorCode

from ..base import JoinOptions, Transport, TransportListener
from .room import LocalParticipant, LocalRoom, LocalRoomServer


class LocalTransport(Transport):
    """Joins a :class:`LocalRoom` as one participant and relays it to the session."""

    def __init__(self, server: LocalRoomServer, options: JoinOptions, listener: TransportListener) -> None:
        super().__init__(options, listener)
        self._server = server
        self._room: LocalRoom | None = None
        self._me: LocalParticipant | None = None

    @property
    def participant_id(self) -> str | None:
        return self._me.id if self._me else None

    async def join(self) -> dict[str, Any]:
        self.listener.on_event("call-state-updated", {"state": "joining"})
        room = self._server.room(self.options.room_url)
        me = LocalParticipant(member=self, user_name=self.options.user_name, user_data=self.options.user_data)
        if self.options.audio_out is not None:
            me.publishing.add("microphone")
        self._room, self._me = room, me
        room.add(me)
        self.listener.on_event("call-state-updated", {"state": "joined"})
        others = {pid: p for pid, p in room.render(me.id).items() if pid != me.id}
        return {
            "participant_id": me.id,
            "room_url": room.url,
            "participant": me.to_dict(local=True),
            "participants": others,
        }

    async def leave(self, cause: str = "left") -> None:
        room, me = self._room, self._me
        if room is None or me is None:
            return
        self._room = None
        self.listener.on_event("call-state-updated", {"state": "leaving"})
        room.remove(me.id, cause)
        self._server.release(room)
        self.listener.on_event("call-state-updated", {"state": "left"})

    def write_audio(self, pcm: bytes) -> None:
        fmt = self.options.audio_out
        if self._room is not None and self._me is not None and fmt is not None:
            self._room.publish_audio(self._me.id, "microphone", pcm, fmt.sample_rate, fmt.channels)

    async def send_app_message(self, message: Any, participant_id: str | None, urgent: bool) -> None:
        room, me = self._joined()
        room.send_app_message(me.id, message, participant_id)

    def participants(self) -> dict[str, dict[str, Any]]:
        room, me = self._joined()
        return room.render(me.id)

    def _joined(self) -> tuple[LocalRoom, LocalParticipant]:
        if self._room is None or self._me is None:
            raise CommandError(ErrorCode.NOT_JOINED, "not in a room")
        return self._room, self._me

    # RoomMember: the room calls these on the loop thread.

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        self.listener.on_event(name, data)

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if self.options.audio_in is not None:
            self.listener.on_audio(participant_id, source, pcm, sample_rate, channels)

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        self.listener.on_track_ended(participant_id, source)
