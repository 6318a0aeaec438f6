"""Watching a bot: one session observing another session's transport (``observe {"session_id"}``).

A :class:`SessionWatch` is the :class:`~gateway.backends.base.Observation` of a session that watches
another one (the *bot*): the bot's session forwards what its transport tells it (room events, each
participant's audio, the end of tracks) to its :attr:`~gateway.session.Session.watchers`, and the
watch hands them to the watching session as a backend would. So the watcher sees the room exactly as
the bot does, on any backend, without being a participant: nobody in the room sees it.

The same attachment serves ``observe {"room_url"}`` on a backend that cannot observe a room by
itself (Daily: the gateway is in a Daily room only through its sessions' ``CallClient``\\ s): the
room is watched through one of the gateway's sessions in it (docs/observe.md).

Cold code: attached once; the per-chunk forwarding is the bot session's (``Session.on_audio``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from protocol.errors import ErrorCode

from ..backends.base import Observation, TransportListener

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("gateway.session")


class SessionWatch(Observation):
    """``listener`` (the watching session) attached to ``bot``'s transport through the bot's session.

    What one watcher does with what it gets (analysis, frames) is its own business: a failure stays
    with the watcher and is reported to it, never to the bot.
    """

    def __init__(self, bot: Session, listener: TransportListener) -> None:
        transport = bot.transport
        assert transport is not None, "only a session in a room can be watched"
        super().__init__(transport.room_url, listener)
        self.bot = bot
        """The watched session."""
        self.backend = transport.backend
        self.participant_id = transport.participant_id
        """The bot's participant in the room."""
        self._attached = True
        bot.watchers.append(self)

    def participants(self) -> dict[str, dict[str, Any]]:
        """The room as the bot sees it (its own participant has ``info.isLocal`` true)."""
        transport = self.bot.transport
        return transport.participants() if transport is not None and self._attached else {}

    async def close(self) -> None:
        self.detach()

    def detach(self) -> None:
        """Stop receiving from the bot (idempotent)."""
        if self._attached:
            self._attached = False
            if self in self.bot.watchers:
                self.bot.watchers.remove(self)

    # TransportListener: called by the bot's session, on the loop, as its transport calls it.

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        self._deliver(f"the {name} event", self.listener.on_event, name, data)

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        self._deliver(f"{participant_id}'s {source} audio", self.listener.on_audio,
                      participant_id, source, pcm, sample_rate, channels)

    def on_audio_flush(self, participant_id: str, source: str) -> None:
        self._deliver(f"the end of {participant_id}'s {source} audio", self.listener.on_audio_flush,
                      participant_id, source)

    def on_track_ended(self, participant_id: str, source: str) -> None:
        self._deliver(f"the end of {participant_id}'s {source}", self.listener.on_track_ended, participant_id, source)

    def on_video(self, participant_id: str, source: str, frame: Any) -> None:
        """Video the bot captures is not forwarded: watchers get events and audio (docs/observe.md)."""

    def on_left(self, cause: str) -> None:
        """The bot left its room (``cause`` is its ``left`` reason): the watcher stops watching, with that reason."""
        if self._attached:
            self._deliver("the watched session's leaving", self.listener.on_left, cause)
            self.detach()

    def _deliver(self, what: str, method: Any, *args: Any) -> None:
        if not self._attached:
            return
        try:
            method(*args)
        except Exception as exc:
            log.error("delivering %s to a watching session failed", what, exc_info=exc)
            try:
                self.listener.on_event("error", {
                    "code": ErrorCode.INTERNAL.value,
                    "message": f"delivering {what} failed ({type(exc).__name__}: {exc}); it was lost, the session goes on",
                })
            except Exception:
                log.exception("reporting a failed delivery failed too")
