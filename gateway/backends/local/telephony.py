"""Simulated telephony for local rooms: dial-out, dial-in, DTMF, SIP transfer (PROTOCOL.md, "Telephony").

A LOCAL SIMULATION: no SIP, no PSTN. The "phone network" is this process's
:class:`Switchboard`. A phone is either

- a WebSocket session that sent ``register-phone {number}``: it gets ``phone-ringing``,
  answers with ``answer-call`` (it then joins the room as a participant, its id the call's
  ``sessionId``, its ``userName`` the number), talks with binary audio like any participant,
  presses keys with ``send-dtmf`` and hangs up with ``leave``; or
- the built-in test phone, any number starting :data:`AUTO_PREFIX`: it answers after
  :data:`AUTO_RING_S`, speaks the bundled demo WAV once, sends the digits that follow the prefix
  as DTMF (``+15550000123#`` is not a number: digits only), and then echoes what it hears from
  non-phone participants, so a bot can check both directions of audio.

The dialer's side sees Daily's events with daily-python's argument names: ``dialout-connected``
(ringing), ``dialout-answered``, ``dialout-stopped``, ``dialout-error``; a room joined with
``dialin_settings`` gets ``dialin-ready {sip_endpoint}`` and, when a phone dials that endpoint,
``dialin-connected`` / ``dialin-stopped``. ``dtmf-event`` carries each tone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from protocol.errors import CommandError, ErrorCode

from ...media.playout import FrameClock
from .room import LocalParticipant, LocalRoom

if TYPE_CHECKING:
    from .room import LocalRoomServer

log = logging.getLogger("gateway.local.telephony")

AUTO_PREFIX = "+15550000"
"""Numbers starting with this reach the built-in test phone; the digits after it are its DTMF."""
AUTO_RING_S = 0.3
"""How long the built-in phone rings before it answers."""
AUTO_DIGIT_MS = 100
"""Spacing of the built-in phone's DTMF tones."""
SIP_DOMAIN = "sip.local.gateway"
"""Dial-in endpoints of local rooms: ``sip:<room>@sip.local.gateway``."""
NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
FRAME_MS = 20


class PhoneLine(Protocol):
    """A registered phone (a session): how the switchboard rings it."""

    number: str

    def ring(self, call: PhoneCall) -> None: ...

    def call_ended(self, call: PhoneCall, reason: str) -> None: ...

    def dtmf(self, data: dict[str, Any]) -> None: ...


@dataclass
class PhoneCall:
    """One call between a room and a phone; ``session_id`` is also the phone participant's id."""

    room: LocalRoom
    direction: str
    """``dialout`` (the room called the phone) or ``dialin`` (the phone called the room)."""
    number: str
    dialer: Any = None
    """The transport that dialed out (gets the dialout-* events); None for dial-in."""
    line: PhoneLine | None = None
    """The registered phone; None for the built-in test phone."""
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "ringing"
    """ringing, answered, ended."""
    settings: dict[str, Any] = field(default_factory=dict)
    participant: LocalParticipant | None = None
    task: asyncio.Task[None] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The ``data`` of Daily's dial events."""
        out: dict[str, Any] = {"sessionId": self.session_id}
        if self.direction == "dialout":
            key = "sipUri" if self.number.startswith("sip:") else "phoneNumber"
            out[key] = self.number
            if "userId" in self.settings:
                out["userId"] = self.settings["userId"]
        else:
            out.update({"sipFrom": self.number, "sipEndpoint": sip_endpoint(self.room)})
        return out


def sip_endpoint(room: LocalRoom) -> str:
    return f"sip:{room.name}@{SIP_DOMAIN}"


class Switchboard:
    """The local phone network of one :class:`LocalRoomServer`."""

    def __init__(self, server: LocalRoomServer) -> None:
        self.server = server
        self.lines: dict[str, PhoneLine] = {}
        self.calls: dict[str, PhoneCall] = {}

    # ------------------------------------------------------------------ phones

    def register(self, line: PhoneLine) -> None:
        if not NUMBER.match(line.number):
            raise CommandError(ErrorCode.INVALID_PARAMS, f"bad phone number {line.number!r}", details={"field": "number"})
        if line.number.startswith(AUTO_PREFIX):
            raise CommandError(
                ErrorCode.INVALID_PARAMS, f"numbers starting {AUTO_PREFIX} belong to the built-in test phone",
                details={"field": "number"},
            )
        if line.number in self.lines:
            raise CommandError(ErrorCode.WRONG_STATE, f"{line.number} is already registered by another session")
        self.lines[line.number] = line

    def unregister(self, line: PhoneLine) -> None:
        if self.lines.get(line.number) is line:
            del self.lines[line.number]
        for call in [c for c in self.calls.values() if c.line is line]:
            self.end(call, "hangup")

    # ------------------------------------------------------------------ dial-out

    def dial_out(self, room: LocalRoom, dialer: Any, settings: dict[str, Any]) -> PhoneCall:
        """Ring a registered phone or the built-in one; ``not_found`` when no phone has that number."""
        target = settings.get("phoneNumber") or settings.get("sipUri")
        if not target:
            raise CommandError(
                ErrorCode.INVALID_PARAMS, "settings needs phoneNumber or sipUri", details={"field": "settings.phoneNumber"}
            )
        number = _number_of(target)
        line = self.lines.get(number)
        if line is None and not number.startswith(AUTO_PREFIX):
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no phone answers {target} in this local simulation: register one (register-phone) "
                f"or call the test phone {AUTO_PREFIX}<digits>",
                details={"field": "settings.phoneNumber"},
            )
        call = PhoneCall(room, "dialout", target, dialer=dialer, line=line, settings=dict(settings))
        self.calls[call.session_id] = call
        log.info("= dial-out %s from %s to %s", call.session_id[:8], room.url, target)
        dialer.deliver_event("dialout-connected", {"data": call.data})  # Daily: connected = ringing
        if line is not None:
            line.ring(call)
        else:
            call.task = asyncio.get_running_loop().create_task(self._auto_phone(call, number[len(AUTO_PREFIX):]))
        return call

    def answered(self, call: PhoneCall, participant: LocalParticipant) -> None:
        """The phone picked up and ``participant`` joined the room for it."""
        call.state, call.participant = "answered", participant
        participant.phone = {"sessionId": call.session_id, "direction": call.direction, "number": call.number}
        if call.direction == "dialout":
            call.dialer.deliver_event("dialout-answered", {"data": call.data})
        else:
            self._to_dialin_hosts(call.room, "dialin-connected", {"data": call.data})

    def reject(self, call: PhoneCall) -> None:
        """The phone declined: the dialer gets dialout-error."""
        if call.state != "ringing":
            raise CommandError(ErrorCode.WRONG_STATE, "the call is not ringing")
        self.calls.pop(call.session_id, None)
        call.state = "ended"
        call.dialer.deliver_event("dialout-error", {"data": {**call.data, "errorMsg": "busy: the callee declined"}})

    def end(self, call: PhoneCall, reason: str) -> None:
        """End a call (stop-dialout, hang-up, transfer away): the phone leaves, the host side is told."""
        if self.calls.pop(call.session_id, None) is None:
            return
        was = call.state
        call.state = "ended"
        log.info("= call %s ended (%s)", call.session_id[:8], reason)
        if call.task is not None:
            call.task.cancel()
        if call.line is not None:
            call.line.call_ended(call, reason)
        elif call.participant is not None:
            call.room.remove(call.participant.id, "left")
            self.server.release(call.room)
        if call.direction == "dialout":
            if call.dialer is not None:
                call.dialer.deliver_event("dialout-stopped", {"data": call.data})
        elif was == "answered":
            self._to_dialin_hosts(call.room, "dialin-stopped", {"data": call.data})

    def find(self, session_id: str) -> PhoneCall:
        call = self.calls.get(session_id)
        if call is None:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"no phone call {session_id!r}", details={"field": "settings.sessionId"}
            )
        return call

    # ------------------------------------------------------------------ dial-in

    def dial_in(self, line: PhoneLine, to: str) -> PhoneCall:
        """A registered phone calls a room's SIP endpoint (or its ``local://`` URL); answered at once."""
        room = self._room_of(to)
        if room is None or not self._dialin_hosts(room):
            raise CommandError(
                ErrorCode.NOT_FOUND, f"nobody takes calls at {to}: a participant must join that room with dialin_settings",
                details={"field": "to"},
            )
        call = PhoneCall(room, "dialin", line.number, line=line)
        self.calls[call.session_id] = call
        return call

    def _room_of(self, to: str) -> LocalRoom | None:
        match = re.match(rf"^sip:([^@]+)@{re.escape(SIP_DOMAIN)}$", to)
        name = match.group(1) if match else (to[len("local://"):] if to.startswith("local://") else None)
        return self.server.rooms.get(name) if name else None

    @staticmethod
    def _dialin_hosts(room: LocalRoom) -> list[LocalParticipant]:
        return [p for p in room.participants.values() if getattr(p.member, "dialin_settings", None)]

    def _to_dialin_hosts(self, room: LocalRoom, name: str, data: dict[str, Any]) -> None:
        for host in self._dialin_hosts(room):
            host.member.deliver_event(name, data)

    # ------------------------------------------------------------------ transfer

    def transfer(self, call: PhoneCall, to: str) -> None:
        """Move an answered call to another room's endpoint (SIP transfer or refer, simulated alike)."""
        target = self._room_of(to)
        if target is None or not self._dialin_hosts(target):
            raise CommandError(
                ErrorCode.NOT_FOUND, f"no local room takes calls at {to}", details={"field": "settings.toEndPoint"}
            )
        if call.state != "answered":
            raise CommandError(ErrorCode.WRONG_STATE, "only an answered call can be transferred")
        if call.line is not None:
            line = call.line
            self.end(call, "transferred")
            moved = PhoneCall(target, "dialin", call.number if call.direction == "dialin" else _number_of(call.number), line=line)
            self.calls[moved.session_id] = moved
            line.ring(moved)  # the phone's session joins the new room by itself (state: transferring)
            return
        self.end(call, "transferred")
        moved = PhoneCall(target, "dialin", _number_of(call.number))
        self.calls[moved.session_id] = moved
        moved.task = asyncio.get_running_loop().create_task(self._auto_phone(moved, "", ring=False))

    # ------------------------------------------------------------------ the built-in test phone

    async def _auto_phone(self, call: PhoneCall, digits: str, *, ring: bool = True) -> None:
        """Answer, speak the demo WAV once, send ``digits`` as DTMF, then echo until hung up."""
        from ...demo import bundled_wav, read_wav

        if ring:
            await asyncio.sleep(AUTO_RING_S)
        if call.state == "ended":
            return
        phone = AutoPhone(call, self)
        me = LocalParticipant(member=phone, user_name=call.number, id=call.session_id)
        me.publishing.add("microphone")
        call.room.add(me)
        self.answered(call, me)
        pcm, rate, channels = read_wav(bundled_wav())
        step = rate * channels * 2 * FRAME_MS // 1000
        clock = FrameClock(FRAME_MS / 1000)
        for offset in range(0, len(pcm) - step + 1, step):
            call.room.publish_audio(me.id, "microphone", pcm[offset:offset + step], rate, channels)
            await clock.tick()
        for tone in digits:
            call.room.broadcast("dtmf-event", {"data": {"sessionId": call.session_id, "tone": tone, "digitDurationMs": AUTO_DIGIT_MS}})
            await asyncio.sleep(AUTO_DIGIT_MS / 1000)
        phone.echo = True


class AutoPhone:
    """The built-in test phone in a room (a :class:`~.room.RoomMember`)."""

    def __init__(self, call: PhoneCall, switchboard: Switchboard) -> None:
        self.call = call
        self.switchboard = switchboard
        self.echo = False
        self.tones: list[str] = []
        """DTMF tones it received (send-dtmf), for logs and tests."""

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        pass

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if not self.echo or source != "microphone":
            return
        sender = self.call.room.participants.get(participant_id)
        if sender is None or sender.phone is not None:  # two test phones must not echo each other forever
            return
        me = self.call.participant
        if me is not None:
            self.call.room.publish_audio(me.id, "microphone", pcm, sample_rate, channels)

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        pass

    def ejected(self) -> None:
        self.switchboard.end(self.call, "ejected")

    def dtmf(self, data: dict[str, Any]) -> None:
        self.tones.append(data["tone"])


def _number_of(target: str) -> str:
    """``+1555...`` as is; ``sip:+1555...@host`` -> ``+1555...``."""
    if target.startswith("sip:"):
        return target[4:].split("@", 1)[0].split(";", 1)[0]
    return target


async def send_tones(settings: dict[str, Any], session_id: str, deliver: Any) -> None:
    """Deliver ``settings.tones`` one ``dtmf-event`` data at a time, ``digitDurationMs`` apart (in order)."""
    duration = settings.get("digitDurationMs", 500)
    for i, tone in enumerate(settings["tones"]):
        if i:
            await asyncio.sleep(duration / 1000)
        data = {"sessionId": session_id, "tone": tone, "digitDurationMs": duration}
        if "method" in settings:
            data["method"] = settings["method"]
        deliver(data)
