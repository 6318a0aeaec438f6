"""Admission without sockets: per-key slots, max_rooms, resume-only connections, and what a request may do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Request

from gateway.admission import Admission, Gatekeeper, KeySessions, check_new_room
from gateway.auth import Authenticator, Denied, parse_api_keys
from gateway.backends.registry import BackendRegistry
from gateway.config import Config
from gateway.metrics import GatewayMetrics
from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

KEY = "ops:0123456789abcdef-ops"
SECRET = KEY.split(":", 1)[1]


def handshake(secret: str | None = SECRET, origin: str | None = None) -> Request:
    headers = Headers([("Host", "127.0.0.1:8765")])
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    if origin is not None:
        headers["Origin"] = origin
    return Request("/v1", headers)


def session(admission: Admission, *, detached: bool = False) -> SimpleNamespace:
    gateway = SimpleNamespace(backends=BackendRegistry([]))
    gateway.metrics = GatewayMetrics(gateway)  # type: ignore[arg-type]
    return SimpleNamespace(admission=admission, detached=detached, id="0123456789", gateway=gateway)


def gatekeeper(sessions: list[SimpleNamespace], *, keys: bool = True, **config: object) -> Gatekeeper:
    auth = Authenticator(parse_api_keys([KEY]) if keys else [])
    return Gatekeeper(Config(**config), auth, [], sessions)  # type: ignore[arg-type]


def test_key_sessions_count_per_key():
    """KeySessions refuses a key's connection over the limit with 4029, counts keys apart, and frees on release."""
    sessions = KeySessions(2)
    sessions.acquire("a")
    sessions.acquire("a")
    sessions.acquire("b")
    with pytest.raises(Denied) as exc:
        sessions.acquire("a")
    assert exc.value.close_code == CloseCode.RATE_LIMITED and exc.value.close_reason.startswith("limit_reached: ")
    sessions.release("a")
    sessions.acquire("a")
    unlimited = KeySessions(0)
    for _ in range(1000):
        unlimited.acquire("a")


def test_max_rooms_counts_rooms_not_sessions():
    """A new room over max_rooms is limit_reached; a room the gateway is in already is always allowed."""
    class Backend:
        def rooms(self) -> list[dict[str, str]]:
            return [{"room_url": "local://a"}, {"room_url": "local://b"}]

    check_new_room([Backend()], "local://a", 2)
    check_new_room([Backend()], "local://c", 3)
    check_new_room([Backend()], "local://c", 0)
    with pytest.raises(CommandError) as exc:
        check_new_room([Backend()], "local://c", 2)  # type: ignore[list-item]
    assert exc.value.code is ErrorCode.LIMIT_REACHED and exc.value.details == {"limit": "max_rooms"}


def test_an_open_gateway_admits_anyone_without_a_slot():
    """With auth off every connection is admitted with no principal, holds no slot, and is not resume-only."""
    keeper = gatekeeper([], keys=False, max_sessions_per_key=1)
    first, second = keeper.admit(handshake(None)), keeper.admit(handshake(None))
    assert first.principal is None and not first.resume_only and first.same_holder(second)
    assert first is not second and keeper.key_sessions.open == {}


def test_a_key_over_its_limit_is_let_in_only_to_resume_a_detached_session():
    """Over max_sessions_per_key: 4029, unless the key has a detached session nobody came back for yet (one such)."""
    sessions: list[SimpleNamespace] = []
    keeper = gatekeeper(sessions, max_sessions_per_key=1)
    first = keeper.admit(handshake())
    sessions.append(session(first))
    with pytest.raises(Denied) as refused:
        keeper.admit(handshake())
    assert refused.value.close_code == CloseCode.RATE_LIMITED
    sessions[0].detached = True
    comeback = keeper.admit(handshake())
    assert comeback.resume_only and comeback.same_holder(first) and keeper.key_sessions.open == {"ops": 2}
    sessions.append(session(comeback))
    with pytest.raises(Denied):  # one resume-only connection per detached session
        keeper.admit(handshake())
    keeper.release(comeback)
    keeper.release(comeback)  # idempotent: a resume releases it, then the end of its connection
    assert keeper.key_sessions.open == {"ops": 1}


def test_a_resume_only_connection_may_only_resume_or_ping():
    """A resume-only session's other requests are limit_reached naming max_sessions_per_key; resume and ping pass."""
    keeper = gatekeeper([])
    principal = Authenticator(parse_api_keys([KEY])).authenticate(SECRET)
    resume_only = session(Admission(principal, resume_only=True))
    for rtype in ("resume", "ping"):
        keeper.check_request(resume_only, rtype, {})  # type: ignore[arg-type]
    with pytest.raises(CommandError) as refused:
        keeper.check_request(resume_only, "get-stats", {})  # type: ignore[arg-type]
    assert refused.value.code is ErrorCode.LIMIT_REACHED and refused.value.details == {"limit": "max_sessions_per_key"}


def test_a_foreign_origin_is_denied_before_the_credential_is_read():
    """An Origin neither the gateway's own nor allowed is 4003, whatever the credential; no slot is taken."""
    keeper = gatekeeper([], allowed_origins=[])
    with pytest.raises(Denied) as refused:
        keeper.admit(handshake(origin="https://evil.example"))
    assert refused.value.close_code == CloseCode.FORBIDDEN_ORIGIN and keeper.key_sessions.open == {}
