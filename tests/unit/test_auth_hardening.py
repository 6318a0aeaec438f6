"""Auth rules the hostile review broke, without I/O: Host names, minting expiry and subjects, whole-principal matching."""

from __future__ import annotations

import pytest

from gateway.auth import Authenticator, ConfigError, Principal, Scope, check_host, host_name, parse_api_keys

KEYS = parse_api_keys(["ops:0123456789abcdef-unit"])


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8765", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:8765", "::1"), ("[::1]", "::1"),
     ("evil.example:80", "evil.example"), ("::1", "::1"), (" gw.example ", "gw.example")],
)
def test_host_name_drops_port_and_brackets(header, name):
    """The Host header's name: lower-cased, without the port or IPv6 brackets."""
    assert host_name(header) == name


def test_open_gateway_serves_loopback_names_only():
    """Without keys: loopback names pass (any 127.x, localhost, ::1), others and a missing Host are refused."""
    for host in ("127.0.0.1:1", "localhost", "[::1]:9", "127.3.4.5"):
        assert check_host(host, (), auth_enabled=False) is None
    for host in ("evil.example:8765", "0.0.0.0", "10.0.0.1", "localhost.evil.example", None, ""):
        assert "allowed_hosts" in (check_host(host, (), auth_enabled=False) or "")


def test_allowed_hosts_add_names_and_star_allows_all():
    """allowed_hosts adds names (case-insensitive, port aside); '*' serves any; keys alone serve any."""
    assert check_host("GW.example:443", ("gw.example",), auth_enabled=False) is None
    assert check_host("other.example", ("gw.example",), auth_enabled=False) is not None
    assert check_host("anything", ("*",), auth_enabled=False) is None
    assert check_host("anything", (), auth_enabled=True) is None
    assert check_host("anything", ("gw.example",), auth_enabled=True) is not None
    assert check_host("localhost", ("gw.example",), auth_enabled=True) is None


def test_minting_never_outlives_not_after():
    """ttl_s is capped at not_after; a not_after in the past refuses to mint."""
    auth = Authenticator(KEYS, clock=lambda: 1_000_000.0)
    _, claims = auth.mint(sub="x", room="*", role="bot", ttl_s=604800, not_after=1_000_060.0)
    assert claims["exp"] == 1_000_060
    _, claims = auth.mint(sub="x", room="*", role="bot", ttl_s=30, not_after=1_000_060.0)
    assert claims["exp"] == 1_000_030
    with pytest.raises(ConfigError, match="expired"):
        auth.mint(sub="x", room="*", role="bot", not_after=999_999.0)


def test_minted_subjects_are_unique_unless_given():
    """Without sub each token gets minted-<its jti>; a given sub is kept."""
    auth = Authenticator(KEYS)
    subs = {auth.mint(sub=None, room="*", role="observer")[1]["sub"] for _ in range(20)}
    assert len(subs) == 20 and all(s.startswith("minted-") for s in subs)
    _, claims = auth.mint(sub=None, room="*", role="observer")
    assert claims["sub"] == f"minted-{claims['jti']}"
    assert auth.mint(sub="named", room="*", role="bot")[1]["sub"] == "named"


def test_same_holder_compares_the_whole_principal_but_not_expiry():
    """Same name, key, role, rooms, commands: same holder (expiry aside); any difference is another principal."""
    base = Principal("token:x", Scope("bot", "local://a"), "ops", "ops", 100.0)
    assert base.same_holder(Principal("token:x", Scope("bot", "local://a"), "ops", "ops", 999.0))
    for other in (
        Principal("token:x", Scope("observer", "local://a"), "ops", "ops", 100.0),
        Principal("token:x", Scope("bot", "local://b"), "ops", "ops", 100.0),
        Principal("token:x", Scope("bot", "local://a", frozenset({"join"})), "ops", "ops", 100.0),
        Principal("token:x", Scope("bot", "local://a"), "ci", "ci", 100.0),
        Principal("token:y", Scope("bot", "local://a"), "ops", "ops", 100.0),
    ):
        assert not base.same_holder(other)
    assert not base.same_holder(None)
