"""The embedded room server: rooms whose participants live in this process.

Participants are gateway sessions, the demo talker and (later) dashboards. Each
receives every other participant's audio as a separate track at the publisher's
format (receivers resample), app messages with the sender's id, and participant
events in Daily's names and order. Everything runs on the event loop's thread.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from protocol.errors import CommandError, ErrorCode

from ...media.level import rms_level
from .video_router import VideoRouter

if TYPE_CHECKING:
    from .recording import RoomRecorder
    from .transcription import RoomTranscriber, TranscriptionEngine

log = logging.getLogger("gateway.local.room")

ROOM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SOURCES = ("microphone", "camera", "screenVideo", "screenAudio")

SPEAKER_LEVEL = 0.02
"""RMS (0..1) above which a participant's audio counts as speaking for active-speaker."""
SPEAKER_HOLD_S = 0.4
"""The active speaker keeps the floor until quiet this long, so short pauses don't flap it."""


class RoomMember(Protocol):
    """How a room reaches one participant's owner (a transport, the demo talker)."""

    def deliver_event(self, name: str, data: dict[str, Any]) -> None: ...

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None: ...

    def deliver_audio_flush(self, participant_id: str, source: str) -> None: ...

    def deliver_track_ended(self, participant_id: str, source: str) -> None: ...


@dataclass
class LocalParticipant:
    """A participant of a local room, rendered in Daily's participant shape."""

    member: RoomMember
    user_name: str
    user_data: Any = None
    is_owner: bool = False
    publishing: set[str] = field(default_factory=set)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    joined_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))
    permissions: dict[str, Any] = field(
        default_factory=lambda: {"hasPresence": True, "canSend": True, "canAdmin": False}
    )
    inputs: dict[str, bool] = field(default_factory=lambda: {"microphone": True, "camera": True})
    """Daily's ``inputs().<source>.isEnabled`` (``update-inputs``, or an admin's ``inputsEnabled``)."""
    publishing_on: dict[str, bool] = field(default_factory=lambda: {"microphone": True, "camera": True})
    """Daily's ``publishing().<source>.isPublishing`` (``update-publishing``)."""
    blocked: frozenset[str] = frozenset()
    """Sources the room does not fan out (no permission, input off, not publishing, hidden); see :meth:`refresh`."""
    subscriptions: Subscriptions = field(default_factory=lambda: Subscriptions())
    """What this participant receives (``update-subscriptions``)."""
    phone: dict[str, Any] | None = None
    """Set for a simulated phone (``telephony.py``): its call's ``sessionId``, direction, number."""
    receive_all: bool = True
    """No ``canReceive`` restriction: the fan-out skips :meth:`may_receive` (see :meth:`refresh`)."""
    _receive: tuple[dict[str, bool], dict[str, dict[str, bool]]] = ({}, {})
    """``canReceive`` parsed by :meth:`refresh`: base source -> allowed, participant id -> source -> allowed."""

    @property
    def hidden(self) -> bool:
        """``hasPresence: false``: others neither see nor hear this participant."""
        return self.permissions.get("hasPresence") is False

    @property
    def is_admin(self) -> bool:
        """Owner, or ``canAdmin`` true or naming ``participants`` (Daily's participant admin)."""
        return self.may_admin("participants")

    def may_admin(self, kind: str) -> bool:
        """Owner, or ``canAdmin`` true or naming ``kind`` (``participants``, ``streaming``, ``transcription``)."""
        can_admin = self.permissions.get("canAdmin")
        return self.is_owner or can_admin is True or (isinstance(can_admin, list) and kind in can_admin)

    def may_send(self, source: str) -> bool:
        """``permissions.canSend``: true, false, or a list of sources."""
        can_send = self.permissions.get("canSend", True)
        return can_send is True or (isinstance(can_send, list) and source in can_send)

    def may_receive(self, sender_id: str, source: str) -> bool:
        """``permissions.canReceive``: ``byParticipantId`` first, then ``base``; unset means allowed."""
        if self.receive_all:
            return True
        base, by_participant = self._receive
        own = by_participant.get(sender_id)
        if own is not None and source in own:
            return own[source]
        return base.get(source, True)

    def refresh(self) -> None:
        """Recompute :attr:`blocked` and the receive rules after a permission, input or publishing change."""
        self.blocked = frozenset(
            s for s in SOURCES
            if self.hidden or not self.may_send(s) or not self.inputs.get(_INPUT.get(s, s), True)
            or not self.publishing_on.get(_INPUT.get(s, s), True)
        )
        can_receive = self.permissions.get("canReceive")
        if not isinstance(can_receive, dict):
            self.receive_all, self._receive = True, ({}, {})
            return
        base = _receive_media(can_receive.get("base", True))
        by_participant = {pid: _receive_media(v) for pid, v in (can_receive.get("byParticipantId") or {}).items()}
        self._receive = (base, by_participant)
        self.receive_all = all(base.values()) and all(all(m.values()) for m in by_participant.values())

    def media_state(self, source: str) -> str:
        if not self.may_send(source):
            return "blocked"
        return "playable" if source in self.publishing and source not in self.blocked else "off"

    def to_dict(self, *, local: bool = False) -> dict[str, Any]:
        info: dict[str, Any] = {
            "userName": self.user_name,
            "isLocal": local,
            "isOwner": self.is_owner,
            "joinedAt": self.joined_at,
            "permissions": dict(self.permissions),
        }
        if self.user_data is not None:
            info["userData"] = self.user_data
        media = {s: {"state": self.media_state(s)} for s in SOURCES}
        return {"id": self.id, "info": info, "media": media}


_RECEIVE_KEYS = {"microphone": ("microphone",), "camera": ("camera",), "screenVideo": ("screenVideo",), "screenAudio": ("screenAudio",)}
"""Daily's ``canReceive`` media keys (daily-python's names) -> local sources (``customAudio``/``customVideo`` have none)."""


def _receive_media(value: Any) -> dict[str, bool]:
    """One ``canReceive`` level (``true``, ``false`` or ``{microphone, camera, screenVideo, screenAudio}``) as source -> allowed."""
    if isinstance(value, bool):
        return dict.fromkeys(SOURCES, value)
    if not isinstance(value, dict):
        return {}
    return {src: bool(on) for key, on in value.items() for src in _RECEIVE_KEYS.get(key, ()) if isinstance(on, bool)}


_ADMIN_WHAT = {"participants": "remote control", "streaming": "recording", "transcription": "transcription"}
"""Daily's ``canAdmin`` kinds, as named in a ``not_allowed`` message."""

_INPUT = {"screenVideo": "screenVideo", "screenAudio": "screenAudio"}
"""Which input / publishing key governs each source (microphone and camera: their own)."""

SUBSCRIPTION_STATES = ("subscribed", "unsubscribed", "staged")


@dataclass
class Subscriptions:
    """One receiver's subscriptions: the ``base`` profile and per-participant overrides (Daily's shapes).

    A source is received only when its state is ``subscribed``; ``staged`` (Daily: connected
    but not delivered) and ``unsubscribed`` deliver nothing.
    """

    base: dict[str, str] = field(default_factory=dict)
    """Source -> state for everyone (profile ``base``); absent means subscribed."""
    per_participant: dict[str, dict[str, str]] = field(default_factory=dict)
    """Participant id -> source -> state, overriding ``base``."""

    def receives(self, participant_id: str, source: str) -> bool:
        override = self.per_participant.get(participant_id)
        if override is not None and source in override:
            return override[source] == "subscribed"
        return self.base.get(source, "subscribed") == "subscribed"

    def describe(self) -> dict[str, Any]:
        """``subscriptions-updated`` data: Daily's ``subscriptions()`` (participant id -> media states)."""
        return {pid: {"media": dict(media)} for pid, media in self.per_participant.items()}


class LocalRoom:
    """One room: membership, audio fan-out, app messages, active speaker."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"local://{name}"
        self.created_at = time.time()
        self.participants: dict[str, LocalParticipant] = {}
        self.observers: dict[str, RoomMember] = {}
        """Read-only members (``observe``): they get every event and every participant's audio,
        and are not participants. Every event delivered to participants must reach them too."""
        self.active_speaker: str | None = None
        self._last_loud: dict[str, float] = {}
        self.video = VideoRouter(self)
        """Published video frames and who captures them."""
        self.recorder: RoomRecorder | None = None
        """The room's recordings; made by the first ``start-recording``."""
        self.transcriber: RoomTranscriber | None = None
        """The room's transcription instances; made by the first ``start-transcription``."""
        self._counts = {"present": 0, "hidden": 0}
        """The counts last announced (``participant-counts-updated``)."""

    def _services(self) -> list[RoomRecorder | RoomTranscriber]:
        """Room-wide features that hear every microphone and see who leaves (not members)."""
        return [s for s in (self.recorder, self.transcriber) if s is not None]

    def broadcast(self, name: str, data: dict[str, Any]) -> None:
        """Deliver a room-wide event (recording, transcription) to every participant and observer."""
        for participant in list(self.participants.values()):
            participant.member.deliver_event(name, data)
        self._to_observers(name, data)

    def close_services(self) -> None:
        """Stop recordings and transcriptions now (the gateway is stopping)."""
        for service in self._services():
            service.close()

    def __repr__(self) -> str:
        return f"<LocalRoom {self.name} participants={len(self.participants)}>"

    def add(self, participant: LocalParticipant) -> None:
        """Admit a participant; everyone already present gets participant-joined."""
        self.participants[participant.id] = participant
        log.info("= %s joined %s as %s", participant.user_name, self.url, participant.id)
        data = {"participant": participant.to_dict()}
        for other in self._others(participant.id):
            other.member.deliver_event("participant-joined", data)
        self._to_observers("participant-joined", data)
        self._announce_counts(skip=participant.id)

    def remove(self, participant_id: str, cause: str = "left") -> None:
        """Remove a participant; the others get track-ended and participant-left (reason leftCall)."""
        participant = self.participants.pop(participant_id, None)
        if participant is None:
            return
        log.info("= %s left %s (%s)", participant.user_name, self.url, cause)
        self._last_loud.pop(participant_id, None)
        data = {"participant": participant.to_dict(), "reason": "leftCall", "cause": cause}
        if participant.hidden:  # the others saw it leave when it was hidden
            self._services_left(participant_id)
            self._announce_counts()
            return
        for other in self.participants.values():
            for source in participant.publishing:
                other.member.deliver_track_ended(participant_id, source)
            other.member.deliver_event("participant-left", data)
        for observer in list(self.observers.values()):
            for source in participant.publishing:
                observer.deliver_track_ended(participant_id, source)
            observer.deliver_event("participant-left", data)
        if self.active_speaker == participant_id:
            self.active_speaker = None
        self._services_left(participant_id)
        self._announce_counts()

    def counts(self) -> dict[str, int]:
        """Daily's ``participant_counts()``: participants with presence (``present``) and hidden ones."""
        hidden = sum(1 for p in self.participants.values() if p.hidden)
        return {"present": len(self.participants) - hidden, "hidden": hidden}

    def _announce_counts(self, skip: str | None = None) -> None:
        """``participant-counts-updated`` to everyone but ``skip`` (and to observers) when the counts changed.

        A newcomer is skipped: it is still joining (its ``joined`` comes after), and reads the
        counts with ``get-participant-counts``, as daily-python announces only later changes.
        """
        counts = self.counts()
        if counts == self._counts:
            return
        self._counts = counts
        data = {"counts": counts}
        for participant in list(self.participants.values()):
            if participant.id != skip:
                participant.member.deliver_event("participant-counts-updated", data)
        self._to_observers("participant-counts-updated", data)

    def _services_left(self, participant_id: str) -> None:
        self.video.forget(participant_id)
        for service in self._services():
            service.on_participant_left(participant_id)

    def get(self, participant_id: str) -> LocalParticipant:
        try:
            return self.participants[participant_id]
        except KeyError:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"no participant {participant_id!r} in {self.url}",
                details={"participant_id": participant_id},
            ) from None

    def render(self, local_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Everyone, keyed by id, with ``isLocal`` true for ``local_id``; hidden participants only to themselves."""
        return {
            pid: p.to_dict(local=pid == local_id)
            for pid, p in self.participants.items()
            if not p.hidden or pid == local_id
        }

    # Remote control, inputs, publishing, subscriptions (PROTOCOL.md, "Permissions and remote control").

    def admin(self, participant_id: str, kind: str = "participants") -> LocalParticipant:
        """The participant, if it has ``kind`` admin rights (owner or ``canAdmin``); else ``not_allowed``.

        ``kind`` is Daily's: ``participants`` (remote control), ``streaming`` (recording),
        ``transcription``.
        """
        me = self.get(participant_id)
        if not me.may_admin(kind):
            what = _ADMIN_WHAT.get(kind, kind)
            raise CommandError(
                ErrorCode.NOT_ALLOWED,
                f"{what} needs admin rights: join with token \"owner\" or be granted canAdmin (true or [\"{kind}\"])",
                details={"admin": kind},
            )
        return me

    def change(self, participant: LocalParticipant, apply: Any) -> None:
        """Run ``apply()`` (which edits the participant's settings), then tell the room what changed.

        Sources that became blocked end their tracks at every receiver; hiding or showing the
        participant is participant-left (reason ``hidden``) / participant-joined for the others;
        everyone (the participant too, ``isLocal``) gets participant-updated.
        """
        was_blocked, was_hidden = participant.blocked, participant.hidden
        apply()
        participant.refresh()
        stopped = (participant.blocked - was_blocked) & participant.publishing
        receivers = [*(o.member for o in self._others(participant.id)), *self.observers.values()]
        for source in stopped:
            for member in receivers:
                member.deliver_track_ended(participant.id, source)
        for other in self._others(participant.id):  # canReceive: what it may no longer receive ends
            for source in other.publishing - other.blocked:
                if not participant.may_receive(other.id, source):
                    participant.member.deliver_track_ended(other.id, source)
        if participant.hidden != was_hidden:
            data = {"participant": participant.to_dict()}
            if participant.hidden:
                if self.active_speaker == participant.id:
                    self.active_speaker = None
                for member in receivers:
                    member.deliver_event("participant-left", {**data, "reason": "hidden"})
            else:
                for member in receivers:
                    member.deliver_event("participant-joined", data)
            self._announce_counts()
        participant.member.deliver_event("participant-updated", {"participant": participant.to_dict(local=True)})
        if not participant.hidden:
            self._broadcast_update(participant)

    def eject(self, participant_id: str) -> None:
        """Remove a participant (cause ``ejected``); its owner is told through ``RoomMember.ejected``."""
        participant = self.get(participant_id)
        self.remove(participant_id, "ejected")
        ejected = getattr(participant.member, "ejected", None)
        if ejected is not None:
            ejected()

    def publish_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        """Fan a chunk out to every other participant as ``participant_id``'s ``source`` track."""
        sender = self.participants.get(participant_id)
        if sender is None or not pcm or source in sender.blocked:
            return  # muted, not allowed to send, not publishing or hidden: nobody hears it
        if source not in sender.publishing:
            sender.publishing.add(source)
            self._broadcast_update(sender)
        for other in self._others(participant_id):
            if other.subscriptions.receives(participant_id, source) and (
                other.receive_all or other.may_receive(participant_id, source)
            ):
                other.member.deliver_audio(participant_id, source, pcm, sample_rate, channels)
        # Per frame: no list of services or observers is built when there are none.
        if self.recorder is not None:
            self.recorder.on_audio(participant_id, source, pcm, sample_rate, channels)
        if self.transcriber is not None:
            self.transcriber.on_audio(participant_id, source, pcm, sample_rate, channels)
        if self.observers:
            for observer in list(self.observers.values()):
                observer.deliver_audio(participant_id, source, pcm, sample_rate, channels)
        if source == "microphone":
            self._track_speaker(participant_id, pcm)

    def flush_audio(self, participant_id: str, source: str) -> None:
        """``participant_id``'s ``source`` paused: every receiver delivers what it still holds of it now."""
        for other in self._others(participant_id):
            other.member.deliver_audio_flush(participant_id, source)
        if self.observers:
            for observer in list(self.observers.values()):
                observer.deliver_audio_flush(participant_id, source)

    def send_app_message(self, sender_id: str, message: Any, to: str | None = None) -> None:
        """Deliver to one participant or to everyone but the sender, with the sender's id."""
        data = {"message": message, "sender": sender_id}
        if to is not None:
            self.get(to).member.deliver_event("app-message", data)
            self._to_observers("app-message", {**data, "to": to})
            return
        for other in self._others(sender_id):
            other.member.deliver_event("app-message", data)
        self._to_observers("app-message", data)

    def update_participant(self, participant: LocalParticipant) -> None:
        self._broadcast_update(participant)

    def _broadcast_update(self, participant: LocalParticipant) -> None:
        if participant.hidden:
            return
        data = {"participant": participant.to_dict()}
        for other in self._others(participant.id):
            other.member.deliver_event("participant-updated", data)
        self._to_observers("participant-updated", data)

    def add_observer(self, key: str, observer: RoomMember) -> None:
        """Attach a read-only member; nobody in the room is told."""
        self.observers[key] = observer

    def remove_observer(self, key: str) -> None:
        self.observers.pop(key, None)

    def _to_observers(self, name: str, data: dict[str, Any]) -> None:
        for observer in list(self.observers.values()):
            observer.deliver_event(name, data)

    def _others(self, participant_id: str) -> list[LocalParticipant]:
        return [p for pid, p in self.participants.items() if pid != participant_id]

    def _track_speaker(self, participant_id: str, pcm: bytes) -> None:
        # rms_level remembers the frame it measured last: the receivers' level meters
        # measured this same frame just before (publish_audio fans out first), so this
        # per-frame check is usually free.
        if rms_level(pcm) < SPEAKER_LEVEL:
            return
        now = time.monotonic()
        self._last_loud[participant_id] = now
        current = self.active_speaker
        if current == participant_id:
            return
        if current is not None and now - self._last_loud.get(current, 0.0) < SPEAKER_HOLD_S:
            return
        self.active_speaker = participant_id
        speaker = self.participants[participant_id]
        data = {"participant": speaker.to_dict()}
        for p in list(self.participants.values()):
            # The speaker's own event says isLocal, as get-active-speaker and Daily do.
            p.member.deliver_event(
                "active-speaker-changed", {"participant": speaker.to_dict(local=True)} if p is speaker else data
            )
        self._to_observers("active-speaker-changed", data)


class LocalRoomServer:
    """The process's local rooms by name; a room exists while someone is in it."""

    def __init__(
        self, *, recordings_dir: str | Path = "./recordings", transcription: TranscriptionEngine | None = None
    ) -> None:
        self.rooms: dict[str, LocalRoom] = {}
        self.recordings_dir = Path(recordings_dir)
        """Where recordings are written (``<recordings_dir>/<room>/...``)."""
        self._transcription = transcription
        from .telephony import Switchboard

        self.switchboard = Switchboard(self)
        """The simulated phone network (``telephony.py``)."""

    @property
    def transcription(self) -> TranscriptionEngine:
        """The recogniser shared by every room, made on first use."""
        if self._transcription is None:
            from .transcription import TranscriptionEngine

            self._transcription = TranscriptionEngine()
        return self._transcription

    async def close(self) -> None:
        """On shutdown: close every recording (valid WAVs) and transcription still running."""
        for room in list(self.rooms.values()):
            room.close_services()
        if self._transcription is not None:
            await self._transcription.close()

    @staticmethod
    def room_name(room_url: str) -> str:
        """``local://demo`` -> ``demo``; raises ``bad_room_url`` otherwise."""
        prefix = "local://"
        if not room_url.lower().startswith(prefix):
            raise CommandError(ErrorCode.BAD_ROOM_URL, f"{room_url!r} is not a local room URL (local://<name>)")
        name = room_url[len(prefix):].rstrip("/")
        if not ROOM_NAME.match(name):
            raise CommandError(
                ErrorCode.BAD_ROOM_URL,
                f"bad local room name {name!r}: 1-64 of letters, digits, '.', '_', '-', starting with a letter or digit",
            )
        return name

    def room(self, room_url: str) -> LocalRoom:
        name = self.room_name(room_url)
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = LocalRoom(name)
        return room

    def release(self, room: LocalRoom) -> None:
        """Forget an empty room (no participants and no observers)."""
        if not room.participants and not room.observers and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
