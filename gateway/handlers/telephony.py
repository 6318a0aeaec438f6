"""Telephony (PROTOCOL.md 5.9, "Telephony"): start-dialout, stop-dialout, send-dtmf,
sip-call-transfer, sip-refer (daily-python's CallClient methods), and the simulated phone's
register-phone, answer-call, reject-call, dial (local rooms only).

send-dtmf, sip-call-transfer and sip-refer act after the audio the session published before them
has played, as Pipecat queues its DTMF, transfer and REFER frames behind the audio frames: a bot
that says "transferring you now" and then transfers is heard saying it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..backends.capabilities import SimulatedPhones, Telephony
from ..session import place
from ..session.state import SessionState
from . import handler

if TYPE_CHECKING:
    from ..backends.local.phone import PhoneRegistration
    from ..session import Session


PLAYED_WAIT_MARGIN_S = 2.0
"""Beyond the audio queued at the request, how long to wait for it to play (a stalled playout)."""


async def after_published_audio(session: Session) -> None:
    """Return once the audio this session published before now has played (or was cleared), bounded.

    Reads only the playout's public counters: what was queued is played, cleared or still buffered.
    """
    playout = session.playout
    if playout is None or playout.buffered_bytes == 0:
        return
    target = playout.played_bytes + playout.dropped_bytes + playout.buffered_bytes
    loop = asyncio.get_running_loop()
    deadline = loop.time() + playout.buffered_ms / 1000.0 + PLAYED_WAIT_MARGIN_S
    while session.playout is playout and playout.played_bytes + playout.dropped_bytes < target:
        if loop.time() >= deadline:
            return
        await asyncio.sleep(0.01)


@handler("start-dialout")
async def start_dialout(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    telephony = await session.require(Telephony)
    # ring_timeout_s: local rooms only (Daily's start_dialout has no ring timeout setting).
    return await telephony.start_dialout(params["settings"], ring_timeout_s=params.get("ring_timeout_s"))


@handler("stop-dialout")
async def stop_dialout(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    telephony = await session.require(Telephony)
    await telephony.stop_dialout(params["participant_id"])
    return {}


@handler("send-dtmf")
async def send_dtmf(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    telephony = await session.require(Telephony)
    settings = params["settings"]
    if not telephony.is_phone:  # a phone's keypad needs no session id
        settings = session.calls.fill_in(settings)
    await after_published_audio(session)
    await telephony.send_dtmf(settings)
    return {"session_id": settings.get("sessionId")} if settings.get("sessionId") else {}


@handler("sip-call-transfer")
async def sip_call_transfer(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    telephony = await session.require(Telephony)
    settings = session.calls.fill_in(params["settings"])
    await after_published_audio(session)
    await telephony.sip_call_transfer(settings)
    return {}


@handler("sip-refer")
async def sip_refer(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    telephony = await session.require(Telephony)
    settings = session.calls.fill_in(params["settings"])
    await after_published_audio(session)
    await telephony.sip_refer(settings)
    return {}


@handler("register-phone", every_room=True)
async def register_phone(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Make this session a simulated phone on the local switchboard: rung, answering by joining the call's room."""
    from ..backends.local.phone import PhoneRegistration

    if session.phone is not None:
        raise CommandError(ErrorCode.WRONG_STATE, f"this session is already the phone {session.phone.number}")
    if session.state is not SessionState.OPEN:
        raise CommandError(ErrorCode.WRONG_STATE, "register a phone on a fresh connection (not joined, not observing)")
    phones = session.gateway.backends.with_capability(SimulatedPhones)
    media: dict[str, Any] = {k: params[k] for k in ("audio_in", "audio_out", "vad") if k in params}

    async def join_call(join_params: dict[str, Any]) -> dict[str, Any]:
        return await place.join(session, join_params)

    session.phone = PhoneRegistration(
        phones.switchboard, params["number"], media,
        notify=session.outbox.event, join=join_call, hung_up=lambda: session.on_left("hangup"),
    )
    return {"number": params["number"]}


def _phone(session: Session) -> PhoneRegistration:
    from ..backends.local.phone import PhoneRegistration

    if not isinstance(session.phone, PhoneRegistration):
        raise CommandError(ErrorCode.WRONG_STATE, "this session is not a phone: send register-phone first")
    return session.phone


@handler("answer-call", every_room=True)
async def answer_call(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await _phone(session).answer(params["call_id"])


@handler("reject-call")
async def reject_call(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    _phone(session).reject(params["call_id"])
    return {}


@handler("dial", every_room=True)
async def dial(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await _phone(session).dial(params["to"], simulate=params.get("simulate"))
