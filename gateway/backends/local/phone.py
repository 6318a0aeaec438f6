"""A session registered as a simulated phone (``register-phone``; PROTOCOL.md, "Telephony").

The phone is rung with ``phone-ringing``; ``answer-call`` joins the call's local room as the
session's ``join`` would, with a :class:`~gateway.backends.local.transport.PhoneTransport`, so the
phone talks and listens with binary audio exactly like a participant; ``leave`` hangs up and the
session is back on the hook (state ``open``), ready for the next call. The line knows its session
only through the three callbacks it is given (events to the client, join, hung up).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode
from protocol.messages import Request
from protocol.schema import validate_request

if TYPE_CHECKING:
    from .telephony import PhoneCall, Switchboard

log = logging.getLogger("gateway.phone")


class PhoneRegistration:
    """One session's phone line on the local switchboard."""

    def __init__(
        self,
        switchboard: Switchboard,
        number: str,
        media: dict[str, Any],
        *,
        notify: Callable[[str, dict[str, Any]], None],
        join: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
        hung_up: Callable[[], None],
    ) -> None:
        self.switchboard = switchboard
        self.number = number
        self.media = media
        """``audio_in``, ``audio_out``, ``vad`` of ``register-phone``, used for every call."""
        self._notify = notify
        """Sends an event to the phone's client."""
        self._join = join
        """Joins a call's room as the session (validated ``join`` params)."""
        self._hung_up = hung_up
        """The call this phone was in ended: the session leaves its room (``left`` hangup)."""
        self.ringing: dict[str, PhoneCall] = {}
        self.active: PhoneCall | None = None
        switchboard.register(self)

    # PhoneLine: the switchboard calls these on the loop thread.

    def ring(self, call: PhoneCall) -> None:
        self.ringing[call.session_id] = call
        other = call.settings.get("callerId") or call.room.url
        self._notify(
            "phone-ringing",
            {"call_id": call.session_id, "direction": "incoming" if call.direction == "dialout" else "outgoing",
             "from": other, "to": self.number, "room_url": call.room.url, "caller_name": caller_name(call)},
        )

    def call_ended(self, call: PhoneCall, reason: str) -> None:
        self.ringing.pop(call.session_id, None)
        self._notify("call-ended", {"call_id": call.session_id, "reason": reason})
        if self.active is call:
            self.active = None
            self._hung_up()

    def dtmf(self, data: dict[str, Any]) -> None:
        self._notify("dtmf-event", {"data": data})

    # Requests.

    async def answer(self, call_id: str) -> dict[str, Any]:
        call = self.ringing.pop(call_id, None)
        if call is None:
            raise CommandError(ErrorCode.NOT_FOUND, f"no call {call_id!r} is ringing", details={"field": "call_id"})
        self.switchboard.picked_up(call)  # joining takes a moment: the ring timeout must not fire mid-join
        return await self._connect(call)

    def reject(self, call_id: str) -> None:
        call = self.ringing.pop(call_id, None)
        if call is None:
            raise CommandError(ErrorCode.NOT_FOUND, f"no call {call_id!r} is ringing", details={"field": "call_id"})
        self.switchboard.reject(call)

    async def dial(self, to: str, *, simulate: str | None = None) -> dict[str, Any]:
        return await self._connect(self.switchboard.dial_in(self, to, simulate=simulate))

    async def _connect(self, call: PhoneCall) -> dict[str, Any]:
        if self.active is not None:
            raise CommandError(ErrorCode.WRONG_STATE, "this phone is already in a call; leave (hang up) first")
        params = validate_request(Request("join", "phone", {"room_url": call.room.url, "user_name": self.number, **self.media}))
        params["phone_call"] = call
        self.active = call
        try:
            data = await self._join(params)
        except BaseException:
            self.active = None
            self.switchboard.end(call, "failed")
            raise
        return {"call_id": call.session_id, **data}

    def close(self) -> None:
        """The session is closing: hang up and unregister."""
        self.switchboard.unregister(self)


def caller_name(call: PhoneCall) -> str | None:
    """Who rings, to show on the phone (``phone-ringing.caller_name``): the dialer's user name, or the room's name."""
    if call.direction != "dialout":
        return call.room.name
    options = getattr(call.dialer, "options", None)
    name = getattr(options, "user_name", None)
    return name if isinstance(name, str) else None
