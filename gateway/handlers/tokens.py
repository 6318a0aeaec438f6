"""Minting tokens (PROTOCOL.md 13.3, "Minting tokens"): mint-token.

Only the admin role may send it (``role="admin"``): an API key, or a token minted with role admin.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..auth import ConfigError, Scope
from . import HANDLERS, handler

if TYPE_CHECKING:
    from ..session import Session

log = logging.getLogger("gateway.auth")


@handler("mint-token", role="admin")
async def mint_token(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Sign a token no stronger than the requester's own credential, expiring no later than it."""
    gateway = session.gateway
    scope, principal = session.admission.scope, session.admission.principal
    if not gateway.auth.enabled or scope is None:
        raise CommandError(
            ErrorCode.NOT_SUPPORTED, "authentication is off (no api_keys or token_secret): there is nothing to sign with"
        )
    commands = params.get("commands")
    unknown = sorted(set(commands or ()) - set(HANDLERS))
    if unknown:
        raise CommandError(ErrorCode.INVALID_PARAMS, f"unknown request types in commands: {', '.join(unknown)}",
                           details={"field": "commands"})
    wanted = Scope(params["role"], params["room"], frozenset(commands) if commands is not None else None)
    if not scope.covers(wanted, HANDLERS):
        log.warning("= %s refused mint-token for %s: a %s token for room %s exceeds its own scope", session.id[:8],
                    session.admission.name, wanted.role, wanted.room)
        raise CommandError(
            ErrorCode.UNAUTHORIZED, "a token may not grant more than the credential minting it (role, room, commands)",
            details={"scope": "mint"},
        )
    not_after = principal.expires_at if principal else None
    if not_after is not None and not_after <= time.time():
        raise CommandError(ErrorCode.UNAUTHORIZED, "the token of this session has expired: it can mint no more tokens",
                           details={"scope": "mint"})
    try:
        token, claims = gateway.auth.mint(
            sub=params.get("sub"), room=params["room"], role=params["role"], commands=commands,
            ttl_s=params["ttl_s"], key_id=principal.key_id if principal else None, not_after=not_after,
        )
    except ConfigError as exc:
        raise CommandError(ErrorCode.INVALID_PARAMS, str(exc)) from None
    log.info("= %s minted a %s token for %s (room %s, expires %d)", session.id[:8], claims["role"], claims["sub"],
             claims["room"], claims["exp"])
    return {"token": token, "claims": claims, "expires_at": claims["exp"]}
