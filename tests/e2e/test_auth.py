"""Authentication end to end: a real gateway with API keys, real WebSocket clients (PROTOCOL.md section 13)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from gateway_client import GatewayClient, GatewayError
from websockets.exceptions import ConnectionClosed

from gateway.auth import Authenticator, parse_api_keys
from tests.conftest import ROOT, GatewayProcess, start_gateway

OPS = "0123456789abcdef-ops-secret"
CI = "fedcba9876543210-ci-secret"
KEYS = f"ops:{OPS},ci:{CI}"
ALLOWED_ORIGIN = "https://app.example.com"
SUBPROTOCOL = "daily-gateway.v1"


def signer(clock: float | None = None) -> Authenticator:
    """The same keys as the gateway's, to sign tokens in the test (optionally at another time)."""
    return Authenticator(parse_api_keys(KEYS.split(",")), None, (lambda: clock) if clock is not None else time.time)


@pytest.fixture(scope="module")
def secured() -> Iterator[GatewayProcess]:
    """A gateway with two API keys and one allowed browser origin."""
    gw = start_gateway(name="gateway-auth", env={"GATEWAY_API_KEYS": KEYS, "GATEWAY_ALLOWED_ORIGINS": ALLOWED_ORIGIN})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def refused(url: str, **kwargs: Any) -> tuple[int, str]:
    """Open a raw connection that the gateway is expected to close before hello: (code, reason)."""
    kwargs.setdefault("subprotocols", [SUBPROTOCOL])
    async with websockets.connect(url, **kwargs) as ws:
        with pytest.raises(ConnectionClosed) as exc:
            message = await asyncio.wait_for(ws.recv(), 5)
            raise AssertionError(f"expected a close, got {message!r}")
    assert exc.value.rcvd is not None
    return exc.value.rcvd.code, exc.value.rcvd.reason


async def test_no_credential_is_closed_4001(secured):
    """Without a credential the upgrade completes and the gateway closes with 4001 and a typed reason, no hello."""
    code, reason = await refused(secured.url)
    assert code == 4001 and reason.startswith("unauthorized: credentials required")


async def test_unknown_api_key_is_closed_4001(secured):
    """A key the gateway does not have is refused with 4001."""
    code, reason = await refused(secured.url, additional_headers={"Authorization": "Bearer not-a-key-of-this-gateway"})
    assert (code, reason) == (4001, "unauthorized: unknown API key")


async def test_api_key_connects_as_admin(secured, clients):
    """An API key in Authorization: Bearer gets a hello with the limits and may use admin requests."""
    client = await GatewayClient.connect(secured.url, api_key=OPS)
    clients.append(client)
    assert client.hello.limits["max_sessions_per_key"] == 100 and "max_rooms" in client.hello.limits
    result = await client.request("mint-token", {"room": "local://x", "role": "observer", "sub": "viewer"})
    assert result["claims"]["kid"] == "ops" and result["claims"]["role"] == "observer"
    assert result["expires_at"] == result["claims"]["exp"]


async def test_token_in_each_handshake_place(secured, clients, room):
    """A token works as a Bearer header, as a daily-gateway.token.<t> subprotocol entry (v1 still selected) and as ?token=."""
    token, _ = signer().mint(sub="bot-1", room=room, role="bot")
    via_header = await GatewayClient.connect(secured.url, token=token)
    clients.append(via_header)
    async with websockets.connect(secured.url, subprotocols=[SUBPROTOCOL, f"daily-gateway.token.{token}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == SUBPROTOCOL
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
    async with websockets.connect(f"{secured.url}?token={token}", subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
    await via_header.join(room)


async def test_expired_token_is_refused(secured):
    """A token whose exp passed (beyond the 30 s leeway) is closed with 4001 'token expired'."""
    token, _ = signer(clock=time.time() - 3600).mint(sub="late", room="*", role="bot", ttl_s=60)
    code, reason = await refused(secured.url, additional_headers={"Authorization": f"Bearer {token}"})
    assert (code, reason) == (4001, "unauthorized: token expired")


@pytest.mark.parametrize("how", ["claims", "signature", "other-gateway"])
async def test_forged_token_is_refused(secured, how):
    """A token with edited claims, a changed signature, or signed by another gateway's key is closed with 4001."""
    token, _ = signer().mint(sub="bot", room="local://one", role="observer")
    head, payload, sig = token.split(".")
    if how == "claims":
        import base64

        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims.update(role="admin", room="*")
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"{head}.{payload}.{sig}"
    elif how == "signature":
        token = f"{head}.{payload}.{sig[:-4]}{'AAAA' if not sig.endswith('AAAA') else 'BBBB'}"
    else:
        other = Authenticator(parse_api_keys(["ops:another-gateways-ops-secret"]))
        token, _ = other.mint(sub="bot", room="*", role="admin")
    code, reason = await refused(secured.url, subprotocols=[SUBPROTOCOL, f"daily-gateway.token.{token}"])
    assert (code, reason) == (4001, "unauthorized: bad token signature")


async def test_wrong_room_token_is_refused_per_request(secured, clients, room):
    """A token for one room gets unauthorized (scope room) joining another; the session goes on and joins its room."""
    token, _ = signer().mint(sub="bot", room=room, role="bot")
    client = await GatewayClient.connect(secured.url, token=token)
    clients.append(client)
    with pytest.raises(GatewayError) as exc:
        await client.join(room + "-other")
    assert exc.value.code == "unauthorized" and exc.value.details == {"scope": "room", "field": "room_url"}
    await client.request("ping")
    await client.join(room)


async def test_room_prefix_token_and_list_rooms(secured, clients, room):
    """A prefix room scope admits rooms under it, and list-rooms shows only rooms the token covers."""
    admin = await GatewayClient.connect(secured.url, api_key=CI)
    clients.append(admin)
    await admin.join(room + "-in")
    other = await GatewayClient.connect(secured.url, api_key=CI)
    clients.append(other)
    await other.join(room.replace("local://", "local://x") + "-out")
    token, _ = signer().mint(sub="watcher", room=room + "*", role="observer")
    observer = await GatewayClient.connect(secured.url, token=token)
    clients.append(observer)
    listed = [r["room_url"] for r in (await observer.request("list-rooms"))["rooms"]]
    assert listed == [room + "-in"]
    await observer.request("observe", {"room_url": room + "-in"})


async def test_wrong_role_is_refused_per_request(secured, clients, room):
    """An observer token cannot join; a bot token cannot mint tokens; a command list narrows a bot to it."""
    observer_token, _ = signer().mint(sub="o", room="*", role="observer")
    observer = await GatewayClient.connect(secured.url, token=observer_token)
    clients.append(observer)
    with pytest.raises(GatewayError) as exc:
        await observer.join(room)
    assert exc.value.code == "unauthorized" and exc.value.details == {"scope": "command"}

    bot_token, _ = signer().mint(sub="b", room="*", role="bot")
    bot = await GatewayClient.connect(secured.url, token=bot_token)
    clients.append(bot)
    with pytest.raises(GatewayError) as exc:
        await bot.request("mint-token", {"room": room})
    assert exc.value.code == "unauthorized"

    narrow_token, _ = signer().mint(sub="n", room="*", role="bot", commands=["join", "leave", "ping"])
    narrow = await GatewayClient.connect(secured.url, token=narrow_token)
    clients.append(narrow)
    await narrow.join(room)
    with pytest.raises(GatewayError) as exc:
        await narrow.request("get-participants")
    assert exc.value.code == "unauthorized"


async def test_minted_token_cannot_exceed_its_minter(secured, clients, room):
    """An admin token for some rooms mints tokens inside them only, never for other rooms or a stronger role."""
    root = await GatewayClient.connect(secured.url, api_key=OPS)
    clients.append(root)
    minted = await root.request("mint-token", {"room": room + "*", "role": "admin", "sub": "room-admin"})
    room_admin = await GatewayClient.connect(secured.url, token=minted["token"])
    clients.append(room_admin)
    ok = await room_admin.request("mint-token", {"room": room + "-a", "role": "bot"})
    assert ok["claims"]["kid"] == "ops"  # the chain stays counted for the key that started it
    for params in ({"room": "*"}, {"room": "local://elsewhere"}):
        with pytest.raises(GatewayError) as exc:
            await room_admin.request("mint-token", params)
        assert exc.value.code == "unauthorized" and exc.value.details == {"scope": "mint"}
    with pytest.raises(GatewayError) as exc:
        await root.request("mint-token", {"room": room, "commands": ["no-such-request"]})
    assert exc.value.code == "invalid_params"
    bot = await GatewayClient.connect(secured.url, token=ok["token"])
    clients.append(bot)
    await bot.join(room + "-a")


async def test_mint_token_cli(secured, clients, room):
    """`daily-gateway mint-token` signs with the keys from the environment; the gateway accepts its token."""
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "mint-token", "--room", room, "--role", "bot", "--sub", "cli-bot", "--json"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "GATEWAY_API_KEYS": KEYS}, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    minted = json.loads(out.stdout)
    assert minted["claims"]["sub"] == "cli-bot" and minted["claims"]["kid"] == "ops"
    client = await GatewayClient.connect(secured.url, token=minted["token"])
    clients.append(client)
    await client.join(room)
    bad = subprocess.run([sys.executable, "-m", "gateway", "mint-token", "--room", room], capture_output=True,
                         text=True, cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
                         timeout=30)
    assert bad.returncode == 2 and "nothing to sign tokens with" in bad.stderr


async def test_origin_allow_list(secured, clients):
    """A foreign browser Origin is closed with 4003; the allowed origin and the gateway's own origin connect."""
    code, reason = await refused(secured.url, origin="https://evil.example", additional_headers={"Authorization": f"Bearer {OPS}"})  # type: ignore[arg-type]
    assert code == 4003 and reason.startswith("forbidden_origin: ")
    own = secured.http_url
    for origin in (ALLOWED_ORIGIN, own):
        client = await GatewayClient.connect(secured.url, api_key=OPS, origin=origin)
        clients.append(client)
        await client.request("ping")


@pytest.fixture(scope="module")
def secured_json() -> Iterator[GatewayProcess]:
    """The same gateway as ``secured``, logging one JSON object per line (--log-format json)."""
    gw = start_gateway("--log-format", "json", name="gateway-auth-json",
                       env={"GATEWAY_API_KEYS": KEYS, "GATEWAY_ALLOWED_ORIGINS": ALLOWED_ORIGIN})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


def json_log(gw: GatewayProcess) -> list[dict[str, Any]]:
    """Every line of a --log-format json gateway's log, parsed (each must be one JSON object)."""
    lines = [line for line in gw.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) and {"time", "level", "logger", "event"} <= set(r) for r in records), lines[:5]
    return records


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_denials_are_logged_without_secrets(request, log_format, room):
    """Each refusal is a log line naming the reason, and no key, token or signature appears in the log, in either format."""
    gw = request.getfixturevalue("secured" if log_format == "text" else "secured_json")
    token, _ = signer().mint(sub="log-check", room=room, role="observer")
    expired, _ = signer(clock=time.time() - 3600).mint(sub="old", room="*", role="bot", ttl_s=60)
    await refused(f"{gw.url}?token={expired}")
    client = await GatewayClient.connect(gw.url, token=token)
    with pytest.raises(GatewayError):
        await client.join(room)
    await client.close()
    admin = await GatewayClient.connect(gw.url, token=OPS)
    await admin.join(room, token="daily-meeting-token-that-is-secret", user_name="logged")
    await admin.close()
    await asyncio.sleep(0.2)
    log = gw.log()
    text = "\n".join(r["event"] for r in json_log(gw)) if log_format == "json" else log
    assert "denied connection" in text and "unauthorized: token expired" in text
    assert "refused join for token:log-check" in text
    for secret in (OPS, CI, token, expired, token.split(".")[2], expired.split(".")[2], "daily-meeting-token-that-is-secret"):
        assert secret not in log


async def test_json_log_lines_carry_session_room_and_request_id(secured_json, room):
    """--log-format json: a request's log lines (its refusal, a join's success) carry its id, the session's id and the room."""
    token, _ = signer().mint(sub="json-ids", room="local://not-this-one", role="bot")
    async with websockets.connect(secured_json.url, subprotocols=[SUBPROTOCOL],
                                  additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "join", "id": "refused-join-7", "room_url": room}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert reply["error"]["code"] == "unauthorized"
    async with websockets.connect(secured_json.url, subprotocols=[SUBPROTOCOL],
                                  additional_headers={"Authorization": f"Bearer {OPS}"}) as ws:
        admin_hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "join", "id": "join-8", "room_url": room, "user_name": "json-bot"}))
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 5))).get("id") != "join-8":
            pass
        assert message["ok"] is True
    await asyncio.sleep(0.3)
    records = json_log(secured_json)
    refusal = next(r for r in records if "refused join for token:json-ids" in r["event"])
    assert refusal["request_id"] == "refused-join-7" and refusal["session_id"] == hello["session_id"]
    assert refusal["level"] == "warning" and refusal["logger"] == "gateway.server"
    joined = next(r for r in records if r["event"].startswith(f"= {admin_hello['session_id'][:8]} joined {room}"))
    assert joined["request_id"] == "join-8" and joined["session_id"] == admin_hello["session_id"] and joined["room"] == room
    assert joined["time"].endswith("Z") and joined["level"] == "info"


def test_non_loopback_without_keys_refuses_to_start():
    """--host 0.0.0.0 with no keys exits with status 2 and says why, without listening."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    out = subprocess.run([sys.executable, "-m", "gateway", "--host", "0.0.0.0", "--port", "0"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=30)
    assert out.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in out.stderr
    assert "listening" not in out.stdout


def test_open_gateway_warns(gateway):
    """The shared test gateway (loopback, no keys) is open and says so in a warning."""
    assert "no API keys or token secret configured" in gateway.log()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


async def test_tls(certificate, room):
    """With tls_cert/tls_key the gateway serves wss:// and https:// that a client trusting the certificate uses."""
    cert, key = certificate
    gw = start_gateway("--tls-cert", str(cert), "--tls-key", str(key), name="gateway-tls")
    try:
        assert gw.url.startswith("wss://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        client = await GatewayClient.connect(gw.url, ssl=context)
        await client.join(room)
        await client.close()
        health = await asyncio.to_thread(
            lambda: json.loads(urllib.request.urlopen(f"{gw.http_url}/healthz", context=context, timeout=5).read())
        )
        assert gw.http_url.startswith("https://") and health["status"] == "ok"
        with pytest.raises((ssl.SSLError, OSError)):
            await GatewayClient.connect(gw.url, ssl=ssl.create_default_context(), open_timeout=5)  # not trusted
    finally:
        assert gw.stop() == 0
    assert "Traceback" not in gw.log()


def test_unusable_certificate_refuses_to_start(tmp_path):
    """A tls_cert that is missing or not PEM stops the gateway at once with status 2 and a message, no traceback."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for path, message in ((tmp_path / "missing.pem", "cannot read tls_cert"), (garbage, "cannot use tls_cert")):
        out = subprocess.run([sys.executable, "-m", "gateway", "--port", "0", "--tls-cert", str(path)],
                             capture_output=True, text=True, cwd=ROOT, timeout=30)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
