"""Event names the gateway sends (``{"type": "event", "event": <name>}``).

Names mirror the reference DailyTransport callbacks in kebab-case (``on_participant_left``
-> ``participant-left``); PROTOCOL.md documents each one's data.
"""

from __future__ import annotations

import enum


class EventName(str, enum.Enum):
    JOINED = "joined"
    """The session's participant is in the room: its id, the room URL, everyone present."""
    LEFT = "left"
    """The session's participant left the room (by request, ejection, error or shutdown)."""
    CALL_STATE_UPDATED = "call-state-updated"
    """initialized -> joining -> joined -> leaving -> left, as Daily reports it."""
    PARTICIPANT_JOINED = "participant-joined"
    FIRST_PARTICIPANT_JOINED = "first-participant-joined"
    """The first other participant joined after this session did (sent once, before participant-joined)."""
    PARTICIPANT_UPDATED = "participant-updated"
    PARTICIPANT_LEFT = "participant-left"
    APP_MESSAGE = "app-message"
    ACTIVE_SPEAKER_CHANGED = "active-speaker-changed"
    TRACK_STARTED = "track-started"
    """A participant track is open: binary frames with this track id follow."""
    TRACK_STOPPED = "track-stopped"
    SPEECH_STARTED = "speech-started"
    """Voice activity began on a received participant track."""
    SPEECH_STOPPED = "speech-stopped"
    AUDIO_LEVELS = "audio-levels"
    """Periodic audio level of each received track (join option levels_interval_ms)."""
    ERROR = "error"
    """The room backend reported an error (not tied to a request)."""
