"""The demo talker: a simulated participant that speaks a WAV in a loop in a local room.

It makes ``make serve`` alive: a client joining ``local://demo`` at once hears
audio, sees speech-started / speech-stopped and participant events.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...media.playout import FrameClock
from ...media.wav import bundled_wav, read_wav
from ...tasks import cancel_and_wait
from .room import LocalParticipant, LocalRoomServer

log = logging.getLogger("gateway.demo")

FRAME_MS = 20


class DemoTalker:
    """Joins a local room as "Demo Talker" and plays its WAV forever, paced in real time."""

    def __init__(self, server: LocalRoomServer, room_url: str, wav_path: str | None = None) -> None:
        self.server = server
        self.room_url = room_url
        self.pcm, self.sample_rate, self.channels = read_wav(wav_path or bundled_wav())
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-talker")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        room = self.server.room(self.room_url)
        me = LocalParticipant(member=self, user_name="Demo Talker", user_data={"demo": True})
        me.publishing.add("microphone")
        room.add(me)
        log.info("demo talker speaking in %s", room.url)
        step = self.sample_rate * self.channels * 2 * FRAME_MS // 1000
        clock = FrameClock(FRAME_MS / 1000)
        try:
            while True:
                for offset in range(0, len(self.pcm) - step + 1, step):
                    room.publish_audio(me.id, "microphone", self.pcm[offset:offset + step], self.sample_rate, self.channels)
                    await clock.tick()
        finally:
            room.remove(me.id, "shutdown")
            self.server.release(room)

    # RoomMember: the talker hears nothing.

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        pass

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        pass

    def deliver_audio_flush(self, participant_id: str, source: str) -> None:
        pass

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        pass
