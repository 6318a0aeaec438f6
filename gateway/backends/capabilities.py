"""Optional abilities of a backend: what a transport or a backend may do beyond the core.

Every backend has the core (:class:`~gateway.backends.base.Transport`: join, leave, audio,
app messages, participants). Anything else is a capability: a small abstract class a
transport (or a backend) also inherits, declaring that it can. A handler asks once,
through :func:`require`, and a backend without the ability is answered ``not_supported``
here, in one place, in the same words for every request of that capability::

    recording = await session.require(Recording)   # not_joined, then not_supported
    return await recording.start_recording(...)

The methods mirror daily-python's ``CallClient`` methods of the same names and arguments
(PROTOCOL.md, "Recording", "Transcription", "Video", "Permissions and remote control",
"Subscriptions and publishing", "Telephony", "Room state and network"); each answers once
the room applied the change, and the room reports it with events in daily-python's shape.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.errors import CommandError, ErrorCode

if TYPE_CHECKING:
    from .base import Observation, RawVideoFrame, TransportListener
    from .local.telephony import Switchboard

C = TypeVar("C")


class Capability(abc.ABC):  # noqa: B024 - a marker: the abstract methods are its subclasses'
    """Base of every capability: ``ability`` names it in the ``not_supported`` message."""

    ability: str = ""


def require(provider: object, capability: type[C], backend: str) -> C:
    """``provider`` as ``capability``, or ``not_supported`` naming the ability and the backend.

    Raises:
        CommandError: ``not_supported``.
    """
    if isinstance(provider, capability):
        return provider
    ability = getattr(capability, "ability", "") or capability.__name__
    raise CommandError(ErrorCode.NOT_SUPPORTED, f"{ability} is not supported by the {backend} backend")


def abilities(provider: object) -> list[str]:
    """The abilities a transport or backend (an instance or its class) declares, sorted (logs, tests)."""
    cls = provider if isinstance(provider, type) else type(provider)
    return sorted(c.ability for c in cls.__mro__ if issubclass(c, Capability) and c.__dict__.get("ability"))


# ---------------------------------------------------------------------- transport capabilities


class RoomState(Capability):
    """daily-python's getters of the room: counts, active speaker, network stats.

    Async, so that a backend whose getter blocks (daily-python's wait behind a pending join)
    can run it off the event loop.
    """

    ability = "room state"

    @abc.abstractmethod
    async def participant_counts(self) -> dict[str, int]:
        """``{"present", "hidden"}`` (``CallClient.participant_counts``): this participant counts too."""

    @abc.abstractmethod
    async def active_speaker(self) -> dict[str, Any] | None:
        """The active speaker's participant (Daily's shape), or None (``CallClient.active_speaker``)."""

    @abc.abstractmethod
    async def get_network_stats(self) -> dict[str, Any]:
        """This participant's network stats (``CallClient.get_network_stats``): ``stats``, ``threshold``, ``quality``..."""


class Recording(Capability):
    """Recording the room; the room reports it with ``recording-*`` events to every participant."""

    ability = "recording"

    @abc.abstractmethod
    async def start_recording(
        self, streaming_settings: dict[str, Any] | None, stream_id: str | None, force_new: bool
    ) -> dict[str, Any]:
        """Start recording the room (``CallClient.start_recording``); returns at least ``{"stream_id"}``.

        Raises ``wrong_state`` if ``stream_id`` is already recording and not ``force_new``.
        """

    @abc.abstractmethod
    async def stop_recording(self, stream_id: str | None) -> None:
        """Stop a recording (``CallClient.stop_recording``); ``not_found`` if it is not running."""

    @abc.abstractmethod
    async def update_recording(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        """Change a running recording's settings, e.g. its layout (``CallClient.update_recording``)."""


class Transcription(Capability):
    """Transcribing the room; the room reports it with ``transcription-*`` events."""

    ability = "transcription"

    @abc.abstractmethod
    async def start_transcription(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        """Start transcribing the room (``CallClient.start_transcription``); returns at least ``{"instance_id"}``."""

    @abc.abstractmethod
    async def stop_transcription(self, instance_id: str | None) -> None:
        """Stop a transcription instance (``CallClient.stop_transcription``); ``not_found`` if not running."""

    @abc.abstractmethod
    async def update_transcription(self, participants: list[str] | None, instance_id: str | None) -> None:
        """Transcribe only ``participants`` (None: everyone) from now on (``CallClient.update_transcription``)."""


class VideoPublishing(Capability):
    """Publishing the client's raw video frames (binary frames on tracks 2 and 3)."""

    ability = "publishing video"

    @abc.abstractmethod
    def write_video(self, source: str, frame: RawVideoFrame) -> None:
        """Publish one video frame as ``source`` (camera or screenVideo); never blocks."""


class VideoCapture(Capability):
    """Capturing participants' video for this session (``set_video_renderer``)."""

    ability = "video capture"

    @abc.abstractmethod
    async def capture_video(self, participant_id: str, video_source: str, color_format: str) -> None:
        """Deliver ``participant_id``'s ``video_source`` frames to ``listener.on_video``.

        ``color_format`` is a hint: the session converts whatever arrives. Capturing again replaces
        the capture. Raises ``not_found`` for a participant not in the room.
        """

    @abc.abstractmethod
    async def stop_video_capture(self, participant_id: str, video_source: str) -> None:
        """Stop delivering a participant's frames (idempotent)."""


class RemoteControl(Capability):
    """Acting on other participants: permissions, inputs, ejecting (admins only)."""

    ability = "remote control of participants"

    @abc.abstractmethod
    async def update_remote_participants(self, remote_participants: dict[str, Any]) -> None:
        """Change others' ``permissions`` and ``inputsEnabled`` (admins only: ``not_allowed``; unknown ids: ``not_found``)."""

    @abc.abstractmethod
    async def eject_remote_participants(self, ids: list[str]) -> None:
        """Remove participants from the room (admins only)."""


class MediaSettings(Capability):
    """This participant's inputs, publishing and subscriptions."""

    ability = "inputs, publishing and subscriptions"

    @abc.abstractmethod
    async def update_inputs(self, input_settings: dict[str, Any]) -> dict[str, Any]:
        """Turn this participant's inputs on or off; returns the resulting input settings (``inputs-updated``)."""

    @abc.abstractmethod
    async def update_publishing(self, publishing_settings: dict[str, Any]) -> dict[str, Any]:
        """Start or stop publishing sources; returns the resulting publishing settings (``publishing-updated``)."""

    @abc.abstractmethod
    async def update_subscriptions(
        self, participant_settings: dict[str, Any] | None, profile_settings: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Change what this participant receives; returns the resulting subscriptions (``subscriptions-updated``)."""

    @abc.abstractmethod
    async def update_subscription_profiles(self, profile_settings: dict[str, Any]) -> dict[str, Any]:
        """Define or change subscription profiles; returns every profile (``subscription-profiles-updated``)."""


class PrebuiltChat(Capability):
    """Posting to Daily Prebuilt's chat."""

    ability = "Prebuilt chat"

    @abc.abstractmethod
    async def send_prebuilt_chat_message(self, message: str, user_name: str | None) -> None:
        """Post to Daily Prebuilt's chat (an app message in Prebuilt's chat shape)."""


class Telephony(Capability):
    """Phone calls in the room: dial-out, DTMF, SIP transfer and refer."""

    ability = "telephony"

    is_phone: bool = False
    """This participant is a phone's own line (a simulated phone in a call): ``send-dtmf`` presses its
    keypad, so it needs no ``settings.sessionId`` of a call."""

    @abc.abstractmethod
    async def start_dialout(self, settings: dict[str, Any], *, ring_timeout_s: float | None = None) -> dict[str, Any]:
        """Call a phone number or SIP URI into the room; returns ``{"session_id"}`` (``dialout-*`` events follow).

        ``ring_timeout_s`` (local rooms only; Daily has no such setting) bounds the ringing.
        """

    @abc.abstractmethod
    async def stop_dialout(self, participant_id: str) -> None:
        """Hang up a dial-out call (``participant_id`` is its session id); ``not_found`` without such a call."""

    @abc.abstractmethod
    async def send_dtmf(self, settings: dict[str, Any]) -> None:
        """Send DTMF tones to a phone participant (``settings.sessionId`` filled in by the session)."""

    @abc.abstractmethod
    async def sip_call_transfer(self, settings: dict[str, Any]) -> None:
        """Move a phone call to another endpoint (``settings.sessionId``, ``settings.toEndPoint``)."""

    @abc.abstractmethod
    async def sip_refer(self, settings: dict[str, Any]) -> None:
        """Ask the phone's side to call another endpoint (SIP REFER; ``sessionId``, ``toEndPoint``)."""


# ---------------------------------------------------------------------- backend capabilities


class RoomObserving(Capability):
    """A backend whose rooms can be watched read-only (the ``observe`` request)."""

    ability = "observing rooms"

    @abc.abstractmethod
    async def observe(self, room_url: str, listener: TransportListener) -> Observation:
        """Attach ``listener`` to ``room_url`` read-only: it gets the room's events and audio, nobody sees it."""


class SimulatedPhones(Capability):
    """A backend with a phone network of its own (local rooms): sessions may register as phones."""

    ability = "simulated phones"

    @property
    @abc.abstractmethod
    def switchboard(self) -> Switchboard:
        """Where phones register and calls are placed (``backends.local.telephony``)."""


__all__ = [
    "Capability", "MediaSettings", "PrebuiltChat", "Recording", "RemoteControl", "RoomObserving", "RoomState",
    "SimulatedPhones", "Telephony", "Transcription", "VideoCapture", "VideoPublishing", "abilities", "require",
]
