"""The backend interface: what a room backend (``local``, ``daily``) gives the gateway.

A :class:`Backend` makes one :class:`Transport` per participant that a session
places in a room. The transport reports what happens in the room to a
:class:`TransportListener` (the session), always on the event loop's thread, and
carries the session's commands into the room. Events use the protocol's names and
data shapes (PROTOCOL.md, "Events"), so sessions never translate per backend.

This is the core every backend has; what only some have (recording, telephony, video,
observing...) are the capabilities of ``backends.capabilities``, and the backends are
found by name in ``backends.registry``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class AudioFormat:
    """PCM16 format of one direction of audio."""

    sample_rate: int
    channels: int = 1

    def bytes_per_ms(self) -> float:
        return self.sample_rate * self.channels * 2 / 1000.0


@dataclass
class JoinOptions:
    """What a session asks of the room when it joins (validated ``join`` params)."""

    room_url: str
    user_name: str = "gateway-bot"
    token: str | None = field(default=None, repr=False)
    """A credential: kept out of ``repr`` (and so of logs and tracebacks)."""
    user_data: Any = None
    audio_in: AudioFormat | None = AudioFormat(16000)
    """Format the session wants to receive; None when it receives no audio."""
    audio_out: AudioFormat | None = AudioFormat(24000)
    """Format the session publishes; None when it publishes no audio."""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    """Backend-specific join parameters (the rest of the ``join`` request)."""
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    """The whole validated ``join`` request, defaults filled in (``audio_out.bitrate``, ``video_out``...).

    It holds ``token`` and ``api_key``: never log it (``repr`` leaves it out)."""


@dataclass(frozen=True, slots=True)
class RawVideoFrame:
    """One uncompressed video frame in the room (daily-python's ``VideoFrame`` fields)."""

    buffer: bytes | memoryview
    """The pixels, ``frame_size(width, height, color_format)`` bytes (``gateway.media.colors``)."""
    width: int
    height: int
    color_format: str
    """Daily's format name: RGB, RGBA, BGRA, ARGB, ABGR, BGR or I420."""
    timestamp_us: int
    """Capture time, microseconds since the Unix epoch."""


class TransportListener(Protocol):
    """Receives a transport's room activity. Called on the event loop thread only."""

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        """A room event, already in protocol shape (``participant-joined``, ``app-message``...)."""

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        """A chunk of a participant's audio (any size; the session reframes it)."""

    def on_audio_flush(self, participant_id: str, source: str) -> None:
        """A participant's paced audio paused (its playout span ended): deliver what is still held for it."""

    def on_track_ended(self, participant_id: str, source: str) -> None:
        """A participant stopped publishing ``source`` (muted, unpublished or left)."""

    def on_video(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        """A video frame of a participant this transport captures (``capture_video``); any rate."""

    def on_left(self, cause: str) -> None:
        """The room removed this participant by itself (``ejected`` by an admin); the transport has left."""


class Transport(abc.ABC):
    """One participant in one room, controlled by one session: the core every backend has.

    Anything more (recording, transcription, video, telephony, remote control...) is a
    capability the transport's class also inherits (``backends.capabilities``); a request
    for one it lacks is answered ``not_supported`` by ``capabilities.require``.
    """

    backend: str = ""
    """The backend's name, for messages (``not_supported`` names it)."""

    def __init__(self, options: JoinOptions, listener: TransportListener) -> None:
        self.options = options
        self.listener = listener

    @property
    @abc.abstractmethod
    def participant_id(self) -> str | None:
        """This participant's id in the room, known once joined."""

    @property
    def room_url(self) -> str:
        return self.options.room_url

    @abc.abstractmethod
    async def join(self) -> dict[str, Any]:
        """Join and return the ``joined`` event data (participant_id, room_url, participant, participants).

        Emits ``call-state-updated`` events on the way. Raises ``CommandError`` on failure.
        """

    @abc.abstractmethod
    async def leave(self, cause: str = "left") -> None:
        """Leave the room (idempotent). ``cause`` is left, disconnected, ejected or shutdown."""

    @abc.abstractmethod
    def write_audio(self, pcm: bytes) -> None:
        """Publish one paced chunk of audio in ``options.audio_out`` format; never blocks."""

    def flush_audio(self) -> None:
        """The published audio paused (a playout span ended: clear, drained, stopped).

        Receivers in this process then get what they still hold of it (resampler delay, a
        partial frame) at once (PROTOCOL.md 8.4). Nothing to do where receivers are remote.
        """

    @abc.abstractmethod
    async def send_app_message(self, message: Any, participant_id: str | None, urgent: bool) -> None:
        """Send an app message to everyone or to one participant (``not_found`` if unknown)."""

    @abc.abstractmethod
    def participants(self) -> dict[str, dict[str, Any]]:
        """Everyone in the room, keyed by id, including this participant (``info.isLocal``)."""

    def stats(self) -> dict[str, Any] | None:
        """The backend's own counters for ``get-stats`` (Daily: drops between daily-python and the loop), or None."""
        return None


class Observation(abc.ABC):
    """A read-only attachment to a room (the ``observe`` request): not a participant.

    The backend reports the room to the listener exactly as it would to a participant's
    transport (``on_event``, ``on_audio`` for every participant, ``on_track_ended``), but
    nobody in the room sees the observer and it cannot publish or send.
    """

    backend: str = ""
    """The backend's name (metrics, the ``observe`` reply)."""

    def __init__(self, room_url: str, listener: TransportListener) -> None:
        self.room_url = room_url
        self.listener = listener

    @abc.abstractmethod
    def participants(self) -> dict[str, dict[str, Any]]:
        """Everyone in the room, keyed by id (``info.isLocal`` is false for all)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop observing (idempotent)."""


@dataclass(frozen=True)
class BackendMetric:
    """A figure a backend reports for ``/metrics`` (``gateway.metrics``), read when Prometheus scrapes."""

    name: str
    """The metric's name after ``gateway_`` (``daily_events_dropped``); a counter gets ``_total`` in the text format."""
    kind: str
    """``counter`` (only grows over the process's life) or ``gauge``."""
    help: str
    value: float


class Backend(abc.ABC):
    """A kind of room: parses its URLs and makes transports."""

    name: str = ""
    schemes: tuple[str, ...] = ()

    @abc.abstractmethod
    def check_room_url(self, room_url: str) -> None:
        """Raise ``CommandError(BAD_ROOM_URL)`` if ``room_url`` is not a room of this backend."""

    @abc.abstractmethod
    def create_transport(self, options: JoinOptions, listener: TransportListener) -> Transport:
        """A new, not yet joined, transport."""

    async def start(self) -> None:
        """Called once when the gateway starts."""

    async def close(self) -> None:
        """Called once on shutdown, after every session has left."""

    def rooms(self) -> list[dict[str, Any]]:
        """Rooms this gateway is in on this backend (for listing); empty by default."""
        return []

    def metrics(self) -> list[BackendMetric]:
        """This backend's own counters and gauges for ``/metrics`` (drops inside it, worker restarts); none by default."""
        return []
