"""The embedded ``local`` backend: in-process rooms at ``local://<name>``, no key, no network."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import Backend, BackendMetric, JoinOptions, Observation, Transport, TransportListener
from ..capabilities import RoomObserving, SimulatedPhones
from .observer import LocalObservation
from .room import LocalParticipant, LocalRoom, LocalRoomServer
from .telephony import Switchboard
from .transport import LocalTransport, PhoneTransport

if TYPE_CHECKING:
    from .demo import DemoTalker


class LocalBackend(Backend, RoomObserving, SimulatedPhones):
    name = "local"
    schemes = ("local",)

    def __init__(
        self,
        *,
        recordings_dir: str = "./recordings",
        transcription_workers: int = 1,
        demo: tuple[str, str | None] | None = None,
    ) -> None:
        from .transcription import TranscriptionEngine

        # The engine starts its recognition processes on the first start-transcription only.
        self.server = LocalRoomServer(
            recordings_dir=recordings_dir, transcription=TranscriptionEngine(workers=transcription_workers)
        )
        self.demo = demo
        """``(room URL, WAV path or None)`` of the demo talker (``--demo``), started with the backend."""
        self._demo_talker: DemoTalker | None = None

    async def start(self) -> None:
        if self.demo is not None:
            from .demo import DemoTalker

            self._demo_talker = DemoTalker(self.server, *self.demo)
            self._demo_talker.start()

    async def close(self) -> None:
        if self._demo_talker is not None:
            await self._demo_talker.stop()
        await self.server.close()

    @property
    def switchboard(self) -> Switchboard:
        return self.server.switchboard

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
                **room_services(room),
            }
            for room in self.server.rooms.values()
        ]

    def metrics(self) -> list[BackendMetric]:
        engine = self.server.transcription
        return [
            BackendMetric("transcription_worker_restarts", "counter",
                          "Local-room speech recognition processes restarted after dying.", engine.restarts),
            BackendMetric("transcription_workers", "gauge", "Local-room speech recognition processes alive.",
                          sum(1 for w in engine.workers if w.alive)),
        ]

    async def observe(self, room_url: str, listener: TransportListener) -> Observation:
        return LocalObservation(self.server, self.server.room(room_url), listener)


def room_services(room: LocalRoom) -> dict[str, Any]:
    """What runs in a room now, for ``list-rooms``: so a page opened later shows the real state."""
    recorder, transcriber = room.recorder, room.transcriber
    return {
        "recordings": [
            {"stream_id": r.stream_id, "recording_id": r.recording_id, "path": r.relative_dir.as_posix()}
            for r in (recorder.recordings.values() if recorder is not None else ())
        ],
        "transcriptions": sorted(transcriber.instances) if transcriber is not None else [],
    }


__all__ = ["LocalBackend", "LocalObservation", "LocalParticipant", "LocalRoom", "LocalRoomServer", "LocalTransport"]
