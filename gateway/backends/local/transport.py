"""A session's participant in a local room."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from protocol.errors import CommandError, ErrorCode

from ...tasks import cancel_and_wait
from ..base import JoinOptions, RawVideoFrame, Transport, TransportListener
from ..capabilities import (
    MediaSettings,
    PrebuiltChat,
    Recording,
    RemoteControl,
    RoomState,
    Telephony,
    Transcription,
    VideoCapture,
    VideoPublishing,
)
from .faults import DROP_AFTER_S, InjectedFault, fault_of
from .network import NetworkCounters
from .recording import RoomRecorder
from .room import SOURCES, LocalParticipant, LocalRoom, LocalRoomServer
from .telephony import PhoneCall, send_tones, sip_endpoint
from .transcription import RoomTranscriber

log = logging.getLogger("gateway.local.transport")

OWNER_TOKEN = "owner"
"""``join.token`` that makes a local participant the room's owner (admin rights): local rooms have no
meeting tokens, and bind to loopback; PROTOCOL.md, "Permissions and remote control"."""


class LocalTransport(
    Transport,
    RoomState,
    Recording,
    Transcription,
    VideoPublishing,
    VideoCapture,
    RemoteControl,
    MediaSettings,
    PrebuiltChat,
    Telephony,
):
    """Joins a :class:`LocalRoom` as one participant and relays it to the session."""

    backend = "local"

    def __init__(self, server: LocalRoomServer, options: JoinOptions, listener: TransportListener) -> None:
        super().__init__(options, listener)
        self._server = server
        self._room: LocalRoom | None = None
        self._me: LocalParticipant | None = None
        self.network = NetworkCounters()
        """Media bytes through the room, for ``get-network-stats``."""
        self._fault: str | None = None
        """The injected fault of a ``fault-*`` room (``faults.py``, test-only); None normally."""
        self._fault_task: asyncio.Task[None] | None = None

    @property
    def participant_id(self) -> str | None:
        return self._me.id if self._me else None

    async def join(self) -> dict[str, Any]:
        audio_in = (self.options.params or {}).get("audio_in") or {}
        if audio_in.get("mixed") and not self.is_phone:
            raise CommandError(
                ErrorCode.NOT_SUPPORTED, "join.audio_in.mixed (the room's mix as one track) is Daily only",
                details={"field": "audio_in.mixed"},
            )  # fmt: skip
        self.listener.on_event("call-state-updated", {"state": "joining"})
        room = self._server.room(self.options.room_url)
        me = self._make_participant()
        if self.options.audio_out is not None:
            me.publishing.add("microphone")
        self._room, self._me = room, me
        self._fault = fault_of(room.name)
        room.add(me)
        if self._fault == "join-error":
            raise InjectedFault("simulated backend failure while joining (fault-join-error)")
        if self._fault == "join-hang":
            await asyncio.Event().wait()
        self.listener.on_event("call-state-updated", {"state": "joined"})
        if self._fault == "drop":
            self._fault_task = asyncio.create_task(self._drop_later(), name="fault-drop")
        if self.dialin_settings is not None:
            self.listener.on_event("dialin-ready", {"sip_endpoint": sip_endpoint(room)})
        others = {pid: p for pid, p in room.render(me.id).items() if pid != me.id}
        return {
            "participant_id": me.id,
            "room_url": room.url,
            "participant": me.to_dict(local=True),
            "participants": others,
        }

    def _make_participant(self) -> LocalParticipant:
        return LocalParticipant(
            member=self,
            user_name=self.options.user_name,
            user_data=self.options.user_data,
            is_owner=self.options.token == OWNER_TOKEN,
        )

    async def leave(self, cause: str = "left") -> None:
        if self._fault == "leave-hang":
            await asyncio.Event().wait()
        task, self._fault_task = self._fault_task, None
        if task is not None and task is not asyncio.current_task():
            await cancel_and_wait(task)
        room, me = self._room, self._me
        if room is None or me is None:
            return
        self._room = None
        self.listener.on_event("call-state-updated", {"state": "leaving"})
        self._server.switchboard.dialer_left(self)
        room.remove(me.id, cause)
        self._server.release(room)
        self.listener.on_event("call-state-updated", {"state": "left"})

    def write_audio(self, pcm: bytes) -> None:
        fmt = self.options.audio_out
        if self._room is not None and self._me is not None and fmt is not None:
            self.network.audio_sent += len(pcm)
            self._room.publish_audio(self._me.id, "microphone", pcm, fmt.sample_rate, fmt.channels)

    def flush_audio(self) -> None:
        if self._room is not None and self._me is not None:
            self._room.flush_audio(self._me.id, "microphone")

    async def send_app_message(self, message: Any, participant_id: str | None, urgent: bool) -> None:
        room, me = self._joined()
        room.send_app_message(me.id, message, participant_id)

    def participants(self) -> dict[str, dict[str, Any]]:
        room, me = self._joined()
        return room.render(me.id)

    # Room state and network.

    async def participant_counts(self) -> dict[str, int]:
        room, _ = self._joined()
        return room.counts()

    async def active_speaker(self) -> dict[str, Any] | None:
        room, me = self._joined()
        speaker = room.participants.get(room.active_speaker) if room.active_speaker else None
        return speaker.to_dict(local=speaker.id == me.id) if speaker is not None else None

    async def get_network_stats(self) -> dict[str, Any]:
        self._joined()
        return self.network.stats()

    # Recording (recording.py), transcription (transcription.py), video (video.py). Recording and
    # transcription need admin rights, as on Daily (canAdmin "streaming" / "transcription"); the
    # check is here, before the room's services are reached (PROTOCOL.md, "Recording").

    async def start_recording(
        self, streaming_settings: dict[str, Any] | None, stream_id: str | None, force_new: bool
    ) -> dict[str, Any]:
        room, me = self._joined()
        room.admin(me.id, "streaming")
        if room.recorder is None:
            room.recorder = RoomRecorder(room, self._server.recordings_dir)
        recording = await room.recorder.start(streaming_settings, stream_id, force_new, me.id)
        return {
            "stream_id": recording.stream_id,
            "recording_id": recording.recording_id,
            "path": recording.relative_dir.as_posix(),
        }

    async def stop_recording(self, stream_id: str | None) -> None:
        await self._recorder().stop(stream_id)

    async def update_recording(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        self._recorder().update(update_settings, stream_id)

    def _recorder(self) -> RoomRecorder:
        room, me = self._joined()
        room.admin(me.id, "streaming")
        if room.recorder is None:
            room.recorder = RoomRecorder(room, self._server.recordings_dir)
        return room.recorder

    async def start_transcription(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        _, me = self._joined()
        instance = await self._transcriber().start(settings, me.id)
        return {"instance_id": instance.instance_id, "transcript_id": instance.transcript_id}

    async def stop_transcription(self, instance_id: str | None) -> None:
        await self._transcriber().stop(instance_id, self.participant_id)

    async def update_transcription(self, participants: list[str] | None, instance_id: str | None) -> None:
        self._transcriber().update(participants, instance_id)

    def _transcriber(self) -> RoomTranscriber:
        room, me = self._joined()
        room.admin(me.id, "transcription")
        if room.transcriber is None:
            room.transcriber = RoomTranscriber(room, self._server.transcription)
        return room.transcriber

    def write_video(self, source: str, frame: RawVideoFrame) -> None:
        if self._room is not None and self._me is not None and source not in self._me.blocked:
            self.network.video_sent += len(frame.buffer)
            self._room.video.publish(self._me.id, source, frame)

    async def capture_video(self, participant_id: str, video_source: str, color_format: str) -> None:
        room, me = self._joined()
        subs, deliver, network = me.subscriptions, self.listener.on_video, self.network

        def sink(pid: str, source: str, frame: RawVideoFrame) -> None:
            if subs.receives(pid, source) and me.may_receive(pid, source):
                network.video_received += len(frame.buffer)
                deliver(pid, source, frame)

        room.video.capture(me.id, participant_id, video_source, sink)

    async def stop_video_capture(self, participant_id: str, video_source: str) -> None:
        room, me = self._joined()
        room.video.release(me.id, participant_id, video_source)

    # Remote control, inputs, publishing, subscriptions: enforced by the room's fan-out.

    async def update_remote_participants(self, remote_participants: dict[str, Any]) -> None:
        room, me = self._joined()
        room.admin(me.id)
        targets = [(self._remote(room, me, pid), settings) for pid, settings in remote_participants.items()]
        for target, settings in targets:  # all ids checked first: nothing changes on a bad one
            def apply(target: LocalParticipant = target, settings: dict[str, Any] = settings) -> None:
                target.permissions.update(settings.get("permissions", {}))
                target.inputs.update(settings.get("inputsEnabled", {}))
            room.change(target, apply)

    async def eject_remote_participants(self, ids: list[str]) -> None:
        room, me = self._joined()
        room.admin(me.id)
        for target in [self._remote(room, me, pid) for pid in ids]:
            room.eject(target.id)

    async def update_inputs(self, input_settings: dict[str, Any]) -> dict[str, Any]:
        room, me = self._joined()
        enabled = {src: s["isEnabled"] for src, s in input_settings.items() if "isEnabled" in s}
        room.change(me, lambda: me.inputs.update(enabled))
        current = {src: {"isEnabled": on} for src, on in me.inputs.items()}
        self.listener.on_event("inputs-updated", {"input_settings": current})
        return current

    async def update_publishing(self, publishing_settings: dict[str, Any]) -> dict[str, Any]:
        room, me = self._joined()
        on = {src: s["isPublishing"] for src, s in publishing_settings.items() if "isPublishing" in s}
        room.change(me, lambda: me.publishing_on.update(on))
        current = {src: {"isPublishing": v} for src, v in me.publishing_on.items()}
        self.listener.on_event("publishing-updated", {"publishing_settings": current})
        return current

    async def update_subscriptions(
        self, participant_settings: dict[str, Any] | None, profile_settings: dict[str, Any] | None
    ) -> dict[str, Any]:
        room, me = self._joined()
        subs = me.subscriptions
        updates = {pid: self._remote(room, me, pid).id for pid in (participant_settings or {})}
        profiles = [str(s.get("profile")) for s in (participant_settings or {}).values() if s.get("profile", "base") != "base"]
        profiles += [name for name in (profile_settings or {}) if name != "base"]
        if profiles:
            raise CommandError(
                ErrorCode.NOT_SUPPORTED, f"local rooms have only the base subscription profile, not {profiles[0]!r}",
                details={"field": "profile_settings"},
            )  # fmt: skip
        if profile_settings and "base" in profile_settings:
            subs.base.update(_media_states(profile_settings["base"]["media"]))
        for pid in updates:
            media = participant_settings[pid].get("media")  # type: ignore[index]
            if media is not None:
                subs.per_participant.setdefault(pid, {}).update(_media_states(media))
        for pid, p in room.participants.items():
            for source in p.publishing:
                if pid != me.id and not subs.receives(pid, source):
                    self.listener.on_track_ended(pid, source)
        current = subs.describe()
        self.listener.on_event("subscriptions-updated", {"subscriptions": current})
        return current

    async def update_subscription_profiles(self, profile_settings: dict[str, Any]) -> dict[str, Any]:
        """Local rooms have one profile, ``base`` (everyone): changing it is ``profile_settings.base`` of update-subscriptions."""
        await self.update_subscriptions(None, {name: {"media": media} for name, media in profile_settings.items()})
        base = self._joined()[1].subscriptions.base
        profiles = {"base": {source: {"subscriptionState": base.get(source, "subscribed")} for source in SOURCES}}
        self.listener.on_event("subscription-profiles-updated", {"subscription_profiles": profiles})
        return profiles

    async def send_prebuilt_chat_message(self, message: str, user_name: str | None) -> None:
        room, me = self._joined()
        chat = {
            "event": "chat-msg",
            "message": message,
            "name": user_name or me.user_name,
            "room": "main-room",
            "date": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        room.send_app_message(me.id, chat)

    # Telephony, simulated (telephony.py).

    @property
    def dialin_settings(self) -> dict[str, Any] | None:
        """``join.dialin_settings``: this participant takes dial-in calls to its room."""
        return self.options.extra.get("dialin_settings")

    async def start_dialout(self, settings: dict[str, Any], *, ring_timeout_s: float | None = None) -> dict[str, Any]:
        room, _ = self._joined()
        call = self._server.switchboard.dial_out(room, self, settings, ring_timeout_s=ring_timeout_s)
        return {"session_id": call.session_id}

    async def stop_dialout(self, participant_id: str) -> None:
        room, _ = self._joined()
        call = self._call(room, participant_id)
        self._server.switchboard.end(call, "stopped")

    async def send_dtmf(self, settings: dict[str, Any]) -> None:
        room, _ = self._joined()
        call = self._call(room, settings["sessionId"])
        if call.state != "answered":
            raise CommandError(ErrorCode.WRONG_STATE, "the call is not answered yet")
        # The far end is a built-in line or a phone session's transport; both take DTMF.
        target: Any = call.line if call.line is not None else (call.participant.member if call.participant else None)
        await send_tones(settings, call.session_id, lambda data: target.dtmf(data) if target is not None else None)

    async def sip_call_transfer(self, settings: dict[str, Any]) -> None:
        room, _ = self._joined()
        self._server.switchboard.transfer(self._call(room, settings["sessionId"]), settings["toEndPoint"])

    async def sip_refer(self, settings: dict[str, Any]) -> None:
        await self.sip_call_transfer(settings)

    def _call(self, room: LocalRoom, session_id: str) -> PhoneCall:
        call = self._server.switchboard.find(session_id)
        if call.room is not room:
            raise CommandError(ErrorCode.NOT_FOUND, f"no phone call {session_id!r} in {room.url}",
                               details={"field": "settings.sessionId"})
        return call

    @staticmethod
    def _remote(room: LocalRoom, me: LocalParticipant, participant_id: str) -> LocalParticipant:
        if participant_id == me.id:
            raise CommandError(
                ErrorCode.INVALID_PARAMS, "that is this session's own participant, not a remote one",
                details={"participant_id": participant_id},
            )
        return room.get(participant_id)

    def ejected(self) -> None:
        """The room removed this participant (an admin's eject): leave, then tell the session."""
        room, self._room = self._room, None
        if room is None:
            return
        self.listener.on_event("call-state-updated", {"state": "leaving"})
        self._server.release(room)
        self.listener.on_event("call-state-updated", {"state": "left"})
        self.listener.on_left("ejected")

    def _joined(self) -> tuple[LocalRoom, LocalParticipant]:
        if self._room is None or self._me is None:
            raise CommandError(ErrorCode.NOT_JOINED, "not in a room")
        return self._room, self._me

    async def _drop_later(self) -> None:
        """``fault-drop``: the backend loses this participant, as a dead network or a crashed SFU would."""
        await asyncio.sleep(DROP_AFTER_S)
        room, me = self._room, self._me
        if room is None or me is None:
            return
        self._fault_task = None
        self.listener.on_event("network-connection-status-updated", {"status": {"type": "sfu", "event": "interrupted"}})
        self.listener.on_event(
            "error", {"code": ErrorCode.BACKEND_ERROR.value, "message": "lost the connection to the room (fault-drop)"}
        )
        self._room = None
        self._server.switchboard.dialer_left(self)
        room.remove(me.id, "disconnected")
        self._server.release(room)
        self.listener.on_event("call-state-updated", {"state": "left"})
        self.listener.on_left("error")

    # RoomMember: the room calls these on the loop thread. A failure in one member's
    # delivery stays with that member: it never reaches the room's fan-out (the sender,
    # the publisher, the other members); its session gets an ``error`` event instead.

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        try:
            if self._fault == "deliver-error" and name == "app-message":
                raise InjectedFault("simulated failure delivering an app-message (fault-deliver-error)")
            self.listener.on_event(name, data)
        except Exception as exc:
            delivery_failed(self.listener, f"the {name} event", exc)

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if self.options.audio_in is not None:
            self.network.audio_received += len(pcm)
            try:
                self.listener.on_audio(participant_id, source, pcm, sample_rate, channels)
            except Exception as exc:
                delivery_failed(self.listener, f"{participant_id}'s {source} audio", exc)

    def deliver_audio_flush(self, participant_id: str, source: str) -> None:
        if self.options.audio_in is not None:
            try:
                self.listener.on_audio_flush(participant_id, source)
            except Exception as exc:
                delivery_failed(self.listener, f"the end of {participant_id}'s {source} audio", exc)

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        try:
            self.listener.on_track_ended(participant_id, source)
        except Exception as exc:
            delivery_failed(self.listener, f"the end of {participant_id}'s {source}", exc)


def delivery_failed(listener: TransportListener, what: str, exc: Exception) -> None:
    """A member's listener raised while the room delivered ``what``: log it, tell that session (``internal``)."""
    log.error("delivering %s to a session failed", what, exc_info=exc)
    try:
        listener.on_event(
            "error",
            {
                "code": ErrorCode.INTERNAL.value,
                "message": f"delivering {what} failed ({type(exc).__name__}: {exc}); it was lost, the session goes on",
            },
        )
    except Exception:
        log.exception("reporting a failed delivery failed too")


def _media_states(media: str | dict[str, str]) -> dict[str, str]:
    """Daily's ``media`` subscription value (one state, or source -> state) as source -> state."""
    if isinstance(media, str):
        return {source: media for source in SOURCES}
    return dict(media)


class PhoneTransport(LocalTransport):
    """A registered phone's session in a call: a participant whose id is the call's ``sessionId``."""

    is_phone = True
    """Its ``send-dtmf`` presses this phone's keypad (``Telephony.is_phone``)."""

    def __init__(self, server: LocalRoomServer, options: JoinOptions, listener: TransportListener) -> None:
        super().__init__(server, options, listener)
        self.call: PhoneCall = options.extra["phone_call"]

    def _make_participant(self) -> LocalParticipant:
        return LocalParticipant(member=self, user_name=self.call.number, id=self.call.session_id)

    async def join(self) -> dict[str, Any]:
        if self.call.state == "ended":
            raise CommandError(ErrorCode.NOT_FOUND, "the call ended before it was answered")
        self.options.room_url = self.call.room.url
        data = await super().join()
        assert self._me is not None
        self._server.switchboard.answered(self.call, self._me)
        return data

    async def leave(self, cause: str = "left") -> None:
        await super().leave(cause)
        self._server.switchboard.end(self.call, "hangup")

    def ejected(self) -> None:
        super().ejected()
        self._server.switchboard.end(self.call, "ejected")

    async def send_dtmf(self, settings: dict[str, Any]) -> None:
        """The phone's keypad: every other participant (and observer) gets ``dtmf-event``."""
        room, me = self._joined()

        def press(data: dict[str, Any]) -> None:
            for other in list(room.participants.values()):
                if other.id != me.id:
                    other.member.deliver_event("dtmf-event", {"data": data})
            for observer in list(room.observers.values()):
                observer.deliver_event("dtmf-event", {"data": data})

        await send_tones(settings, self.call.session_id, press)

    async def start_dialout(self, settings: dict[str, Any], *, ring_timeout_s: float | None = None) -> dict[str, Any]:
        raise CommandError(ErrorCode.NOT_ALLOWED, "a phone in a call cannot dial out")
