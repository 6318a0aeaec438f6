"""Simulated telephony for local rooms: dial-out, dial-in, DTMF, SIP transfer (PROTOCOL.md, "Telephony").

A LOCAL SIMULATION: no SIP, no PSTN. The "phone network" is this process's
:class:`Switchboard`. A phone is either

- a WebSocket session that sent ``register-phone {number}``: it gets ``phone-ringing``,
  answers with ``answer-call`` (it then joins the room as a participant, its id the call's
  ``sessionId``, its ``userName`` the number), talks with binary audio like any participant,
  presses keys with ``send-dtmf`` and hangs up with ``leave``; or
- the built-in test phone, any number starting :data:`TEST_PREFIX` (``+1555000``); the digit
  after it picks what it does (:data:`TEST_KINDS`), so that a bot's error paths can be tested:
  ``0`` answers after :data:`AUTO_RING_S`, speaks the bundled demo WAV once, sends the digits
  that follow as DTMF (``+15550000123#`` is not a number: digits only), then echoes what it hears
  from non-phone participants, so a bot can check both directions of audio; ``1`` is busy, ``2``
  answers with a codec fallback (``dialout-warning``), ``3`` never answers (ring timeout), ``4``
  hangs up :data:`DROP_AFTER_S` after answering.

A dial-out that nobody answers ends after ``ring_timeout_s`` (:data:`RING_TIMEOUT_S` by default):
``dialout-error``, and a ringing WebSocket phone gets ``call-ended {"reason": "timeout"}``. A
phone that goes away while ringing (its session closes) is a ``dialout-error`` too. A phone's
``dial`` with ``simulate: "warning"`` or ``"error"`` produces ``dialin-warning`` (after
``dialin-connected``) or ``dialin-error`` (the call fails; the phone's ``dial`` answers
``backend_error``).

The dialer's side sees Daily's events with daily-python's argument names: ``dialout-connected``
(ringing), ``dialout-answered``, ``dialout-stopped``, ``dialout-error``; a room joined with
``dialin_settings`` gets ``dialin-ready {sip_endpoint}`` and, when a phone dials that endpoint,
``dialin-connected`` / ``dialin-stopped``. ``dtmf-event`` carries each tone. Errors and warnings
carry Daily's ``errorMsg`` (daily-js ``DailyEventObjectDialOutError`` and its siblings).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from protocol.errors import CommandError, ErrorCode

from ...media.playout import FrameClock
from ...media.wav import bundled_wav, read_wav
from .faults import InjectedFault, fault_of
from .room import LocalParticipant, LocalRoom

if TYPE_CHECKING:
    from .room import LocalRoomServer

log = logging.getLogger("gateway.local.telephony")

TEST_PREFIX = "+1555000"
"""Numbers starting with this reach the built-in test phone; the next digit is its kind (:data:`TEST_KINDS`)."""
TEST_KINDS = {
    "0": "answers, speaks the demo WAV, sends the digits after the kind as DTMF, echoes",
    "1": "busy: declines after ringing (dialout-error)",
    "2": "answers with a codec fallback (dialout-warning), then as 0",
    "3": "never answers (dialout-error at the ring timeout)",
    "4": "answers, then hangs up after DROP_AFTER_S (dialout-stopped)",
}
"""What each test number does, by the digit after :data:`TEST_PREFIX` (PROTOCOL.md, 5.9)."""
AUTO_PREFIX = TEST_PREFIX + "0"
"""The answering test phone: the digits after it are its DTMF."""
RING_TIMEOUT_S = 30.0
"""How long a dial-out rings before it fails with ``dialout-error`` (``start-dialout.ring_timeout_s``)."""
DROP_AFTER_S = 1.0
"""How long the ``+15550004`` test phone stays in the call before it hangs up."""
BUSY_MSG = "busy: the callee declined"
CODEC_FALLBACK_MSG = "codec fallback: the callee does not support OPUS; using PCMU (simulated)"
SIMULATED_DIALIN = {
    "warning": "codec fallback: the caller does not support OPUS; using PCMU (simulated)",
    "error": "SDP negotiation failed: no common audio codec with the caller (simulated)",
}
"""``dial.simulate``: the ``errorMsg`` of the dial-in warning or error it produces."""
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
    ring_timer: asyncio.TimerHandle | None = None
    """Fails the call with ``dialout-error`` if it is still ringing when it fires."""
    warning: str | None = None
    """``errorMsg`` of a ``dialout-warning`` / ``dialin-warning`` sent right after it is answered."""

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
        if line.number.startswith(TEST_PREFIX):
            raise CommandError(
                ErrorCode.INVALID_PARAMS, f"numbers starting {TEST_PREFIX} belong to the built-in test phone",
                details={"field": "number"},
            )
        if line.number in self.lines:
            raise CommandError(ErrorCode.WRONG_STATE, f"{line.number} is already registered by another session")
        self.lines[line.number] = line

    def unregister(self, line: PhoneLine) -> None:
        if self.lines.get(line.number) is line:
            del self.lines[line.number]
        for call in [c for c in self.calls.values() if c.line is line]:
            self.end(call, "hangup")  # while ringing: dialout-error (see end)

    # ------------------------------------------------------------------ dial-out

    def dial_out(
        self, room: LocalRoom, dialer: Any, settings: dict[str, Any], *, ring_timeout_s: float | None = None
    ) -> PhoneCall:
        """Ring a registered phone or the built-in one; ``not_found`` when no phone has that number.

        Args:
            ring_timeout_s: how long it may ring before ``dialout-error`` (default :data:`RING_TIMEOUT_S`).
        """
        target = settings.get("phoneNumber") or settings.get("sipUri")
        if not target:
            raise CommandError(
                ErrorCode.INVALID_PARAMS, "settings needs phoneNumber or sipUri", details={"field": "settings.phoneNumber"}
            )
        number = _number_of(target)
        line = self.lines.get(number)
        kind = number[len(TEST_PREFIX):len(TEST_PREFIX) + 1] if number.startswith(TEST_PREFIX) else ""
        if line is None and kind not in TEST_KINDS:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"no phone answers {target} in this local simulation: register one (register-phone) "
                f"or call the test phone {TEST_PREFIX}<kind 0-4><digits>",
                details={"field": "settings.phoneNumber"},
            )
        call = PhoneCall(room, "dialout", target, dialer=dialer, line=line, settings=dict(settings))
        self.calls[call.session_id] = call
        log.info("= dial-out %s from %s to %s", call.session_id[:8], room.url, target)
        loop = asyncio.get_running_loop()
        timeout = RING_TIMEOUT_S if ring_timeout_s is None else ring_timeout_s
        call.ring_timer = loop.call_later(timeout, self._no_answer, call, timeout)
        dialer.deliver_event("dialout-connected", {"data": call.data})  # Daily: connected = ringing
        if line is not None:
            line.ring(call)
        elif kind != "3":  # 3 never answers: only the ring timer ends it
            task = call.task = loop.create_task(self._auto_phone(call, kind, number[len(TEST_PREFIX) + 1:]))
            task.add_done_callback(functools.partial(self._auto_phone_done, call))
        return call

    def _auto_phone_done(self, call: PhoneCall, task: asyncio.Task[None]) -> None:
        """A test phone that crashed ends its call with an error (``dialout-error``), not a silent call forever."""
        if task.cancelled() or task.exception() is None or call.state == "ended":
            return
        exc = task.exception()
        log.error("the test phone of call %s failed", call.session_id[:8], exc_info=exc)
        call.task = None
        self.end(call, "failed", error=f"the test phone failed: {type(exc).__name__}")

    def picked_up(self, call: PhoneCall) -> None:
        """The phone is answering (joining may take a moment): the ring timeout no longer applies."""
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None

    def _no_answer(self, call: PhoneCall, timeout: float) -> None:
        if call.state == "ringing":
            self.end(call, "timeout", error=f"no answer: the call rang for {timeout:g} s (ring timeout)")

    def answered(self, call: PhoneCall, participant: LocalParticipant) -> None:
        """The phone picked up and ``participant`` joined the room for it."""
        self.picked_up(call)
        call.state, call.participant = "answered", participant
        participant.phone = {"sessionId": call.session_id, "direction": call.direction, "number": call.number}
        warning = {"data": {**call.data, "errorMsg": call.warning}} if call.warning else None
        if call.direction == "dialout":
            if call.dialer is not None:
                call.dialer.deliver_event("dialout-answered", {"data": call.data})
                if warning:
                    call.dialer.deliver_event("dialout-warning", warning)
        else:
            self._to_dialin_hosts(call.room, "dialin-connected", {"data": call.data})
            if warning:
                self._to_dialin_hosts(call.room, "dialin-warning", warning)

    def reject(self, call: PhoneCall) -> None:
        """The phone declined: the dialer gets dialout-error."""
        if call.state != "ringing":
            raise CommandError(ErrorCode.WRONG_STATE, "the call is not ringing")
        self.calls.pop(call.session_id, None)
        call.state = "ended"
        self.picked_up(call)
        if call.dialer is not None:
            call.dialer.deliver_event("dialout-error", {"data": {**call.data, "errorMsg": BUSY_MSG}})

    def end(self, call: PhoneCall, reason: str, *, error: str | None = None) -> None:
        """End a call (stop-dialout, hang-up, transfer away, ring timeout): the phone leaves, the host side is told.

        A call that ends while still ringing for any reason but the dialer's own ``stop-dialout``
        failed: ``dialout-error`` / ``dialin-error`` with ``errorMsg`` (``error``, or one made from
        ``reason``) instead of ``-stopped``, as Daily reports a call that never connected.
        """
        if self.calls.pop(call.session_id, None) is None:
            return
        was = call.state
        call.state = "ended"
        log.info("= call %s ended (%s)", call.session_id[:8], reason)
        self.picked_up(call)
        if call.task is not None and call.task is not _current_task():
            call.task.cancel()
        if call.line is not None:
            call.line.call_ended(call, reason)
        elif call.participant is not None:
            call.room.remove(call.participant.id, "left")
            self.server.release(call.room)
        if error is None and was == "ringing" and reason != "stopped":
            error = _RINGING_FAILURES.get(reason, f"the call failed before it connected ({reason})")
        data = {"data": {**call.data, "errorMsg": error}} if error else {"data": call.data}
        if call.direction == "dialout":
            if call.dialer is not None:
                call.dialer.deliver_event("dialout-error" if error else "dialout-stopped", data)
        elif error:
            self._to_dialin_hosts(call.room, "dialin-error", data)
        elif was == "answered":
            self._to_dialin_hosts(call.room, "dialin-stopped", data)

    def dialer_left(self, dialer: Any) -> None:
        """The participant that dialed out left the room: its calls go on, as on Daily (the phone is
        a participant of the room), but their dial-out events have nobody to go to any more."""
        for call in self.calls.values():
            if call.dialer is dialer:
                call.dialer = None

    def find(self, session_id: str) -> PhoneCall:
        call = self.calls.get(session_id)
        if call is None:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"no phone call {session_id!r}", details={"field": "settings.sessionId"}
            )
        return call

    # ------------------------------------------------------------------ dial-in

    def dial_in(self, line: PhoneLine, to: str, *, simulate: str | None = None) -> PhoneCall:
        """A registered phone calls a room's SIP endpoint (or its ``local://`` URL); answered at once.

        Args:
            simulate: ``"warning"``: a codec fallback, ``dialin-warning`` after ``dialin-connected``;
                ``"error"``: the call fails, ``dialin-error`` to the room and ``backend_error`` here.
        """
        room = self._room_of(to)
        if room is None or not self._dialin_hosts(room):
            raise CommandError(
                ErrorCode.NOT_FOUND, f"nobody takes calls at {to}: a participant must join that room with dialin_settings",
                details={"field": "to"},
            )
        call = PhoneCall(room, "dialin", line.number, line=line)
        if simulate == "error":
            message = SIMULATED_DIALIN["error"]
            log.info("= dial-in %s to %s fails (simulated)", call.session_id[:8], room.url)
            self._to_dialin_hosts(room, "dialin-error", {"data": {**call.data, "errorMsg": message}})
            raise CommandError(ErrorCode.BACKEND_ERROR, message, details={"errorMsg": message, "call_id": call.session_id})
        call.warning = SIMULATED_DIALIN.get(simulate or "")
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
        moved.task = asyncio.get_running_loop().create_task(self._auto_phone(moved, "0", "", ring=False))

    # ------------------------------------------------------------------ the built-in test phone

    async def _auto_phone(self, call: PhoneCall, kind: str, digits: str, *, ring: bool = True) -> None:
        """Act out test kind ``kind`` (:data:`TEST_KINDS`; ``3`` has no task): ring, then decline,
        or answer, speak the demo WAV once, send ``digits`` as DTMF and echo until hung up."""
        if ring:
            await asyncio.sleep(AUTO_RING_S)
        if call.state == "ended":
            return
        if kind == "1":
            call.task = None  # ending the call must not cancel this task mid-way
            self.end(call, "busy", error=BUSY_MSG)
            return
        if kind == "2":
            call.warning = CODEC_FALLBACK_MSG
        phone = AutoPhone(call, self)
        me = LocalParticipant(member=phone, user_name=call.number, id=call.session_id)
        me.publishing.add("microphone")
        call.room.add(me)
        self.answered(call, me)
        if fault_of(call.room.name) == "phone-crash":  # test-only (faults.py): the phone's task dies mid-call
            raise InjectedFault("simulated crash of the test phone (fault-phone-crash)")
        if kind == "4":
            await asyncio.sleep(DROP_AFTER_S)
            call.task = None
            self.end(call, "hangup")
            return
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

    def deliver_audio_flush(self, participant_id: str, source: str) -> None:
        me = self.call.participant
        sender = self.call.room.participants.get(participant_id)
        if self.echo and source == "microphone" and me is not None and sender is not None and sender.phone is None:
            self.call.room.flush_audio(me.id, "microphone")  # the echo pauses with what it echoes

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        pass

    def ejected(self) -> None:
        self.switchboard.end(self.call, "ejected")

    def dtmf(self, data: dict[str, Any]) -> None:
        self.tones.append(data["tone"])


_RINGING_FAILURES = {
    "hangup": "the callee hung up before answering",
    "failed": "the call could not be connected",
}
"""``errorMsg`` of a call that ended while ringing, by the reason it ended."""


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (a close from outside the loop)
        return None


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
