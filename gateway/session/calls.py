"""The phone calls connected in a session's room, newest last (PROTOCOL.md, "Telephony").

``send-dtmf``, ``sip-call-transfer`` and ``sip-refer`` may leave ``settings.sessionId`` out:
the latest connected call is meant, as Pipecat's DailyTransport does. The session keeps the
calls' ids from the ``dialin-*`` / ``dialout-*`` events it relays.
"""

from __future__ import annotations

from typing import Any

from protocol.errors import CommandError, ErrorCode


class CallSessions:
    """Session ids of the connected phone calls (``dialin-connected``, ``dialout-connected``), oldest first."""

    EVENTS = frozenset({"dialin-connected", "dialout-connected", "dialin-stopped", "dialout-stopped", "dialout-error",
                        "dialin-error"})
    """The events that connect or end a call."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    def track(self, name: str, data: dict[str, Any]) -> None:
        """Remember a call that connected, forget one that ended (``name`` is one of :data:`EVENTS`)."""
        session_id = (data.get("data") or {}).get("sessionId")
        if not session_id:
            return
        if name.endswith("-connected"):
            if session_id not in self.connected:
                self.connected.append(session_id)
        elif session_id in self.connected:
            self.connected.remove(session_id)

    def fill_in(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``settings`` with ``sessionId`` filled in from the latest connected call when left out.

        Raises:
            CommandError: ``wrong_state`` when no call is connected.
        """
        if settings.get("sessionId"):
            return settings
        if not self.connected:
            raise CommandError(
                ErrorCode.WRONG_STATE, "no phone call is connected; give settings.sessionId",
                details={"field": "settings.sessionId"},
            )
        return {**settings, "sessionId": self.connected[-1]}
