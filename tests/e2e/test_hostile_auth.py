"""Authentication holes a hostile client tried on a keyed gateway, each closed (PROTOCOL.md 13 and 15).

Token lifetime escalation through mint-token, the max_sessions_per_key bypass through resume-only
connections, and resume matching only ``token:<sub>``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import websockets
from gateway_client import GatewayClient, GatewayError
from websockets.exceptions import ConnectionClosed

from gateway.auth import Authenticator, parse_api_keys
from tests.conftest import GatewayProcess, start_gateway

OPS = "0123456789abcdef-ops-hostile"
KEYS = f"ops:{OPS}"
SUBPROTOCOL = "daily-gateway.v1"


def signer() -> Authenticator:
    return Authenticator(parse_api_keys(KEYS.split(",")))


@pytest.fixture(scope="module")
def keyed() -> Iterator[GatewayProcess]:
    """A keyed gateway with a 2-sessions-per-key limit (so the bypass shows with few connections)."""
    gw = start_gateway("--max-sessions-per-key", "2", name="gateway-hostile-auth", env={"GATEWAY_API_KEYS": KEYS})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log(), gw.log()[-3000:]


def drop(client: GatewayClient) -> None:
    """A network drop (no close frame): a joined session waits DETACHED for a resume."""
    client.ws.transport.abort()


async def close_code(url: str, credential: str, *, wait: float = 10.0) -> int | None:
    """Open a connection with ``credential`` and return the close code the gateway ends it with (None: still open)."""
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                                  additional_headers={"Authorization": f"Bearer {credential}"}) as ws:
        try:
            async with asyncio.timeout(wait):
                while True:
                    await ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except TimeoutError:
            return None


# ---------------------------------------------------------------------- mint-token


async def test_a_minted_token_never_outlives_the_token_that_minted_it(keyed, clients):
    """An admin token valid 60 s asking for a 7-day token gets one expiring with it; minting again keeps that bound."""
    short, short_claims = signer().mint(sub="short-admin", room="*", role="admin", ttl_s=60)
    admin = await GatewayClient.connect(keyed.url, token=short)
    clients.append(admin)
    minted = await admin.request("mint-token", {"room": "*", "role": "admin", "ttl_s": 604800})
    assert minted["expires_at"] <= short_claims["exp"]
    child = await GatewayClient.connect(keyed.url, token=minted["token"])
    clients.append(child)
    grandchild = await child.request("mint-token", {"room": "*", "role": "bot", "ttl_s": 604800})
    assert grandchild["expires_at"] <= short_claims["exp"]


async def test_an_api_key_mints_at_most_the_documented_ttl(keyed, clients):
    """A ttl over the documented maximum (7 days) is invalid_params naming ttl_s."""
    admin = await GatewayClient.connect(keyed.url, api_key=OPS)
    clients.append(admin)
    with pytest.raises(GatewayError) as refused:
        await admin.request("mint-token", {"room": "*", "ttl_s": 604801})
    assert refused.value.code == "invalid_params" and refused.value.details["field"] == "ttl_s"
    ok = await admin.request("mint-token", {"room": "*", "ttl_s": 604800})
    assert ok["expires_at"] - time.time() <= 604800 + 5


async def test_minted_tokens_get_unique_subjects(keyed, clients):
    """Two tokens minted without sub get different subjects (never a shared principal); a given sub is kept."""
    admin = await GatewayClient.connect(keyed.url, api_key=OPS)
    clients.append(admin)
    first = await admin.request("mint-token", {"room": "*", "role": "observer"})
    second = await admin.request("mint-token", {"room": "*", "role": "observer"})
    assert first["claims"]["sub"] != second["claims"]["sub"]
    named = await admin.request("mint-token", {"room": "*", "sub": "dashboard-7"})
    assert named["claims"]["sub"] == "dashboard-7"


# ---------------------------------------------------------------------- resume


async def test_resume_needs_the_whole_principal_not_just_the_subject(keyed, clients, room):
    """An observer token of the same sub, scoped to another room, cannot resume a bot's session nor act in its room."""
    bot_token, _ = signer().mint(sub="shared-sub", room=room, role="bot")
    bot = await GatewayClient.connect(keyed.url, token=bot_token)
    await bot.join(room)
    token, last_seq = bot.resume_token, bot.last_seq
    drop(bot)
    await asyncio.sleep(0.2)
    spy_token, _ = signer().mint(sub="shared-sub", room=room + "-elsewhere", role="observer")
    spy = await GatewayClient.connect(keyed.url, token=spy_token)
    clients.append(spy)
    with pytest.raises(GatewayError) as refused:
        await spy.request("resume", {"resume_token": token, "last_seq": last_seq})
    assert refused.value.code == "resume_failed" and refused.value.details["reason"] == "principal"
    with pytest.raises(GatewayError):
        await spy.send_app_message({"as": "the bot"})
    owner = await GatewayClient.connect(keyed.url, token=bot_token)  # the same credential still resumes
    clients.append(owner)
    assert (await owner.request("resume", {"resume_token": token, "last_seq": last_seq}))["state"] == "joined"


async def test_default_minted_subjects_do_not_resume_each_other(keyed, clients, room):
    """Two tokens minted without sub (bot for a room, observer for another) are different principals for resume."""
    admin = await GatewayClient.connect(keyed.url, api_key=OPS)
    clients.append(admin)
    bot_token = (await admin.request("mint-token", {"room": room, "role": "bot"}))["token"]
    spy_token = (await admin.request("mint-token", {"room": room + "-x", "role": "observer"}))["token"]
    await admin.close()
    bot = await GatewayClient.connect(keyed.url, token=bot_token)
    await bot.join(room)
    token, last_seq = bot.resume_token, bot.last_seq
    drop(bot)
    await asyncio.sleep(0.2)
    spy = await GatewayClient.connect(keyed.url, token=spy_token)
    clients.append(spy)
    with pytest.raises(GatewayError) as refused:
        await spy.request("resume", {"resume_token": token, "last_seq": last_seq})
    assert refused.value.details["reason"] == "principal"
    owner = await GatewayClient.connect(keyed.url, token=bot_token)
    clients.append(owner)
    await owner.request("resume", {"resume_token": token, "last_seq": last_seq})


# ---------------------------------------------------------------------- max_sessions_per_key


async def test_resume_only_connections_are_bounded_and_expire(clients, room):
    """At the key's limit with one detached session, one resume-only connection is let in, the rest get 4029; it is closed if it never resumes."""
    gw = start_gateway("--max-sessions-per-key", "2", name="gateway-resume-only", env={"GATEWAY_API_KEYS": KEYS})
    try:
        live = await GatewayClient.connect(gw.url, api_key=OPS)
        clients.append(live)
        dropped = await GatewayClient.connect(gw.url, api_key=OPS)
        await dropped.join(room)
        drop(dropped)  # the key now holds 2 slots: one live, one detached
        await asyncio.sleep(0.2)
        codes = await asyncio.gather(*[close_code(gw.url, OPS, wait=2.0) for _ in range(6)])
        assert codes.count(None) <= 1 and codes.count(4029) >= 5, codes
        await asyncio.sleep(0.5)  # the gateway ends the resume-only connection the client just closed
        started = time.monotonic()
        lingering = await close_code(gw.url, OPS, wait=15.0)  # let in to resume, but it only listens
        assert lingering == 4029 and time.monotonic() - started < 12.0
        assert "did not resume" in gw.log()
        await asyncio.sleep(0.5)  # the gateway ends the session of the connection it just closed
        comeback = await GatewayClient.connect(gw.url, api_key=OPS)  # a prompt resume still works
        clients.append(comeback)
        result = await comeback.request("resume", {"resume_token": dropped.resume_token, "last_seq": dropped.last_seq})
        assert result["state"] == "joined"
    finally:
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0
        assert "Traceback" not in gw.log(), gw.log()[-3000:]


async def test_resume_only_counts_the_principal_not_just_the_key(clients, room):
    """A detached session of one token does not let a different principal of the same key in over the limit."""
    gw = start_gateway("--max-sessions-per-key", "1", name="gateway-resume-only-principal", env={"GATEWAY_API_KEYS": KEYS})
    try:
        bot_token, _ = signer().mint(sub="bot-a", room="*", role="bot")
        other_token, _ = signer().mint(sub="bot-b", room="*", role="bot")
        bot = await GatewayClient.connect(gw.url, token=bot_token)
        await bot.join(room)
        drop(bot)
        await asyncio.sleep(0.2)
        assert await close_code(gw.url, other_token, wait=2.0) == 4029
    finally:
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0
