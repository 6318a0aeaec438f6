"""The backend interface: what a room backend (``local``, ``daily``) gives the gateway.

A :class:`Backend` makes one :class:`Transport` per participant that a session
places in a room. The transport reports what happens in the room to a
:class:`TransportListener` (the session), always on the event loop's thread, and
carries the session's commands into the room. Events use the protocol's names and
data shapes (PROTOCOL.md, "Events"), so sessions never translate per backend.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol

from protocol.errors import CommandError, ErrorCode


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
    """The pixels, ``frame_size(width, height, color_format)`` bytes (``gateway.media.video``)."""
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
    """One participant in one room, controlled by one session.

    Methods that a backend does not support raise ``CommandError(NOT_SUPPORTED)``
    (the default for every optional command); the session turns that into a reply.
    """

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

    # Room state and network (PROTOCOL.md, "Room state and network"): daily-python's getters of the
    # same names. Async, so a backend whose getter blocks (daily-python's wait behind a pending
    # join) can run it off the event loop.

    async def participant_counts(self) -> dict[str, int]:
        """``{"present", "hidden"}`` (``CallClient.participant_counts``): this participant counts too."""
        raise _unsupported("get-participant-counts")

    async def active_speaker(self) -> dict[str, Any] | None:
        """The active speaker's participant (Daily's shape), or None (``CallClient.active_speaker``)."""
        raise _unsupported("get-active-speaker")

    async def get_network_stats(self) -> dict[str, Any]:
        """This participant's network stats (``CallClient.get_network_stats``): ``stats``, ``threshold``, ``quality``..."""
        raise _unsupported("get-network-stats")

    async def command(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run a backend command (recording, dial-out, ...). Default: not supported."""
        raise CommandError(ErrorCode.NOT_SUPPORTED, f"{name} is not supported by this backend")

    # Recording, transcription and video: one method per daily-python CallClient method, same
    # arguments (PROTOCOL.md, "Recording", "Transcription", "Video"). The room reports the outcome
    # with events in daily-python's shape (recording-started {status}, ...) to every participant.

    async def start_recording(
        self, streaming_settings: dict[str, Any] | None, stream_id: str | None, force_new: bool
    ) -> dict[str, Any]:
        """Start recording the room (``CallClient.start_recording``); returns at least ``{"stream_id"}``.

        Raises ``wrong_state`` if ``stream_id`` is already recording and not ``force_new``.
        """
        raise _unsupported("start-recording")

    async def stop_recording(self, stream_id: str | None) -> None:
        """Stop a recording (``CallClient.stop_recording``); ``not_found`` if it is not running."""
        raise _unsupported("stop-recording")

    async def update_recording(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        """Change a running recording's settings, e.g. its layout (``CallClient.update_recording``)."""
        raise _unsupported("update-recording")

    async def start_transcription(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        """Start transcribing the room (``CallClient.start_transcription``); returns at least ``{"instance_id"}``."""
        raise _unsupported("start-transcription")

    async def stop_transcription(self, instance_id: str | None) -> None:
        """Stop a transcription instance (``CallClient.stop_transcription``); ``not_found`` if not running."""
        raise _unsupported("stop-transcription")

    async def update_transcription(self, participants: list[str] | None, instance_id: str | None) -> None:
        """Transcribe only ``participants`` (None: everyone) from now on (``CallClient.update_transcription``)."""
        raise _unsupported("update-transcription")

    def write_video(self, source: str, frame: RawVideoFrame) -> None:
        """Publish one video frame as ``source`` (camera or screenVideo); never blocks.

        Raises ``CommandError`` (``not_supported``) when the backend cannot publish video.
        """
        raise _unsupported("publishing video")

    async def capture_video(self, participant_id: str, video_source: str, color_format: str) -> None:
        """Deliver ``participant_id``'s ``video_source`` frames to ``listener.on_video`` (``set_video_renderer``).

        ``color_format`` is a hint: the session converts whatever arrives. Capturing again replaces
        the capture. Raises ``not_found`` for a participant not in the room.
        """
        raise _unsupported("capture-participant-video")

    async def stop_video_capture(self, participant_id: str, video_source: str) -> None:
        """Stop delivering a participant's frames (idempotent)."""
        raise _unsupported("stop-capture-participant-video")

    # Remote control, inputs, publishing, subscriptions (PROTOCOL.md, "Permissions and remote control",
    # "Subscriptions and publishing"): daily-python's CallClient methods of the same names. Each
    # answers once the room applied the change; the room reports it with events.

    async def update_remote_participants(self, remote_participants: dict[str, Any]) -> None:
        """Change others' ``permissions`` and ``inputsEnabled`` (admins only: ``not_allowed``; unknown ids: ``not_found``)."""
        raise _unsupported("update-remote-participants")

    async def eject_remote_participants(self, ids: list[str]) -> None:
        """Remove participants from the room (admins only)."""
        raise _unsupported("eject-remote-participants")

    async def update_inputs(self, input_settings: dict[str, Any]) -> dict[str, Any]:
        """Turn this participant's inputs on or off; returns the resulting input settings (``inputs-updated``)."""
        raise _unsupported("update-inputs")

    async def update_publishing(self, publishing_settings: dict[str, Any]) -> dict[str, Any]:
        """Start or stop publishing sources; returns the resulting publishing settings (``publishing-updated``)."""
        raise _unsupported("update-publishing")

    async def update_subscriptions(
        self, participant_settings: dict[str, Any] | None, profile_settings: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Change what this participant receives; returns the resulting subscriptions (``subscriptions-updated``)."""
        raise _unsupported("update-subscriptions")

    async def update_subscription_profiles(self, profile_settings: dict[str, Any]) -> dict[str, Any]:
        """Define or change subscription profiles; returns every profile (``subscription-profiles-updated``)."""
        raise _unsupported("update-subscription-profiles")

    async def send_prebuilt_chat_message(self, message: str, user_name: str | None) -> None:
        """Post to Daily Prebuilt's chat (an app message in Prebuilt's chat shape)."""
        raise _unsupported("send-prebuilt-chat-message")

    # Telephony (PROTOCOL.md, "Telephony"): dial-out, DTMF, SIP transfer and refer.

    async def start_dialout(self, settings: dict[str, Any], *, ring_timeout_s: float | None = None) -> dict[str, Any]:
        """Call a phone number or SIP URI into the room; returns ``{"session_id"}`` (``dialout-*`` events follow).

        ``ring_timeout_s`` (local rooms only; Daily has no such setting) bounds the ringing.
        """
        raise _unsupported("start-dialout")

    async def stop_dialout(self, participant_id: str) -> None:
        """Hang up a dial-out call (``participant_id`` is its session id); ``not_found`` without such a call."""
        raise _unsupported("stop-dialout")

    async def send_dtmf(self, settings: dict[str, Any]) -> None:
        """Send DTMF tones to a phone participant (``settings.sessionId`` filled in by the session)."""
        raise _unsupported("send-dtmf")

    async def sip_call_transfer(self, settings: dict[str, Any]) -> None:
        """Move a phone call to another endpoint (``settings.sessionId``, ``settings.toEndPoint``)."""
        raise _unsupported("sip-call-transfer")

    async def sip_refer(self, settings: dict[str, Any]) -> None:
        """Ask the phone's side to call another endpoint (SIP REFER; ``sessionId``, ``toEndPoint``)."""
        raise _unsupported("sip-refer")


def _unsupported(what: str) -> CommandError:
    return CommandError(ErrorCode.NOT_SUPPORTED, f"{what} is not supported by this backend")


class Observation(abc.ABC):
    """A read-only attachment to a room (the ``observe`` request): not a participant.

    The backend reports the room to the listener exactly as it would to a participant's
    transport (``on_event``, ``on_audio`` for every participant, ``on_track_ended``), but
    nobody in the room sees the observer and it cannot publish or send.
    """

    def __init__(self, room_url: str, listener: TransportListener) -> None:
        self.room_url = room_url
        self.listener = listener

    @abc.abstractmethod
    def participants(self) -> dict[str, dict[str, Any]]:
        """Everyone in the room, keyed by id (``info.isLocal`` is false for all)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop observing (idempotent)."""


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

    async def observe(self, room_url: str, listener: TransportListener) -> Observation:
        """Attach ``listener`` to ``room_url`` read-only (the ``observe`` request). Default: not supported."""
        raise CommandError(ErrorCode.NOT_SUPPORTED, f"observing rooms is not supported by the {self.name} backend")
