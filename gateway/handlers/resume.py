"""``resume``: continue a session whose connection dropped (PROTOCOL.md 5.2 and 14, "Resume").

A fresh connection sends ``resume`` with the token of a detached (or still connected)
session and the last ``seq`` it saw. The checks and the hand-over happen with nothing
awaited in between, so the session cannot change meanwhile: the reply goes out on this
connection's numbering, then every frame after ``last_seq`` on the resumed session's, then
live. The connection's link serves the resumed session from then on; the fresh session it
opened ends (``Link.hand_over``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..session.replay import token_matches, token_session_id
from ..session.state import SessionState
from . import handler

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger("gateway.session")


@handler("resume", role="observer")
async def resume(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Hand this connection to the session named by ``resume_token``; the reply is already sent when this returns.

    Raises:
        CommandError: ``wrong_state`` (not a fresh connection), ``resume_failed`` (``details.reason``).
    """
    try:
        return await _resume(session, rid, params)
    except CommandError as exc:
        reason = exc.details.get("reason", "wrong_state") if exc.code is ErrorCode.RESUME_FAILED else "wrong_state"
        session.gateway.metrics.resume_failed(str(reason))
        raise


async def _resume(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    _check_fresh(session)
    await session.outbox.drain()  # what this connection already said (hello, errors) goes before the replay
    _check_fresh(session)  # another resume may have run meanwhile
    link = session.link
    assert link is not None  # a fresh session is served by the link that opened it
    token, last_seq = params["resume_token"], params["last_seq"]
    target = session.gateway.session_by_id(token_session_id(token))
    if target is None or target is session or not token_matches(token, target.resume_token) or not target.resumable():
        raise _failed("unknown_session", "no session to resume with this token (unknown, ended, or its grace period is over); join again")
    if not session.admission.same_holder(target.admission):
        raise _failed("principal", "the session was opened with other credentials (key, subject, role, rooms or commands)")
    if not target.outbox.can_replay(last_seq):
        first = target.outbox.replay.first_seq
        raise _failed(
            "replay_gap",
            f"cannot replay from seq {last_seq + 1}: the session is at {target.outbox.seq} and holds frames from "
            f"{first} (replay_buffer_events / replay_buffer_bytes); join again",
            first_seq=first, seq=target.outbox.seq,
        )
    result = {
        "session_id": target.id,
        "state": target.state.value,
        "last_seq": last_seq,
        "replayed": target.outbox.seq - last_seq,
        "media_dropped": target.outbox.media_dropped,
        # Requests still running have their replies to come; one neither running nor
        # answered after last_seq was lost with the connection: the client sends it again.
        "running": sorted(target.requests.running),
    }
    link.hand_over(target, last_seq, session.outbox.hand_over(rid, result))
    session.gateway.metrics.resumed()
    log.info("= %s resumed %s from seq %d (%d replayed)", session.id[:8], target.id[:8], last_seq, result["replayed"])
    return result


def _check_fresh(session: Session) -> None:
    """Only a fresh connection resumes: its own session OPEN, never joined, observed or a phone."""
    if session.state is not SessionState.OPEN or session.phone is not None or session.link is None:
        raise CommandError(
            ErrorCode.WRONG_STATE,
            f"resume only on a fresh connection (this one is {session.state.value}); open a new one",
        )


def _failed(reason: str, message: str, **details: Any) -> CommandError:
    return CommandError(ErrorCode.RESUME_FAILED, message, details={"reason": reason, **details})
