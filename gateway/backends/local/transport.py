"""A session's participant in a local room."""

from __future__ import annotations

from typing import Any

from protocol.errors import CommandError, ErrorCode

from ..base import JoinOptions, RawVideoFrame, Transport, TransportListener
from .recording import RoomRecorder
from .room import LocalParticipant, LocalRoom, LocalRoomServer
from .transcription import RoomTranscriber


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

    # Recording (recording.py), transcription (transcription.py), video (video.py).

    async def start_recording(
        self, streaming_settings: dict[str, Any] | None, stream_id: str | None, force_new: bool
    ) -> dict[str, Any]:
        room, me = self._joined()
        if room.recorder is None:
            room.recorder = RoomRecorder(room, self._server.recordings_dir)
        recording = await room.recorder.start(streaming_settings, stream_id, force_new, me.id)
        return {
            "stream_id": recording.stream_id,
            "recording_id": recording.recording_id,
            "path": recording.relative_dir.as_posix(),
        }

    async def stop_recording(self, stream_id: str | None) -> None:
        await self._recorder().stop(stream_id)

    async def update_recording(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        self._recorder().update(update_settings, stream_id)

    def _recorder(self) -> RoomRecorder:
        room, _ = self._joined()
        if room.recorder is None:
            room.recorder = RoomRecorder(room, self._server.recordings_dir)
        return room.recorder

    async def start_transcription(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        room, me = self._joined()
        instance = await self._transcriber().start(settings, me.id)
        return {"instance_id": instance.instance_id, "transcript_id": instance.transcript_id}

    async def stop_transcription(self, instance_id: str | None) -> None:
        await self._transcriber().stop(instance_id, self.participant_id)

    async def update_transcription(self, participants: list[str] | None, instance_id: str | None) -> None:
        self._transcriber().update(participants, instance_id)

    def _transcriber(self) -> RoomTranscriber:
        room, _ = self._joined()
        if room.transcriber is None:
            room.transcriber = RoomTranscriber(room, self._server.transcription)
        return room.transcriber

    def write_video(self, source: str, frame: RawVideoFrame) -> None:
        if self._room is not None and self._me is not None:
            self._room.video.publish(self._me.id, source, frame)

    async def capture_video(self, participant_id: str, video_source: str, color_format: str) -> None:
        room, me = self._joined()
        room.video.capture(me.id, participant_id, video_source, self.listener.on_video)

    async def stop_video_capture(self, participant_id: str, video_source: str) -> None:
        room, me = self._joined()
        room.video.release(me.id, participant_id, video_source)

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
