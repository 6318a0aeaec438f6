"""What a session's log keeps of the events it gets, and in which shape (PROTOCOL.md 5.13, the table).

Sans-I/O: :func:`entry` takes an event's name and data and returns what to keep, or None. Entries
keep the protocol event's name and a subset of its data (a participant is kept as its id and name:
the log says who, the live view has the rest); interim transcripts, levels, speech decisions and
media are not kept (the turns summarize the speech).
"""

from __future__ import annotations

from typing import Any

KEPT_AS_IS = frozenset({
    "joined", "left", "observing", "request-failed", "error", "turn",
    "recording-started", "recording-stopped", "recording-error",
    "transcription-started", "transcription-stopped", "transcription-error",
    "dialin-ready", "dialin-connected", "dialin-stopped", "dialin-error", "dialin-warning",
    "dialout-connected", "dialout-answered", "dialout-stopped", "dialout-error", "dialout-warning",
    "dtmf-event", "phone-ringing", "call-ended", "network-stats-updated",
})
"""Events kept with their data unchanged."""

PARTICIPANT_EVENTS = frozenset({"participant-joined", "participant-left"})


def entry(name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The data to keep of event ``name`` (``data``), or None when the log does not keep it."""
    if name in KEPT_AS_IS:
        if name == "joined":
            return {"participant_id": data.get("participant_id"), "room_url": data.get("room_url")}
        return data
    if name in PARTICIPANT_EVENTS:
        return {**{k: v for k, v in data.items() if k != "participant"}, "participant": participant(data.get("participant"))}
    if name == "transcription-message":
        return transcript(data.get("message"))
    return None


def participant(value: Any) -> dict[str, Any]:
    """A participant object as the log keeps it: its id and name."""
    if not isinstance(value, dict):
        return {}
    info = value.get("info")
    name = info.get("userName") if isinstance(info, dict) else None
    return {"id": value.get("id"), "info": {"userName": name}}


def transcript(message: Any) -> dict[str, Any] | None:
    """A final transcript (``participantId``, ``text``, ``timestamp``); None for an interim one."""
    if not isinstance(message, dict):
        return None
    raw = message.get("rawResponse")
    if isinstance(raw, dict) and raw.get("is_final") is False:
        return None
    return {"message": {k: message[k] for k in ("participantId", "text", "timestamp") if k in message}}
