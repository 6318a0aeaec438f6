"""Telephony requests (PROTOCOL.md, "Telephony"): start-dialout, stop-dialout, send-dtmf,
sip-call-transfer, sip-refer (daily-python's CallClient methods), and the simulated phone's
register-phone, answer-call, reject-call, dial (local rooms only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from . import handler

if TYPE_CHECKING:
    from ..phone import PhoneRegistration
    from ..session import Session


@handler("start-dialout")
async def start_dialout(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    # ring_timeout_s: local rooms only (Daily's start_dialout has no ring timeout setting).
    return await transport.start_dialout(params["settings"], ring_timeout_s=params.get("ring_timeout_s"))


@handler("stop-dialout")
async def stop_dialout(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.stop_dialout(params["participant_id"])
    return {}


@handler("send-dtmf")
async def send_dtmf(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    settings = params["settings"]
    if not getattr(transport, "is_phone", False):  # a phone's keypad needs no session id
        settings = session.call_session(settings)
    await transport.send_dtmf(settings)
    return {"session_id": settings.get("sessionId")} if settings.get("sessionId") else {}


@handler("sip-call-transfer")
async def sip_call_transfer(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.sip_call_transfer(session.call_session(params["settings"]))
    return {}


@handler("sip-refer")
async def sip_refer(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    transport = await session.require_room()
    await transport.sip_refer(session.call_session(params["settings"]))
    return {}


@handler("register-phone")
async def register_phone(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    from ..backends.local import LocalBackend
    from ..phone import PhoneRegistration

    if session.phone is not None:
        raise CommandError(ErrorCode.WRONG_STATE, f"this session is already the phone {session.phone.number}")
    if session.state.value != "open":
        raise CommandError(ErrorCode.WRONG_STATE, "register a phone on a fresh connection (not joined, not observing)")
    backend = session.gateway.backends.get("local")
    if not isinstance(backend, LocalBackend):
        raise CommandError(ErrorCode.NOT_SUPPORTED, "simulated phones need the local backend")
    media: dict[str, Any] = {k: params[k] for k in ("audio_in", "audio_out", "vad") if k in params}
    session.phone = PhoneRegistration(session, backend.server.switchboard, params["number"], media)
    return {"number": params["number"]}


def _phone(session: Session) -> PhoneRegistration:
    if session.phone is None:
        raise CommandError(ErrorCode.WRONG_STATE, "this session is not a phone: send register-phone first")
    return session.phone


@handler("answer-call")
async def answer_call(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await _phone(session).answer(params["call_id"])


@handler("reject-call")
async def reject_call(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    _phone(session).reject(params["call_id"])
    return {}


@handler("dial")
async def dial(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await _phone(session).dial(params["to"], simulate=params.get("simulate"))
