"""Daily REST (PROTOCOL.md 5.11): create-room, get-room, delete-room, create-meeting-token.

Why here and not in clients: the Daily API key stays in the gateway (``config.daily_api_key``,
``DAILY_API_KEY``), so a client in any language can make rooms and tokens without ever holding
it. These requests need no joined session. Each call maps a :class:`DailyRestError` to one
protocol error code (PROTOCOL.md, "Daily REST"), with ``details.rest_code`` (the REST client's
own code, ``rest_*``) and ``details.status`` (Daily's HTTP status) for programs that want more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from protocol.errors import CommandError, ErrorCode

from ..backends.daily.rest import (
    DailyRestBadRequest,
    DailyRestClient,
    DailyRestConfigError,
    DailyRestError,
    DailyRestNotFound,
    DailyRestRateLimited,
    DailyRestTimeout,
)
from . import handler

if TYPE_CHECKING:
    from ..session import Session

T = TypeVar("T")


_CODES: list[tuple[type[DailyRestError], ErrorCode]] = [
    (DailyRestNotFound, ErrorCode.NOT_FOUND),
    (DailyRestBadRequest, ErrorCode.INVALID_PARAMS),
    (DailyRestRateLimited, ErrorCode.RATE_LIMITED),
    (DailyRestTimeout, ErrorCode.TIMEOUT),
]
"""Failures the client can act on get their own code; the rest (Daily's 5xx, a rejected gateway
key, no connection, an answer not understood) are ``backend_error``."""


def _client(session: Session) -> DailyRestClient:
    """A REST client on the gateway's key; ``not_supported`` when the gateway has none."""
    config = session.config
    if not config.daily_api_key:
        raise CommandError(
            ErrorCode.NOT_SUPPORTED,
            "this gateway has no Daily API key (set DAILY_API_KEY or GATEWAY_DAILY_API_KEY)",
            details={"config": "daily_api_key"},
        )
    try:
        return DailyRestClient(config.daily_api_key, api_url=config.daily_api_url)
    except DailyRestConfigError as exc:
        raise _protocol_error(exc, ErrorCode.NOT_SUPPORTED, config.daily_api_key) from None


def _protocol_error(exc: DailyRestError, code: ErrorCode, key: str) -> CommandError:
    # The REST client already redacts the key from what it reports; cut it again in case a
    # future message is built from other text.
    message = str(exc).replace(key, "<redacted>") if key else str(exc)
    details: dict[str, Any] = {"rest_code": exc.code}
    if exc.status is not None:
        details["status"] = exc.status
    if exc.daily_error:
        details["daily_error"] = exc.daily_error.replace(key, "<redacted>") if key else exc.daily_error
    if isinstance(exc, DailyRestRateLimited) and exc.retry_after is not None:
        details["retry_after_s"] = exc.retry_after
    return CommandError(code, message, details=details)


def _failed(exc: DailyRestError, session: Session) -> CommandError:
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), ErrorCode.BACKEND_ERROR)
    return _protocol_error(exc, code, session.config.daily_api_key or "")


async def _rest(session: Session, call: Callable[[DailyRestClient], Awaitable[T]]) -> T:
    """Run one REST call on the gateway's key; a :class:`DailyRestError` becomes its protocol error."""
    client = _client(session)
    try:
        return await call(client)
    except DailyRestError as exc:
        raise _failed(exc, session) from None


def _timeout(params: dict[str, Any]) -> float:
    return params["timeout_ms"] / 1000


@handler("create-room", role="admin")
async def create_room(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST /rooms; the result's ``room`` is Daily's room object (``name``, ``url``, ``config``...)."""
    room = await _rest(
        session, lambda c: c.create_room(params.get("name"), params["privacy"], params["properties"],
                                         timeout=_timeout(params))
    )
    return {"room": room}


@handler("get-room", role="admin")
async def get_room(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """GET /rooms/{name}: ``not_found`` when Daily has no such room."""
    room = await _rest(session, lambda c: c.get_room(params["name"], timeout=_timeout(params)))
    return {"room": room}


@handler("delete-room", role="admin")
async def delete_room(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """DELETE /rooms/{name}: ``deleted`` false when the room did not exist (not an error)."""
    deleted = await _rest(session, lambda c: c.delete_room(params["name"], timeout=_timeout(params)))
    return {"name": params["name"], "deleted": deleted}


@handler("create-meeting-token", role="admin")
async def create_meeting_token(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST /meeting-tokens; without ``properties.exp`` the token lives ``expiry_s``."""
    token = await _rest(
        session, lambda c: c.create_meeting_token(params["properties"], expiry=float(params["expiry_s"]),
                                                  timeout=_timeout(params))
    )
    return {"token": token}
