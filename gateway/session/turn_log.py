"""A session's turns: its speech decisions in, ``turn`` events and their sums out (PROTOCOL.md 9.5, 5.12).

The thin I/O around :mod:`gateway.session.turns`: the receiver reports each speech decision here
(a handful a second at most, never per frame); this places the speech on the monotonic clock where it
really was (a start ``vad.start_ms`` before its decision, a stop ``vad.stop_ms`` before its, a track
ending at once), sends the turns decided to the client, counts them and keeps them in the history.

A participant does not hear itself: its own speech is the audio it publishes, each playout span
(``playout-started`` to the end of the audio played in it, PROTOCOL.md 8.4), so a bot's own session
measures its response time, up to its first audio in the room.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .turns import Turn, TurnStats, TurnTracker

if TYPE_CHECKING:
    from .session import Session


class TurnLog:
    """The turns of the session's current room (reset when it joins or observes one)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tracker = TurnTracker()
        self.stats = TurnStats()
        self.since = time.time()
        self._wall_offset_ms = time.time() * 1000 - time.monotonic() * 1000
        self._own_began_ms: float | None = None
        """When the current span of the session's own published audio began (monotonic ms)."""

    def reset(self) -> None:
        """A new room: no speech, no turns yet."""
        self.tracker = TurnTracker()
        self.stats = TurnStats()
        self.since = time.time()
        self._wall_offset_ms = time.time() * 1000 - time.monotonic() * 1000
        self._own_began_ms = None

    def speech(self, participant_id: str, speaking: bool, delay_ms: int) -> None:
        """A speech decision on ``participant_id``'s track, ``delay_ms`` after the speech began (or ended)."""
        at_ms = time.monotonic() * 1000 - delay_ms
        self._turns(self.tracker.started(participant_id, at_ms) if speaking else self.tracker.stopped(participant_id, at_ms))

    def _turns(self, turns: list[Turn]) -> None:
        for turn in turns:
            data = turn.data(self._wall_offset_ms)
            self.stats.add(turn, data)
            self.session.outbox.event("turn", data)
            self.session.record.event("turn", data)

    def playout_event(self, name: str, data: dict[str, Any]) -> None:
        """The session's playout event (``AudioPlayout.on_event``): to the client, and its own speech from the spans."""
        self.session.outbox.event(name, data)
        transport = self.session.transport
        if transport is None or transport.participant_id is None:
            return
        if name == "playout-started":
            self._own_began_ms = time.monotonic() * 1000
            self._turns(self.tracker.started(transport.participant_id, self._own_began_ms))
        elif name == "playout-idle" and self._own_began_ms is not None:
            now_ms = time.monotonic() * 1000
            played = data.get("played_ms")
            ended = min(now_ms, self._own_began_ms + played) if isinstance(played, (int, float)) else now_ms
            self._own_began_ms = None
            self._turns(self.tracker.stopped(transport.participant_id, ended))

    def report(self, room_url: str, recent: int) -> dict[str, Any]:
        """``get-turn-stats``' result."""
        return {"room_url": room_url, "since": round(self.since, 3), **self.stats.report(recent)}
