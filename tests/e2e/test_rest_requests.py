"""Daily REST through a real gateway process: create-room, get-room, delete-room, create-meeting-token.

The gateway runs with ``DAILY_API_KEY`` set and ``GATEWAY_DAILY_API_URL`` pointing at the stub
Daily API (tests/fakes/daily_rest_api.py) on 127.0.0.1; clients connect without joining a room.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from gateway_client import GatewayClient, GatewayError

from tests.conftest import GatewayProcess, start_gateway
from tests.fakes.daily_rest_api import Reply, StubDaily

KEY = "sk_e2e_7c1d0a9b_NEVER_ON_THE_WIRE"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stub_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def rest_gateway(stub_port: int) -> Iterator[GatewayProcess]:
    """A gateway holding the Daily key, its REST API on the stub's port."""
    gw = start_gateway(
        name="gateway-rest",
        env={"DAILY_API_KEY": KEY, "GATEWAY_DAILY_API_URL": f"http://127.0.0.1:{stub_port}/v1"},
    )
    yield gw
    assert gw.stop() == 0
    log = gw.log()
    assert "Traceback" not in log, log[-3000:]
    assert KEY not in log, "the gateway logged its Daily API key"


@pytest.fixture
async def stub(stub_port: int) -> AsyncIterator[StubDaily]:
    server = StubDaily()
    await server.start(stub_port)
    yield server
    await server.close()


@pytest.fixture
async def client(rest_gateway: GatewayProcess) -> AsyncIterator[GatewayClient]:
    c = await GatewayClient.connect(rest_gateway.url)
    yield c
    await c.close()


def no_key_anywhere(client: GatewayClient, *texts: str) -> None:
    """Neither the given texts nor anything the gateway sent this client holds the key."""
    for text in texts:
        assert KEY not in text
    for event in client.event_log:
        assert KEY not in repr(event.data)


ROOM = {"id": "r-1", "name": "support-42", "url": "https://example.daily.co/support-42", "privacy": "private"}


async def test_create_get_delete_room_with_the_gateways_key(stub: StubDaily, client: GatewayClient) -> None:
    """Room requests reach Daily with the gateway's Bearer key and return Daily's room; no join needed."""
    stub.on("POST", "/v1/rooms", Reply(200, ROOM))
    stub.on("GET", "/v1/rooms/support-42", Reply(200, ROOM))
    stub.on("DELETE", "/v1/rooms/support-42", Reply(200, {"deleted": True, "name": "support-42"}))
    created = await client.request(
        "create-room", {"name": "support-42", "privacy": "private", "properties": {"enable_dialout": True}}
    )
    assert created == {"room": ROOM}
    assert stub.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert stub.requests[0].json == {"name": "support-42", "privacy": "private", "properties": {"enable_dialout": True}}
    assert await client.get_room("support-42") == ROOM
    assert await client.delete_room("support-42") is True
    assert [(r.method, r.target) for r in stub.requests] == [
        ("POST", "/v1/rooms"), ("GET", "/v1/rooms/support-42"), ("DELETE", "/v1/rooms/support-42"),
    ]
    no_key_anywhere(client, repr(created))


async def test_delete_of_a_missing_room_is_not_an_error(stub: StubDaily, client: GatewayClient) -> None:
    """Daily's 404 on DELETE answers deleted: false (the room is gone, as asked)."""
    stub.on("DELETE", "/v1/rooms/gone", Reply(404, {"error": "not-found", "info": "room gone not found"}))
    assert await client.request("delete-room", {"name": "gone"}) == {"name": "gone", "deleted": False}


async def test_meeting_token_defaults_its_expiry(stub: StubDaily, client: GatewayClient) -> None:
    """create-meeting-token passes the properties through and adds exp = now + expiry_s when absent."""
    stub.on("POST", "/v1/meeting-tokens", Reply(200, {"token": "tok-123"}))
    before = time.time()
    token = await client.create_meeting_token({"room_name": "support-42", "is_owner": True}, expiry_s=600)
    assert token == "tok-123"
    props = stub.requests[0].json["properties"]
    assert props["room_name"] == "support-42" and props["is_owner"] is True
    assert before + 600 - 2 <= props["exp"] <= time.time() + 600 + 2
    await client.request("create-meeting-token", {"properties": {"room_name": "x", "exp": 1234}})
    assert stub.requests[1].json["properties"]["exp"] == 1234


@pytest.mark.parametrize(
    ("status", "rtype", "params", "code"),
    [
        (404, "get-room", {"name": "nope"}, "not_found"),
        (400, "create-room", {"properties": {"bogus": 1}}, "invalid_params"),
        (401, "get-room", {"name": "nope"}, "backend_error"),
        (429, "get-room", {"name": "nope"}, "rate_limited"),
        (500, "create-meeting-token", {"properties": {"room_name": "r"}}, "backend_error"),
        (503, "get-room", {"name": "nope"}, "backend_error"),
    ],
)
async def test_daily_errors_become_typed_errors(
    stub: StubDaily, client: GatewayClient, status: int, rtype: str, params: dict, code: str
) -> None:
    """Each HTTP failure class of Daily maps to one protocol code, with rest_code and status in details."""
    target = {"get-room": "/v1/rooms/nope", "create-room": "/v1/rooms", "create-meeting-token": "/v1/meeting-tokens"}[rtype]
    method = "GET" if rtype == "get-room" else "POST"
    stub.on(method, target, Reply(status, {"error": "some-error", "info": "what Daily said"}, headers={"Retry-After": "7"}))
    with pytest.raises(GatewayError) as caught:
        await client.request(rtype, params)
    error = caught.value
    assert error.code == code, error
    assert error.details["status"] == status and error.details["rest_code"].startswith("rest_")
    assert error.details["daily_error"] == "some-error"
    if status == 429:
        assert error.details["retry_after_s"] == 7
    await client.request("ping")  # the session lives on


async def test_no_answer_in_time_is_timeout(stub: StubDaily, client: GatewayClient) -> None:
    """A Daily that never answers gives timeout after timeout_ms, and the session lives on."""
    stub.on("GET", "/v1/rooms/slow", Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(GatewayError) as caught:
        await client.request("get-room", {"name": "slow", "timeout_ms": 300}, timeout=10)
    assert caught.value.code == "timeout" and caught.value.details["rest_code"] == "rest_timeout"
    assert time.monotonic() - started < 8
    await client.request("ping")


async def test_key_echoed_by_a_proxy_is_redacted(stub: StubDaily, client: GatewayClient) -> None:
    """An error answer that reflects the Authorization header reaches the client without the key."""
    stub.on("GET", "/v1/rooms/echo", Reply(400, echo_auth=True))
    with pytest.raises(GatewayError) as caught:
        await client.get_room("echo")
    assert caught.value.code == "invalid_params"
    no_key_anywhere(client, caught.value.message, repr(caught.value.details))
    assert "<redacted>" in caught.value.message


async def test_the_gateway_log_never_holds_the_key(stub: StubDaily, client: GatewayClient, rest_gateway) -> None:
    """After successes and failures (a proxy echoing the key included), the gateway's debug log has no key."""
    stub.on("POST", "/v1/rooms", Reply(200, ROOM))
    stub.on("GET", "/v1/rooms/echo", Reply(500, echo_auth=True))
    await client.create_room("support-42")
    with pytest.raises(GatewayError):
        await client.get_room("echo")
    with pytest.raises(GatewayError):
        await client.get_room("unrouted")
    log = rest_gateway.log()
    assert "create-room" in log, "the gateway's debug log is not being captured"
    assert KEY not in log


async def test_bad_room_names_are_refused_before_any_call(stub: StubDaily, client: GatewayClient) -> None:
    """A room name with '/' or '..' is invalid_params from the schema; nothing is sent to Daily."""
    for name in ("a/b", "..", ""):
        with pytest.raises(GatewayError) as caught:
            await client.request("get-room", {"name": name})
        assert caught.value.code == "invalid_params" and caught.value.details["field"] == "name"
    assert stub.requests == []


async def test_without_a_key_the_requests_are_not_supported() -> None:
    """A gateway with no Daily API key answers the REST requests with not_supported, naming the setting."""
    gw = start_gateway(name="gateway-nokey", env={"DAILY_API_KEY": "", "GATEWAY_DAILY_API_KEY": ""})
    try:
        client = await GatewayClient.connect(gw.url)
        try:
            for rtype, params in (("create-room", {}), ("get-room", {"name": "x"}), ("delete-room", {"name": "x"}),
                                  ("create-meeting-token", {"properties": {}})):
                with pytest.raises(GatewayError) as caught:
                    await client.request(rtype, params)
                assert caught.value.code == "not_supported" and caught.value.details == {"config": "daily_api_key"}
        finally:
            await client.close()
    finally:
        assert gw.stop() == 0
