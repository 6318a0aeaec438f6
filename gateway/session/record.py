"""A session's log in the gateway's history (PROTOCOL.md 5.13): one entry per event worth keeping.

Each place the session takes (a join, an observe; a phone's every call) is one session of the history,
from :meth:`SessionRecord.started` to :meth:`SessionRecord.ended`; what is kept of each event, and in
which shape, is :mod:`gateway.history.recorder`'s. Writing never waits (``gateway.history``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..backends.capabilities import RoomState
from ..history import SessionRow
from ..history.recorder import entry

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("gateway.session")


class SessionRecord:
    """Where the session's entries go: its history id while it is in a room, nowhere otherwise."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.history_id: str | None = None
        """The history's id of the current place: the session id, then ``<id>.<n>`` for a phone's later calls."""
        self._places = 0

    def started(self, role: str, room_url: str, backend: str, participant_id: str | None, user_name: str | None) -> None:
        """The session took a place in ``room_url`` (``participant`` or ``observer``)."""
        session = self.session
        self._places += 1
        self.history_id = session.id if self._places == 1 else f"{session.id}.{self._places}"
        session.gateway.history.session_started(SessionRow(
            self.history_id, room_url, backend, role, participant_id, user_name, session.admission.name, time.time(),
        ))

    def event(self, name: str, data: dict[str, Any]) -> None:
        """Keep what the log keeps of event ``name`` (nothing outside a place)."""
        if self.history_id is None:
            return
        kept = entry(name, data)
        if kept is not None:
            self.session.gateway.history.record(self.history_id, name, kept)

    def ended(self, cause: str) -> None:
        """The place ended (``cause``: the ``left`` reason)."""
        if self.history_id is None:
            return
        self.session.gateway.history.session_ended(self.history_id, cause, self.session.turn_log.stats.summary())
        self.history_id = None


async def sample_network(session: Session, room: RoomState) -> None:
    """Keep the room's ``get-network-stats`` every ``history_network_interval_s`` while the session stays in this place."""
    interval_s = session.config.history_network_interval_s
    place = session.record.history_id if interval_s > 0 else None
    while place is not None and session.gateway.history.enabled:
        await asyncio.sleep(interval_s)
        if session.record.history_id != place:
            return
        try:
            stats = await room.get_network_stats()
        except Exception as exc:  # the room is going away: nothing to sample
            log.debug("= %s network sample failed (%s)", session.id[:8], exc)
            return
        session.record.event("network-stats-updated", {"stats": stats})
