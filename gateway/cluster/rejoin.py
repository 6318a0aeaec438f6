"""A resume whose session's node is gone or drained it: join the room again for it here (PROTOCOL.md 16.3).

The directory kept the session's record (``directory.SessionRecord``): its room, the parameters of
its ``join`` or ``observe`` with defaults applied, its principal and a digest of its resume token.
This node builds the session again under the same id and resume token, numbers its frames from
the client's ``last_seq + 1``, joins (or observes) the room with the recorded parameters, and only
then answers the ``resume``: ``rejoined: true`` and why, followed by the frames of joining (the
client rebuilds the room from the ``joined`` among them). What a re-join keeps and loses is
PROTOCOL.md 16.3's table. A join that fails is ``resume_failed`` ``rejoin_failed``; the connection
stays a fresh session.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode, ProtocolError

from ..auth import Principal
from ..session import Session, place
from .bridge import Handover
from .directory import SessionRecord

if TYPE_CHECKING:
    from ..session.link import Link

log = logging.getLogger("gateway.cluster")


def _failed(reason: str, message: str, **details: Any) -> CommandError:
    return CommandError(ErrorCode.RESUME_FAILED, message, details={"reason": reason, **details})


def check_principal(record: SessionRecord, principal: Principal | None) -> None:
    """The resuming connection's credential must be the one that opened the session (PROTOCOL.md 14)."""
    if not record.principal:
        if principal is None:
            return
    elif principal is not None:
        try:
            if Principal.from_data(record.principal).same_holder(principal):
                return
        except ValueError:
            pass
    raise _failed("principal", "the session was opened with other credentials (key, subject, role, rooms or commands)")


async def rejoin(link: Link, rid: str, params: dict[str, Any], record: SessionRecord, reason: str) -> None:
    """Re-create the session of ``record`` here, join its room again, and hand ``link`` to it with the reply.

    Raises:
        CommandError: ``resume_failed`` (``principal``, ``rejoin_failed``); nothing changed for the connection.
    """
    fresh = link.session
    gateway = fresh.gateway
    check_principal(record, fresh.admission.principal)
    token, last_seq = params["resume_token"], params["last_seq"]
    admission = gateway.gatekeeper.adopt(Handover(session_id=record.session_id, resume_token=token,
                                                  next_seq=last_seq + 1, principal=record.principal))
    session = Session(gateway, admission)
    session.outbox.seq = last_seq  # one seq sequence: what it sends now follows what the client saw last
    gateway.sessions.add(session)
    try:
        if record.kind == "observe":
            await place.observe(session, dict(record.params))
        else:
            await place.join(session, dict(record.params))
    except Exception as exc:
        await session.finish("disconnected")
        gateway.forget(session)
        error = exc.to_dict() if isinstance(exc, ProtocolError) else {"code": ErrorCode.INTERNAL.value, "message": str(exc)}
        log.warning("= re-joining %s for session %s failed: %s", record.room_url, record.session_id[:8], exc)
        raise _failed("rejoin_failed", f"the session's node is gone and joining {record.room_url} again failed",
                      error=error) from None
    result = {
        "session_id": session.id,
        "state": session.state.value,
        "last_seq": last_seq,
        "replayed": 0,
        "media_dropped": 0,
        "running": [],
        "rejoined": True,
        "reason": reason,
    }
    link.hand_over(session, last_seq, fresh.outbox.hand_over(rid, result))
    log.info("= %s re-joined %s for session %s (%s)", fresh.id[:8], record.room_url, session.id[:8], reason)
