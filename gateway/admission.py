"""Who may open a session, and what each of its requests may do (PROTOCOL.md, "Authentication", 15.4).

A new connection is admitted once, before anything it sent is read (:meth:`Gatekeeper.admit`):
its origin, its credential, and a slot of its key's ``max_sessions_per_key``. The outcome is an
:class:`Admission` the session is created with and that never changes. Every request is then
checked against it (:meth:`Gatekeeper.check_request`): the credential's role, rooms and
commands (the role each request needs is declared with its handler), a resume-only
connection's narrow rights, and ``max_rooms``. The credentials themselves are ``auth.py``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.http11 import Request

from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

from .auth import Authenticator, Denied, Principal, Scope, check_origin, credential
from .handlers import HANDLERS
from .session.state import SessionState

if TYPE_CHECKING:
    from .backends import Backend
    from .cluster.bridge import Handover
    from .config import Config
    from .session import Session

log = logging.getLogger("gateway.server")

RESUME_ONLY_TIMEOUT_S = 5.0
"""How long a connection let in over ``max_sessions_per_key`` (to resume only) may take to resume."""
RESUME_ONLY_REQUESTS = frozenset({"resume", "ping"})
"""What a resume-only connection may send."""


@dataclass(frozen=True, eq=False)
class Admission:
    """What a connection was admitted as: its principal (None with auth off) and why it was let in.

    Compared by identity: each connection has its own, holding (or not) one slot of its key.
    """

    principal: Principal | None = None
    """The whole credential it authenticated as (a resume must match it); None when auth is off."""
    resume_only: bool = False
    """Let in over ``max_sessions_per_key`` to resume a detached session of its principal: nothing else."""
    handover: Handover | None = None
    """Set when another cluster node relays this client here (docs/CLUSTER.md): the session takes its id,
    resume token and next ``seq``, and is served here whatever its requests (no further placement)."""

    @property
    def name(self) -> str | None:
        """``key:<id>`` or ``token:<sub>`` (logs); None when auth is off."""
        return self.principal.name if self.principal is not None else None

    @property
    def scope(self) -> Scope | None:
        """The principal's role, room and commands, checked on every request; None when auth is off."""
        return self.principal.scope if self.principal is not None else None

    def same_holder(self, other: Admission) -> bool:
        """Both unauthenticated (auth off), or the same whole principal (PROTOCOL.md, "Resume")."""
        if self.principal is None or other.principal is None:
            return self.principal is None and other.principal is None
        return self.principal.same_holder(other.principal)


class KeySessions:
    """Open connections per key, for ``max_sessions_per_key`` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, key: str, *, force: bool = False) -> None:
        """Count one more connection for ``key`` (``force``: even over the limit, for a resume).

        Raises:
            Denied: 4029 when ``key`` already has ``limit`` connections.
        """
        if self.limit and self.open[key] >= self.limit and not force:
            raise Denied(CloseCode.RATE_LIMITED, f"key {key} has {self.open[key]} sessions (max_sessions_per_key)",
                         "max_sessions_per_key")
        self.open[key] += 1

    def release(self, key: str) -> None:
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


def check_new_room(backends: Iterable[Backend], room_url: str, max_rooms: int) -> None:
    """Refuse to enter a room this gateway is not in yet when it is in ``max_rooms`` already.

    Checked when the join or observe starts: two concurrent first joins of new rooms may both pass.

    Raises:
        CommandError: ``limit_reached`` with ``details.limit`` ``max_rooms``.
    """
    if not max_rooms:
        return
    urls = {room["room_url"] for backend in backends for room in backend.rooms()}
    if room_url not in urls and len(urls) >= max_rooms:
        raise CommandError(
            ErrorCode.LIMIT_REACHED, f"this gateway is in {len(urls)} rooms already (max_rooms {max_rooms})",
            details={"limit": "max_rooms"},
        )


class Gatekeeper:
    """Admits connections and checks requests for one gateway (module docstring).

    Args:
        config: ``allowed_origins``, ``max_sessions_per_key``, ``max_rooms``.
        auth: the configured keys and token secret.
        backends: the enabled backends (their rooms count for ``max_rooms``).
        sessions: the gateway's live sessions (detached ones waiting for a resume count).
    """

    def __init__(self, config: Config, auth: Authenticator, backends: Iterable[Backend],
                 sessions: Collection[Session]) -> None:
        self.config = config
        self.auth = auth
        self.backends = backends
        self.sessions = sessions
        self.key_sessions = KeySessions(config.max_sessions_per_key)
        self._holding: set[Admission] = set()
        """Admissions holding a slot of their key's ``max_sessions_per_key``."""

    # ------------------------------------------------------------------ connections

    def admit(self, request: Request) -> Admission:
        """Origin, credential and sessions-per-key checks of a new connection's handshake.

        A connection over ``max_sessions_per_key`` is still let in, to resume only, while its
        principal has a detached session no resume-only connection is there for yet: a client
        that dropped at its limit must be able to come back.

        Raises:
            Denied: 4003, 4001 or 4029 with a reason free of secrets.
        """
        headers = request.headers
        check_origin(headers.get("Origin"), headers.get("Host"), self.config.allowed_origins)
        principal = self.auth.authenticate(
            credential(headers.get("Authorization"), request.path, headers.get_all("Sec-WebSocket-Protocol"))
        )
        if principal is None:
            return Admission()
        resume_only = False
        try:
            self.key_sessions.acquire(principal.limit_key)
        except Denied:
            if not self._awaits_resume(principal):
                raise
            self.key_sessions.acquire(principal.limit_key, force=True)
            resume_only = True
        admission = Admission(principal, resume_only)
        self._holding.add(admission)
        return admission

    def adopt(self, handover: Handover) -> Admission:
        """Admit a client another cluster node relays here, as the principal that node authenticated.

        Its signature was checked (``cluster.bridge.Handover.from_header``); the origin and credential
        were the relaying node's to check. The session counts for its key here, where it runs.

        Raises:
            Denied: 4001 when the hand-over's principal is malformed.
        """
        if not handover.principal:
            if self.auth.enabled:
                raise Denied(CloseCode.UNAUTHORIZED, "hand-over without a principal")
            return Admission(handover=handover)
        try:
            principal = Principal.from_data(handover.principal)
        except ValueError as exc:
            raise Denied(CloseCode.UNAUTHORIZED, f"hand-over with a malformed principal ({exc})") from exc
        self.key_sessions.acquire(principal.limit_key, force=True)
        admission = Admission(principal, handover=handover)
        self._holding.add(admission)
        return admission

    def _awaits_resume(self, principal: Principal) -> bool:
        """Whether ``principal`` has a detached session that no resume-only connection of it is there for yet.

        Bounds connections over ``max_sessions_per_key`` to one per such session: past that the
        key's limit holds (the hostile review kept 50 extra connections open on one detached session).
        """
        detached = waiting = 0
        for s in self.sessions:
            if principal.same_holder(s.admission.principal):
                detached += s.detached
                waiting += s.admission.resume_only
        return detached > waiting

    def release(self, admission: Admission) -> None:
        """Give back the slot ``admission`` holds (idempotent): its session ended, or was discarded by a resume.

        A resumed session holds its own slot already, so a session counts once whichever
        connection serves it.
        """
        if admission in self._holding:
            self._holding.discard(admission)
            assert admission.principal is not None
            self.key_sessions.release(admission.principal.limit_key)

    # ------------------------------------------------------------------ requests

    def check_request(self, session: Session, rtype: str, params: dict[str, Any]) -> None:
        """Whether the session's credential covers this request, and a new room fits under ``max_rooms``.

        Raises:
            CommandError: ``unauthorized`` or ``limit_reached``.
        """
        admission = session.admission
        try:
            if admission.resume_only and rtype not in RESUME_ONLY_REQUESTS:
                raise CommandError(
                    ErrorCode.LIMIT_REACHED,
                    "this key is at max_sessions_per_key: this connection may only resume one of its detached sessions",
                    details={"limit": "max_sessions_per_key"},
                )
            if admission.scope is not None:
                admission.scope.check(rtype, params, HANDLERS)
            if rtype in ("join", "observe") and "room_url" in params:  # observe {"session_id"} enters no new room
                check_new_room(self.backends, params["room_url"], self.config.max_rooms)
        except CommandError as exc:
            log.warning("= %s refused %s for %s: %s", session.id[:8], rtype, admission.name or "open session", exc)
            if exc.code is ErrorCode.UNAUTHORIZED:
                session.gateway.metrics.auth_refused(f"scope_{exc.details.get('scope', 'command')}")
            elif admission.resume_only and rtype not in RESUME_ONLY_REQUESTS:
                session.gateway.metrics.auth_refused("resume_only")
            raise


async def close_unless_resumed(session: Session, timeout_s: float = RESUME_ONLY_TIMEOUT_S) -> None:
    """Close a resume-only connection (4029) that has not resumed within ``timeout_s``.

    Such a connection exists only to take back a detached session of its principal; left open it
    would hold a slot past ``max_sessions_per_key`` for nothing (PROTOCOL.md, "Resume"). A resume
    ends the fresh session, and this task with it.
    """
    await asyncio.sleep(timeout_s)
    if session.state is not SessionState.CLOSED:
        logging.getLogger("gateway.limits").info(
            "= %s did not resume within %g s (admitted over max_sessions_per_key to resume only): closing 4029",
            session.id[:8], timeout_s,
        )
        await session.close(CloseCode.RATE_LIMITED,
                            f"limit_reached: did not resume within {timeout_s:g} s (max_sessions_per_key)",
                            cause="disconnected")
