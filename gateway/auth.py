"""Who may connect and what they may do: API keys, signed tokens, scopes (PROTOCOL.md, "Authentication").

Sans-I/O: nothing here touches a socket. :class:`Authenticator` turns the
credential a connection presented into a :class:`Principal` (or raises
:class:`Denied` with a close code and a reason that never contains a secret);
:class:`Scope` answers, per request, whether the principal's role, room and
command list allow it.

Tokens are ``dgw1.<payload>.<signature>``: the payload is compact JSON in
base64url (no padding), the signature HMAC-SHA256 over ``dgw1.<payload>`` in
base64url. Every character is valid in a WebSocket subprotocol name, so a
browser can pass a token as ``daily-gateway.token.<token>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

TOKEN_PREFIX = "dgw1."
"""Every token starts with this; any other credential is taken for an API key."""
SUBPROTOCOL_TOKEN_PREFIX = "daily-gateway.token."
"""A subprotocol entry carrying a credential, offered next to ``daily-gateway.v1`` (browsers)."""
LEEWAY_S = 30
"""Clock skew tolerated on ``exp`` and ``iat`` between the minting host and the gateway."""
MIN_SECRET_CHARS = 16
"""API keys and the token secret shorter than this are refused at start (guessable)."""
MAX_TTL_S = 7 * 24 * 3600
"""Longest token lifetime that can be minted: tokens are meant to be short-lived. A token minted by
a token never outlives it either (:meth:`Authenticator.mint`, ``not_after``)."""
MINTED_SUB_PREFIX = "minted-"
"""A token minted without ``sub`` gets ``minted-<jti>``: no two such tokens share a principal."""
ROLES = ("observer", "bot", "admin")
"""Roles, weakest first; a token may only mint tokens of its own role or weaker."""


class RequestRule(Protocol):
    """What a request type asks of a credential: declared where its handler is registered.

    ``gateway.handlers.RequestHandler`` is one (``@handler("mint-token", role="admin")``); the
    registry is the role table, so moving a handler to another module changes nothing here.
    """

    @property
    def role(self) -> str:
        """The weakest role that may send it: ``observer`` (reads the room), ``bot`` (acts in it), ``admin``."""
        ...

    @property
    def every_room(self) -> bool:
        """It enters a room it does not name (a call's room): only credentials of room ``*`` may send it."""
        ...


Rules = Mapping[str, RequestRule]
"""Request type -> its rule (``gateway.handlers.HANDLERS``). A type not listed needs role ``bot``."""


def may_send(role: str, rule: RequestRule | None) -> bool:
    """Whether ``role`` is at least the role ``rule`` asks for (``bot`` for a type without a rule)."""
    return ROLES.index(role) >= ROLES.index(rule.role if rule is not None else "bot")


class Denied(Exception):
    """A connection refused at the handshake: closed with ``close_code`` and ``reason`` (no secrets).

    ``kind`` names the reason among a few fixed words (``gateway.metrics.AUTH_REFUSAL_REASONS``), for
    counting refusals without putting free text in a metric label.
    """

    def __init__(self, close_code: CloseCode, reason: str, kind: str = "bad_token") -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason
        self.kind = kind

    @property
    def close_reason(self) -> str:
        """The WebSocket close reason: the error code, a colon, the reason (at most 123 bytes)."""
        code = {CloseCode.UNAUTHORIZED: "unauthorized", CloseCode.FORBIDDEN_ORIGIN: "forbidden_origin"}.get(
            self.close_code, "limit_reached"
        )
        return f"{code}: {self.reason}".encode()[:123].decode(errors="ignore")


class ConfigError(ValueError):
    """Bad auth configuration (a key file that cannot be read, a short secret, no keys off loopback)."""


@dataclass(frozen=True)
class ApiKey:
    """One gateway API key; ``id`` names it in logs and per-key limits, ``secret`` is never shown."""

    id: str
    secret: bytes = field(repr=False)

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.secret).digest()


def parse_api_keys(entries: Iterable[str], source: str = "api_keys") -> list[ApiKey]:
    """``id:secret`` entries (or a bare secret, named ``key-<hash prefix>``); blank and ``#`` lines skipped.

    Raises:
        ConfigError: a secret shorter than :data:`MIN_SECRET_CHARS`, or a duplicate id.
    """
    keys: list[ApiKey] = []
    for n, raw in enumerate(entries, 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, secret = entry.partition(":")
        if not sep:
            key_id, secret = "", entry
        key_id, secret = key_id.strip(), secret.strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"{source} entry {n}: the secret is shorter than {MIN_SECRET_CHARS} characters")
        if not key_id:
            key_id = "key-" + hashlib.sha256(secret.encode()).hexdigest()[:8]
        if any(k.id == key_id for k in keys):
            raise ConfigError(f"{source} entry {n}: key id {key_id!r} is used twice")
        keys.append(ApiKey(key_id, secret.encode()))
    return keys


# ---------------------------------------------------------------------- scopes


@dataclass(frozen=True)
class Scope:
    """What a principal may do: a role, a room pattern and optionally an explicit command list.

    ``room`` is ``*`` (any room), a prefix ending in ``*`` (``local://team-*``) or one exact URL.
    ``commands`` narrows the role's default requests; it never widens them.
    """

    role: str
    room: str = "*"
    commands: frozenset[str] | None = None

    def allows_room(self, room_url: str) -> bool:
        if self.room == "*":
            return True
        if self.room.endswith("*"):
            return room_url.startswith(self.room[:-1])
        return room_url == self.room

    def covers_room(self, pattern: str) -> bool:
        """Whether every room ``pattern`` matches is a room this scope allows (for minting)."""
        if self.room == "*":
            return True
        if pattern.endswith("*"):
            return self.room.endswith("*") and pattern[:-1].startswith(self.room[:-1])
        return self.allows_room(pattern)

    def allows_command(self, rtype: str, rules: Rules) -> bool:
        return may_send(self.role, rules.get(rtype)) and (self.commands is None or rtype in self.commands)

    def check(self, rtype: str, params: Mapping[str, Any], rules: Rules) -> None:
        """Raise ``unauthorized`` when the request is outside this scope.

        Raises:
            CommandError: ``unauthorized`` with ``details.scope`` ``command`` or ``room``.
        """
        if not self.allows_command(rtype, rules):
            raise CommandError(
                ErrorCode.UNAUTHORIZED,
                f"{rtype} is not allowed for this credential (role {self.role})",
                details={"scope": "command"},
            )
        room_url = params.get("room_url")
        if isinstance(room_url, str) and not self.allows_room(room_url):
            raise CommandError(
                ErrorCode.UNAUTHORIZED, f"this credential is not valid for room {room_url}",
                details={"scope": "room", "field": "room_url"},
            )
        rule = rules.get(rtype)
        if rule is not None and rule.every_room and self.room != "*":
            raise CommandError(
                ErrorCode.UNAUTHORIZED, f"{rtype} needs a credential valid for every room (room \"*\")",
                details={"scope": "room"},
            )

    def covers(self, other: Scope, rules: Rules) -> bool:
        """Whether ``other`` grants nothing this scope lacks (a token may not mint a stronger one)."""
        if ROLES.index(other.role) > ROLES.index(self.role) or not self.covers_room(other.room):
            return False
        granted = [r for r in rules if other.allows_command(r, rules)]
        return all(self.allows_command(r, rules) for r in granted)


ADMIN_SCOPE = Scope("admin")
"""An API key's scope: everything."""


@dataclass(frozen=True)
class Principal:
    """Who a connection authenticated as."""

    name: str
    """``key:<id>`` or ``token:<sub>``: in logs, and compared on resume. Never a secret."""
    scope: Scope
    limit_key: str
    """The key counted by ``max_sessions_per_key``: the API key's id, the key a token was signed
    with (``kid``), or ``token-secret`` for tokens signed with the configured token secret."""
    key_id: str | None = None
    """The API key this principal holds or whose token it carries (signs tokens it mints)."""
    expires_at: float | None = None
    """A token's ``exp`` (Unix seconds); None for API keys."""

    def same_holder(self, other: Principal | None) -> bool:
        """Whether ``other`` is this principal for a resume: same name, key, role, rooms and commands.

        Only the expiry may differ (a client resumes with a fresher token of the same grant);
        matching the subject alone let a token of another role or room take a session over.
        """
        return other is not None and (self.name, self.scope, self.limit_key, self.key_id) == (
            other.name, other.scope, other.limit_key, other.key_id
        )

    def to_data(self) -> dict[str, Any]:
        """As JSON-able data: what a cluster node tells another about a client it relays (docs/CLUSTER.md)."""
        commands = sorted(self.scope.commands) if self.scope.commands is not None else None
        return {"name": self.name, "role": self.scope.role, "room": self.scope.room, "commands": commands,
                "limit_key": self.limit_key, "key_id": self.key_id, "expires_at": self.expires_at}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Principal:
        """The principal :meth:`to_data` described; raises ValueError for data of another shape."""
        try:
            commands = data["commands"]
            scope = Scope(str(data["role"]), str(data["room"]), frozenset(commands) if commands is not None else None)
            return cls(str(data["name"]), scope, str(data["limit_key"]), data.get("key_id"), data.get("expires_at"))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a principal: {exc}") from exc


# ---------------------------------------------------------------------- authenticator


class Authenticator:
    """Checks credentials against the configured API keys and token secret.

    With neither configured the gateway is open (:attr:`enabled` is false) and
    :meth:`authenticate` returns None for every connection.
    """

    def __init__(self, keys: Sequence[ApiKey] = (), token_secret: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if token_secret is not None and len(token_secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"token_secret is shorter than {MIN_SECRET_CHARS} characters")
        self.keys = list(keys)
        self._token_secret = token_secret.encode() if token_secret else None
        self._clock = clock

    @classmethod
    def from_config(cls, api_keys: Iterable[str], api_keys_file: str | None, token_secret: str | None) -> Authenticator:
        """Keys from the ``api_keys`` setting and the ``api_keys_file`` (one ``id:secret`` a line).

        Raises:
            ConfigError: the file cannot be read or an entry is bad.
        """
        keys = parse_api_keys(api_keys, "api_keys")
        if api_keys_file:
            try:
                with open(api_keys_file, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read api_keys_file {api_keys_file}: {exc.strerror}") from None
            for key in parse_api_keys(lines, f"api_keys_file {os.path.basename(api_keys_file)}"):
                if any(k.id == key.id for k in keys):
                    raise ConfigError(f"key id {key.id!r} is in both api_keys and api_keys_file")
                keys.append(key)
        return cls(keys, token_secret or None)

    @property
    def enabled(self) -> bool:
        """Whether connections must present a credential."""
        return bool(self.keys) or self._token_secret is not None

    # ------------------------------------------------------------------ checking

    def authenticate(self, credential: str | None) -> Principal | None:
        """The principal of ``credential``; None when auth is off.

        Raises:
            Denied: 4001 with the reason (missing, unknown key, bad or expired token).
        """
        if not self.enabled:
            return None
        if not credential:
            raise Denied(CloseCode.UNAUTHORIZED, "credentials required (Authorization: Bearer, ?token= or subprotocol)",
                         "credentials_missing")
        if credential.startswith(TOKEN_PREFIX):
            return self._token_principal(credential)
        key = self._find_key(credential)
        if key is None:
            raise Denied(CloseCode.UNAUTHORIZED, "unknown API key", "unknown_key")
        return Principal(f"key:{key.id}", ADMIN_SCOPE, key.id, key.id)

    def _find_key(self, presented: str) -> ApiKey | None:
        """Compare against every key in constant time (digests of equal length, no early exit)."""
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token.

        Raises:
            Denied: 4001: malformed, unknown key, bad signature, expired, not yet valid.
        """
        parts = token.split(".")
        if len(parts) != 3 or f"{parts[0]}." != TOKEN_PREFIX:
            raise Denied(CloseCode.UNAUTHORIZED, "malformed token")
        try:
            claims = orjson.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, orjson.JSONDecodeError):
            raise Denied(CloseCode.UNAUTHORIZED, "malformed token") from None
        if not isinstance(claims, dict):
            raise Denied(CloseCode.UNAUTHORIZED, "malformed token")
        secret = self._signing_secret(claims.get("kid"))
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise Denied(CloseCode.UNAUTHORIZED, "bad token signature")
        problem = _claims_problem(claims)
        if problem:
            raise Denied(CloseCode.UNAUTHORIZED, f"malformed token: {problem}")
        now = self._clock()
        if claims["exp"] + LEEWAY_S < now:
            raise Denied(CloseCode.UNAUTHORIZED, "token expired", "token_expired")
        if claims["iat"] - LEEWAY_S > now:
            raise Denied(CloseCode.UNAUTHORIZED, "token not yet valid (iat in the future)", "token_not_yet_valid")
        return claims

    def _token_principal(self, token: str) -> Principal:
        claims = self.verify(token)
        commands = frozenset(claims["cmd"]) if "cmd" in claims else None
        kid = claims.get("kid")
        return Principal(
            f"token:{claims['sub']}", Scope(claims["role"], claims["room"], commands),
            kid or "token-secret", kid, float(claims["exp"]),
        )

    def _signing_secret(self, kid: object) -> bytes:
        """The token secret if configured, else the secret derived from API key ``kid``."""
        if self._token_secret is not None:
            return self._token_secret
        key = next((k for k in self.keys if k.id == kid), None) if isinstance(kid, str) else None
        if key is None:
            raise Denied(CloseCode.UNAUTHORIZED, "token signed with an unknown key")
        # Derived, not the key itself: a token never reveals anything usable as an API key.
        return hmac.new(key.secret, b"daily-gateway token signing v1", hashlib.sha256).digest()

    # ------------------------------------------------------------------ minting

    def mint(self, *, sub: str | None, room: str, role: str, commands: Sequence[str] | None = None,
             ttl_s: float = 300, key_id: str | None = None, not_after: float | None = None) -> tuple[str, dict[str, Any]]:
        """A signed token and its claims.

        ``sub`` None gives a unique subject (``minted-<jti>``). ``key_id`` names the API key that
        signs (and is counted for the token's sessions); without a token secret it defaults to
        the first key. ``not_after`` (Unix seconds): the token expires then at the latest,
        whatever ``ttl_s`` asks (the expiry of the token minting it).

        Raises:
            ConfigError: auth is off, ``key_id`` is unknown, role or ttl out of range, ``not_after`` passed.
        """
        if not self.enabled:
            raise ConfigError("no API keys or token secret are configured: nothing to sign tokens with")
        if role not in ROLES:
            raise ConfigError(f"role must be one of {', '.join(ROLES)}")
        if not 0 < ttl_s <= MAX_TTL_S:
            raise ConfigError(f"ttl must be between 1 and {MAX_TTL_S} seconds")
        if key_id is not None and not any(k.id == key_id for k in self.keys):
            raise ConfigError(f"no API key with id {key_id!r}")
        if key_id is None and self._token_secret is None:
            key_id = self.keys[0].id
        now = int(self._clock())
        exp = now + int(ttl_s)
        if not_after is not None:
            if int(not_after) <= now:
                raise ConfigError("the credential minting this token has expired")
            exp = min(exp, int(not_after))
        jti = secrets.token_urlsafe(9)
        claims: dict[str, Any] = {"sub": sub or f"{MINTED_SUB_PREFIX}{jti}", "room": room, "role": role, "iat": now,
                                  "exp": exp, "jti": jti}
        if commands is not None:
            claims["cmd"] = sorted(set(commands))
        if key_id is not None:
            claims["kid"] = key_id
        payload = _b64(orjson.dumps(claims, option=orjson.OPT_SORT_KEYS))
        signed = f"{TOKEN_PREFIX}{payload}"
        signature = hmac.new(self._signing_secret(key_id), signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{_b64(signature)}", claims


def _claims_problem(claims: dict[str, Any]) -> str | None:
    """What is wrong with signed claims (a bug in the minter), or None."""
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return "sub"
    if not isinstance(claims.get("room"), str) or not claims["room"]:
        return "room"
    if claims.get("role") not in ROLES:
        return "role"
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), int | float) or isinstance(claims[name], bool):
            return name
    if "cmd" in claims and not (isinstance(claims["cmd"], list) and all(isinstance(c, str) for c in claims["cmd"])):
        return "cmd"
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# ---------------------------------------------------------------------- the handshake


def credential(authorization: str | None, path: str, subprotocols: Sequence[str]) -> str | None:
    """The credential a handshake carries: ``Authorization: Bearer``, else a subprotocol entry, else ``?token=``."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    for offered in (p.strip() for header in subprotocols for p in header.split(",")):
        if offered.startswith(SUBPROTOCOL_TOKEN_PREFIX):
            return offered[len(SUBPROTOCOL_TOKEN_PREFIX):]
    query = parse_qs(urlsplit(path).query)
    values = query.get("token")
    return values[0] if values else None


def check_origin(origin: str | None, host: str | None, allowed: Sequence[str]) -> None:
    """Allow no ``Origin`` (not a browser), the gateway's own origin, and ``allowed`` (``*``: any).

    Raises:
        Denied: 4003 for any other origin.
    """
    if origin is None or "*" in allowed:
        return
    if origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in allowed}:
        return
    netloc = urlsplit(origin).netloc.lower()
    if host is not None and netloc and netloc == host.strip().lower():
        return  # same origin: the dashboard served by this gateway
    raise Denied(CloseCode.FORBIDDEN_ORIGIN, f"origin {origin[:60]} is not allowed (allowed_origins)", "forbidden_origin")


def host_name(host: str) -> str:
    """The name in a ``Host`` header, lower-cased, without port or IPv6 brackets (``[::1]:8765`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def check_host(host: str | None, allowed: Sequence[str], auth_enabled: bool) -> str | None:
    """Why a request for ``host`` is refused (403), or None (PROTOCOL.md, "Security").

    Loopback names (``localhost``, ``127.0.0.1``, ``[::1]``, any port) and ``allowed`` ones are
    served. Without API keys nothing else is: a page whose DNS name was rebound to 127.0.0.1 sends
    its own name as ``Host`` (and an ``Origin`` matching it), so the same-origin check alone would
    let it in. With keys any host is served unless ``allowed`` names some.
    """
    if "*" in allowed or (auth_enabled and not allowed):
        return None
    name = host_name(host) if host else ""
    if name and (is_loopback(name) or name in {a.strip().lower() for a in allowed}):
        return None
    shown = name[:60] or "(none)"
    return f"host {shown} is not allowed (allowed_hosts; without API keys only loopback names are served)"


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` exposes the gateway to this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, auth: Authenticator) -> None:
    """Refuse to serve a non-loopback address without credentials configured.

    Raises:
        ConfigError: with the message the CLI prints.
    """
    if not auth.enabled and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host or '*'} without authentication: set api_keys (GATEWAY_API_KEYS), "
            "api_keys_file or token_secret, or bind to 127.0.0.1"
        )


__all__ = [
    "ADMIN_SCOPE", "ApiKey", "Authenticator", "ConfigError", "Denied", "Principal", "RequestRule", "Rules", "Scope", "may_send",
    "check_exposure", "check_host", "check_origin", "credential", "host_name", "is_loopback", "parse_api_keys",
]
