"""Video in a local room: participants publish raw frames, others capture them.

The local stand-in for Daily's custom video tracks and ``set_video_renderer``. A frame
published as ``camera`` or ``screenVideo`` goes, untouched, to every capture of that
participant's source (no copy: frames are immutable). The room keeps each source's latest
frame, so a new capture starts with the current picture instead of waiting for the next.
Rate limiting (latest frame wins) and colour conversion happen per capturing client, in
the session's ``VideoTrack``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..base import RawVideoFrame

if TYPE_CHECKING:
    from .room import LocalRoom

VIDEO_SOURCES = ("camera", "screenVideo")

FrameSink = Callable[[str, str, RawVideoFrame], None]
"""Called with (participant id, source, frame) for each captured frame."""


class VideoRouter:
    """The video of one local room: latest frame per source, and who captures what."""

    def __init__(self, room: LocalRoom) -> None:
        self.room = room
        self.latest: dict[tuple[str, str], RawVideoFrame] = {}
        """Last frame of each (participant id, source) that published."""
        self._captures: dict[tuple[str, str], dict[str, FrameSink]] = {}

    def publish(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        """Fan one frame out to the captures of ``participant_id``'s ``source``."""
        sender = self.room.participants.get(participant_id)
        if sender is None:
            return
        if source not in sender.publishing:
            sender.publishing.add(source)
            self.room.update_participant(sender)
        key = (participant_id, source)
        self.latest[key] = frame
        for sink in list(self._captures.get(key, {}).values()):
            sink(participant_id, source, frame)

    def capture(self, capturer: str, participant_id: str, source: str, sink: FrameSink) -> None:
        """Send ``participant_id``'s ``source`` frames to ``sink`` (replacing ``capturer``'s earlier one).

        The current frame, if any, is delivered at once. Raises ``not_found`` for a participant
        not in the room.
        """
        self.room.get(participant_id)
        key = (participant_id, source)
        self._captures.setdefault(key, {})[capturer] = sink
        frame = self.latest.get(key)
        if frame is not None:
            sink(participant_id, source, frame)

    def release(self, capturer: str, participant_id: str | None = None, source: str | None = None) -> None:
        """Stop ``capturer``'s captures: one (participant, source), or all of them."""
        for key in list(self._captures):
            if (participant_id is None or key[0] == participant_id) and (source is None or key[1] == source):
                sinks = self._captures[key]
                sinks.pop(capturer, None)
                if not sinks:
                    del self._captures[key]

    def forget(self, participant_id: str) -> None:
        """A participant left: drop its frames and every capture of it, and its own captures."""
        for key in [k for k in self.latest if k[0] == participant_id]:
            del self.latest[key]
        for key in [k for k in self._captures if k[0] == participant_id]:
            del self._captures[key]
        self.release(participant_id)
