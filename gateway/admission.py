"""Who may open a session, and what each request of it may do (PROTOCOL.md, "Authentication").

A new connection is admitted once, before anything it sent is read: origin, credential,
the key's ``max_sessions_per_key``; the outcome is an :class:`Admission` the session is
created with and never changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .auth import Principal, Scope


@dataclass(frozen=True)
class Admission:
    """What a connection was admitted as: its principal (None with auth off) and why it was let in."""

    principal: Principal | None = None
    """The whole credential it authenticated as (a resume must match it); None when auth is off."""
    resume_only: bool = False
    """Let in over ``max_sessions_per_key`` to resume a detached session of its principal: nothing else."""

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


OPEN = Admission()
"""A connection to a gateway without authentication."""
