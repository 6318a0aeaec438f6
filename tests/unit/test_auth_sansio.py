"""gateway.auth without sockets: keys, token signing and checking, scopes, origins, exposure."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.auth import (
    ADMIN_SCOPE,
    Authenticator,
    ConfigError,
    Denied,
    Scope,
    check_exposure,
    check_origin,
    credential,
    is_loopback,
    parse_api_keys,
)
from gateway.handlers import HANDLERS
from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode

KEY = "ops:0123456789abcdef-ops"
OTHER = "ci:fedcba9876543210-ci"
RULES = HANDLERS
"""The role table: each request's role and room rule, as its handler declares them (@handler)."""


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def auth(*keys: str, secret: str | None = None, clock: Clock | None = None) -> Authenticator:
    return Authenticator(parse_api_keys(keys), secret, clock or Clock())


def test_api_key_entries_parse_with_ids_and_refuse_short_secrets():
    """id:secret entries keep their id, bare secrets get a stable derived id, comments are skipped, short secrets fail."""
    keys = parse_api_keys(["# comment", "", KEY, "0123456789abcdef-bare"])
    assert keys[0].id == "ops" and keys[0].secret == b"0123456789abcdef-ops"
    assert keys[1].id.startswith("key-") and keys[1].id == parse_api_keys(["0123456789abcdef-bare"])[0].id
    with pytest.raises(ConfigError, match="shorter"):
        parse_api_keys(["x:short"])
    with pytest.raises(ConfigError, match="twice"):
        parse_api_keys([KEY, KEY])


def test_secret_never_in_repr():
    """A key's repr (what a careless log line would print) does not show its secret."""
    assert "0123456789abcdef" not in repr(parse_api_keys([KEY])[0])


def test_open_without_keys_and_keys_authenticate_as_admin():
    """No keys: auth is off (None); a configured key authenticates as key:<id> with the admin scope; others are 4001."""
    assert auth().authenticate(None) is None
    a = auth(KEY, OTHER)
    principal = a.authenticate("fedcba9876543210-ci")
    assert principal is not None and principal.name == "key:ci" and principal.scope == ADMIN_SCOPE
    for bad in (None, "", "0123456789abcdef-opz", "ops:0123456789abcdef-ops"):
        with pytest.raises(Denied) as exc:
            a.authenticate(bad)
        assert exc.value.close_code == CloseCode.UNAUTHORIZED


def test_token_round_trip_with_key_derived_secret():
    """A minted token verifies to its claims, is scoped as minted and is counted for the key that signed it."""
    a = auth(KEY, OTHER)
    token, claims = a.mint(sub="bot-1", room="local://a", role="bot", ttl_s=60, key_id="ci")
    assert token.startswith("dgw1.") and claims["kid"] == "ci" and claims["exp"] - claims["iat"] == 60
    principal = a.authenticate(token)
    assert principal is not None
    assert (principal.name, principal.limit_key, principal.key_id) == ("token:bot-1", "ci", "ci")
    assert principal.scope == Scope("bot", "local://a", None)
    assert "0123456789" not in token  # neither key's secret is inside


def test_token_characters_fit_a_subprotocol_name():
    """Every character of a token is an RFC 7230 token character, so browsers can offer it as a subprotocol."""
    token, _ = auth(KEY).mint(sub="x" * 40, room="local://é-room", role="observer", commands=["observe"])
    allowed = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert set(token) <= allowed


def test_expired_and_future_tokens_are_refused_with_leeway():
    """exp is honoured with 30 s of leeway either way; iat far in the future is refused too."""
    clock = Clock()
    a = auth(KEY, clock=clock)
    token, claims = a.mint(sub="s", room="*", role="bot", ttl_s=10)
    clock.now = claims["exp"] + 29
    assert a.authenticate(token) is not None
    clock.now = claims["exp"] + 31
    with pytest.raises(Denied, match="expired"):
        a.authenticate(token)
    clock.now = claims["iat"] - 31
    with pytest.raises(Denied, match="not yet valid"):
        a.authenticate(token)


def _tamper(token: str, **changes: object) -> str:
    prefix, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{new}.{sig}"


@pytest.mark.parametrize(
    "forge, reason",
    [
        (lambda t: _tamper(t, room="*"), "signature"),
        (lambda t: _tamper(t, role="admin"), "signature"),
        (lambda t: _tamper(t, kid="nobody"), "unknown key"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "signature"),
        (lambda t: t.replace("dgw1.", "dgw2."), "unknown API key"),
        (lambda t: "dgw1." + t.split(".")[1], "malformed"),
        (lambda t: "dgw1.!!!.AAAA", "malformed"),
        (lambda t: "dgw1..", "malformed"),
    ],
)
def test_forged_tokens_are_refused(forge, reason):
    """Changed claims, another kid, a changed signature or a mangled shape: 4001, never a crash."""
    a = auth(KEY, OTHER)
    token, _ = a.mint(sub="s", room="local://a", role="observer")
    with pytest.raises(Denied, match=reason) as exc:
        a.authenticate(forge(token))
    assert exc.value.close_code == CloseCode.UNAUTHORIZED


def test_token_from_another_gateway_is_refused():
    """A token signed with another gateway's key of the same id does not verify."""
    mine, theirs = auth(KEY), auth("ops:another-secret-of-ops-key")
    token, _ = theirs.mint(sub="s", room="*", role="admin")
    with pytest.raises(Denied, match="signature"):
        mine.authenticate(token)


def test_token_secret_signs_without_kid():
    """With token_secret, tokens carry no kid and count under token-secret; a short secret is refused."""
    a = auth(secret="a-token-secret-of-32-characters!")
    token, claims = a.mint(sub="s", room="*", role="bot")
    assert "kid" not in claims
    principal = a.authenticate(token)
    assert principal is not None and principal.limit_key == "token-secret"
    with pytest.raises(ConfigError):
        auth(secret="short")


def test_mint_refuses_bad_role_ttl_and_key():
    """Minting checks the role, the lifetime and the key id; with auth off there is nothing to sign with."""
    a = auth(KEY)
    for kwargs in ({"role": "root"}, {"ttl_s": 0}, {"ttl_s": 10**9}, {"key_id": "nobody"}):
        with pytest.raises(ConfigError):
            a.mint(**{"sub": "s", "room": "*", "role": "bot", **kwargs})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        auth().mint(sub="s", room="*", role="bot")


def test_scope_rooms():
    """Room patterns: * any, a trailing * a prefix, otherwise the exact URL."""
    assert Scope("bot", "*").allows_room("local://x")
    assert Scope("bot", "local://team-*").allows_room("local://team-7")
    assert not Scope("bot", "local://team-*").allows_room("local://other")
    assert Scope("bot", "local://a").allows_room("local://a")
    assert not Scope("bot", "local://a").allows_room("local://ab")


def _code(scope: Scope, rtype: str, params: dict[str, object]) -> str | None:
    try:
        scope.check(rtype, params, RULES)
    except CommandError as exc:
        assert exc.code is ErrorCode.UNAUTHORIZED
        return str(exc.details["scope"])
    return None


def test_scope_roles_and_commands():
    """Observers read only, bots do all but admin requests, admins all; a command list narrows; rooms are checked."""
    observer, bot, admin = Scope("observer", "local://a"), Scope("bot", "local://a"), Scope("admin")
    assert _code(observer, "observe", {"room_url": "local://a"}) is None
    assert _code(observer, "join", {"room_url": "local://a"}) == "command"
    assert _code(observer, "observe", {"room_url": "local://b"}) == "room"
    assert _code(bot, "join", {"room_url": "local://a"}) is None
    assert _code(bot, "mint-token", {}) == "command"
    assert _code(bot, "dial", {}) == "room"  # enters a room it does not name: needs room *
    assert _code(admin, "create-room", {}) is None
    narrow = Scope("bot", "*", frozenset({"join", "leave"}))
    assert _code(narrow, "join", {"room_url": "local://z"}) is None
    assert _code(narrow, "send-app-message", {}) == "command"
    assert _code(Scope("observer", "*", frozenset({"join"})), "join", {}) == "command"  # never widens


def test_scope_covers_for_minting():
    """A scope covers a weaker or equal one inside its rooms, never a stronger role, wider room or extra command."""
    admin_a = Scope("admin", "local://team-*")
    assert admin_a.covers(Scope("bot", "local://team-1"), RULES)
    assert admin_a.covers(Scope("observer", "local://team-x*"), RULES)
    assert not admin_a.covers(Scope("bot", "*"), RULES)
    assert not admin_a.covers(Scope("bot", "local://other"), RULES)
    assert not Scope("bot").covers(Scope("admin"), RULES)
    assert not Scope("admin", "*", frozenset({"mint-token", "join"})).covers(Scope("bot"), RULES)
    assert Scope("admin", "*", frozenset({"mint-token", "join"})).covers(
        Scope("bot", "*", frozenset({"join"})), RULES
    )


def test_credential_sources_in_order():
    """Authorization: Bearer wins, then a daily-gateway.token.<t> subprotocol (also comma-joined), then ?token=."""
    assert credential("Bearer abc", "/v1?token=q", ["daily-gateway.token.s"]) == "abc"
    assert credential("Basic abc", "/v1?token=q", ["daily-gateway.v1, daily-gateway.token.s"]) == "s"
    assert credential(None, "/v1?x=1&token=q", ["daily-gateway.v1"]) == "q"
    assert credential(None, "/v1", []) is None


def test_origin_allow_list():
    """No Origin and the gateway's own origin pass; listed origins pass; others are 4003; * allows any."""
    check_origin(None, "127.0.0.1:8765", ())
    check_origin("http://127.0.0.1:8765", "127.0.0.1:8765", ())
    check_origin("https://app.example.com/", "gw:1", ("https://app.example.com",))
    check_origin("https://evil.example", "gw:1", ("*",))
    with pytest.raises(Denied) as exc:
        check_origin("https://evil.example", "127.0.0.1:8765", ("https://app.example.com",))
    assert exc.value.close_code == CloseCode.FORBIDDEN_ORIGIN
    assert exc.value.close_reason.startswith("forbidden_origin: ")


def test_exposure():
    """Loopback without keys is allowed; any other bind address without keys refuses to start."""
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("example.com")
    check_exposure("127.0.0.1", auth())
    check_exposure("0.0.0.0", auth(KEY))
    with pytest.raises(ConfigError, match="refusing"):
        check_exposure("0.0.0.0", auth())


def test_keys_file(tmp_path):
    """api_keys_file adds keys (one a line); an unreadable file or an id in both sources is a ConfigError."""
    path = tmp_path / "keys"
    path.write_text("# ops keys\nfile:0123456789abcdef-file\n")
    a = Authenticator.from_config([KEY], str(path), None)
    assert [k.id for k in a.keys] == ["ops", "file"]
    with pytest.raises(ConfigError, match="cannot read"):
        Authenticator.from_config([], str(tmp_path / "missing"), None)
    path.write_text(KEY)
    with pytest.raises(ConfigError, match="both"):
        Authenticator.from_config([KEY], str(path), None)
