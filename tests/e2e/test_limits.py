"""Limits end to end: sessions per key, rooms, request rate, idle timeout (PROTOCOL.md, "Hello").

Message and frame sizes are covered in test_bad_input.py (too_large, 1009).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import urllib.request
from collections.abc import Iterator

import pytest
import websockets
from gateway_client import GatewayClient, GatewayError
from websockets.exceptions import ConnectionClosed

from gateway.auth import Authenticator, parse_api_keys
from tests.conftest import GatewayProcess, start_gateway

KEY = "0123456789abcdef-limits-key"
OTHER = "fedcba9876543210-other-key"
ROOMS_A, ROOMS_B, RATE = "rooms-a-0123456789abcdef", "rooms-b-0123456789abcdef", "rate-0123456789abcdef"
KEYS = f"lim:{KEY},other:{OTHER},rooms-a:{ROOMS_A},rooms-b:{ROOMS_B},rate:{RATE}"
"""One key per test, so that the 2-sessions-per-key limit only trips where it is tested."""


@pytest.fixture(scope="module")
def limited() -> Iterator[GatewayProcess]:
    """A gateway with keys and small limits: 2 sessions per key, 2 rooms, 5 requests per second."""
    gw = start_gateway("--max-sessions-per-key", "2", "--max-rooms", "2", "--max-requests-per-second", "5",
                       name="gateway-limits", env={"GATEWAY_API_KEYS": KEYS})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


@pytest.fixture(scope="module")
def idle() -> Iterator[GatewayProcess]:
    """A gateway that pings every 200 ms and closes connections idle for 1 s."""
    gw = start_gateway("--idle-timeout-ms", "1000", "--ping-interval-ms", "200", name="gateway-idle")
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def test_limits_are_in_hello(limited, clients):
    """hello.limits reports the configured limits, the new ones included."""
    client = await GatewayClient.connect(limited.url, api_key=OTHER)
    clients.append(client)
    limits = client.hello.limits
    assert (limits["max_sessions_per_key"], limits["max_rooms"], limits["max_requests_per_second"]) == (2, 2, 5)


async def test_sessions_per_key(limited, clients):
    """A key's third connection is closed with 4029; tokens count for their key; a freed slot can be reused."""
    first = await GatewayClient.connect(limited.url, api_key=KEY)
    token, _ = Authenticator(parse_api_keys(KEYS.split(","))).mint(sub="t", room="*", role="bot", key_id="lim")
    second = await GatewayClient.connect(limited.url, token=token)
    clients.extend([first, second])
    for credential in (KEY, token):
        async with websockets.connect(limited.url, subprotocols=["daily-gateway.v1"],  # type: ignore[list-item]
                                      additional_headers={"Authorization": f"Bearer {credential}"}) as ws:
            with pytest.raises(ConnectionClosed) as exc:
                await asyncio.wait_for(ws.recv(), 5)
        assert exc.value.rcvd is not None and exc.value.rcvd.code == 4029
        assert exc.value.rcvd.reason == "limit_reached: key lim has 2 sessions (max_sessions_per_key)"
    other = await GatewayClient.connect(limited.url, api_key=OTHER)  # another key is not affected
    clients.append(other)
    await first.close()
    for _ in range(50):  # the gateway counts the close when it has seen it
        try:
            third = await GatewayClient.connect(limited.url, api_key=KEY)
        except ConnectionClosed:
            await asyncio.sleep(0.1)
            continue
        clients.append(third)
        break
    else:
        raise AssertionError("the freed session slot was never reusable")


async def wait_detached(gw: GatewayProcess, count: int, timeout: float = 5.0) -> None:
    """Until /healthz reports ``count`` detached sessions."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        health = await asyncio.to_thread(
            lambda: json.loads(urllib.request.urlopen(gw.http_url + "/healthz", timeout=5).read()))
        if health["detached"] == count:
            return
        assert loop.time() < deadline, health
        await asyncio.sleep(0.02)


async def test_a_key_at_its_limit_can_resume_a_dropped_session(clients, room):
    """At max_sessions_per_key a dropped session can still be resumed (only resumed), and then counts once."""
    gw = start_gateway("--max-sessions-per-key", "1", name="gateway-limit-resume", env={"GATEWAY_API_KEYS": f"lim:{KEY}"})
    try:
        first = await GatewayClient.connect(gw.url, api_key=KEY)
        await first.join(room)
        token, last_seq = first.resume_token, first.last_seq
        first.ws.transport.abort()  # a network drop, not a close: the session waits detached
        await wait_detached(gw, 1)  # the gateway noticed the drop (a comeback racing it is refused 4029)
        comeback = await GatewayClient.connect(gw.url, api_key=KEY)  # over the limit, to resume only
        clients.append(comeback)
        with pytest.raises(GatewayError) as refused:
            await comeback.request("get-stats")
        assert refused.value.code == "limit_reached"
        assert refused.value.details == {"limit": "max_sessions_per_key"}
        result = await comeback.request("resume", {"resume_token": token, "last_seq": last_seq})
        assert result["state"] == "joined"
        assert (await comeback.request("get-participants"))  # the resumed session is fully usable
        async with websockets.connect(gw.url, subprotocols=["daily-gateway.v1"],  # type: ignore[list-item]
                                      additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            with pytest.raises(ConnectionClosed) as exc:  # the resumed session counts once: the key is full
                await asyncio.wait_for(ws.recv(), 5)
        assert exc.value.rcvd is not None and exc.value.rcvd.code == 4029
    finally:
        for client in clients:
            await client.close()
        clients.clear()
        assert gw.stop() == 0
        assert "Traceback" not in gw.log()


async def test_max_rooms(limited, clients, room):
    """With 2 rooms in use a join or observe of a third gets limit_reached; existing rooms stay joinable."""
    a, b = await GatewayClient.connect(limited.url, api_key=ROOMS_A), await GatewayClient.connect(limited.url, api_key=ROOMS_A)
    clients.extend([a, b])
    await a.join(room + "-1")
    await b.request("observe", {"room_url": room + "-2"})
    token, _ = Authenticator(parse_api_keys(KEYS.split(","))).mint(sub="c", room="*", role="bot", key_id="rooms-b")
    c = await GatewayClient.connect(limited.url, token=token)
    clients.append(c)
    for rtype in ("join", "observe"):
        with pytest.raises(GatewayError) as exc:
            await c.request(rtype, {"room_url": room + "-3"})
        assert exc.value.code == "limit_reached" and exc.value.details == {"limit": "max_rooms"}
    await c.join(room + "-1")


async def test_request_rate(limited, clients):
    """More than max_requests_per_second requests in one second get rate_limited replies; the session goes on."""
    client = await GatewayClient.connect(limited.url, api_key=RATE)
    clients.append(client)
    results = await asyncio.gather(*(client.request("ping") for _ in range(12)), return_exceptions=True)
    codes = [r.code for r in results if isinstance(r, GatewayError)]
    assert codes and set(codes) == {"rate_limited"}
    assert len(results) - len(codes) <= 10  # at most two windows' worth got through
    await asyncio.sleep(1.1)
    await client.request("ping")


async def test_quiet_client_that_answers_pings_stays(idle, clients, room):
    """A joined client that sends nothing but answers the gateway's pings outlives idle_timeout_ms."""
    client = await GatewayClient.connect(idle.url)
    clients.append(client)
    await client.join(room)
    await asyncio.sleep(2.5)
    assert not client.closed
    await client.request("ping")


async def test_silent_connection_is_closed_4009(idle):
    """A connection that sends nothing and answers no ping is closed with 4009 after idle_timeout_ms."""
    host, port = idle.url.removeprefix("ws://").split("/")[0].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /v1 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: daily-gateway.v1\r\n\r\n".encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert status.startswith(b"HTTP/1.1 101")
    opcodes: list[int] = []
    close_code = None
    try:
        async with asyncio.timeout(15):
            while close_code is None:  # read (never answer) frames: hello, pings, then the close
                head = await reader.readexactly(2)
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await reader.readexactly(8))[0]
                payload = await reader.readexactly(length)
                opcodes.append(opcode)
                if opcode == 0x8:
                    close_code = struct.unpack("!H", payload[:2])[0]
    finally:
        writer.close()
    assert close_code == 4009
    assert 0x9 in opcodes  # it was pinged before being given up
    await asyncio.sleep(0.2)
    assert "idle for" in idle.log()


async def test_idle_client_without_pings_is_closed_4009(room):
    """With pings off, a joined client that sends nothing is told left and closed with 4009."""
    gw = start_gateway("--idle-timeout-ms", "800", "--ping-interval-ms", "0", name="gateway-idle-noping")
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join(room)
        for _ in range(50):
            if client.closed:
                break
            await asyncio.sleep(0.1)
        assert client.closed and client.close_code == 4009
        assert (await client.wait_for("left", timeout=1)).data == {"reason": "disconnected"}
        await client.close()
    finally:
        assert gw.stop() == 0
