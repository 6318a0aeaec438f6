"""Resume tells which requests are still running (PROTOCOL.md, "Resume"), so a client resends only those lost in the drop."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets

from protocol.constants import SUBPROTOCOL
from tests.fakes.daily_remote import daily_fixtures

daily_gateway, daily = daily_fixtures()


async def frames_until(ws: Any, match, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Text frames read until one matches (included), within ``timeout``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        if isinstance(raw, bytes):
            continue
        frame = json.loads(raw)
        seen.append(frame)
        if match(frame):
            return seen


async def test_a_request_running_at_the_drop_is_listed_and_answered_once_after_the_resume(daily):
    """A request still running when the connection drops is in the resume result's `running`; its reply comes once, live."""
    client, fake, _ = await daily.join_with()
    await fake.script(delays={"send_app_message": 1.0})
    await client.ws.send(json.dumps({"type": "send-app-message", "id": "slow-1", "message": {"n": 1}}))
    await fake.wait_call("send_app_message")  # the gateway read it and daily-python is sending
    token, last_seq = client.resume_token, client.last_seq
    client.ws.transport.abort()  # the TCP connection dies: no close frame
    async with websockets.connect(daily.url, subprotocols=[SUBPROTOCOL]) as ws:
        json.loads(await ws.recv())  # this connection's hello
        await ws.send(json.dumps({"type": "resume", "id": "res", "resume_token": token, "last_seq": last_seq}))
        resumed = (await frames_until(ws, lambda f: f.get("id") == "res"))[-1]
        assert resumed["ok"], resumed
        assert resumed["result"]["running"] == ["slow-1"]
        answered = await frames_until(ws, lambda f: f.get("id") == "slow-1")
        assert answered[-1]["ok"] is True
        await ws.send(json.dumps({"type": "ping", "id": "after"}))
        later = await frames_until(ws, lambda f: f.get("id") == "after")
        assert not [f for f in later if f.get("id") == "slow-1"], "the reply came twice"
    assert [m["message"] for m in await fake.app_messages()] == [{"n": 1}], "the request ran twice"


async def test_nothing_running_at_the_drop_gives_an_empty_list(daily):
    """When every request was answered before the drop, `running` is empty: nothing to wait for, nothing to resend."""
    client, _, _ = await daily.join_with()
    await client.send_app_message({"n": 2})
    token, last_seq = client.resume_token, client.last_seq
    client.ws.transport.abort()
    async with websockets.connect(daily.url, subprotocols=[SUBPROTOCOL]) as ws:
        json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "resume", "id": "res", "resume_token": token, "last_seq": last_seq}))
        resumed = (await frames_until(ws, lambda f: f.get("id") == "res"))[-1]
        assert resumed["ok"] and resumed["result"]["running"] == []


async def test_python_client_resends_a_request_lost_in_the_drop(connect, room):
    """A request written to a socket that just died (before the client noticed) is sent again after the resume and answered."""
    client = await connect(auto_resume=True)
    await client.join(room)
    transport = client.ws.transport
    transport.write = lambda data: None  # the path died: what the client writes from now on never arrives
    asking = asyncio.create_task(client.request("get-participants", timeout=10))
    await asyncio.sleep(0.3)
    assert not asking.done()
    transport.abort()  # the client notices the drop only now, after the request was sent
    result = await asyncio.wait_for(asking, 15)
    assert client.participant_id in result["participants"]
    assert len(client.resumes) == 1 and client.resumes[0]["running"] == []


async def test_python_client_does_not_resend_a_request_still_running(daily):
    """A request listed in `running` is not sent again by the Python client: it runs once and is answered once."""
    client = await daily.connect()
    client.auto_resume = True
    _, fake = await daily.join(client)
    await fake.script(delays={"send_app_message": 1.0})
    sending = asyncio.create_task(client.send_app_message({"n": 3}))
    await fake.wait_call("send_app_message")
    client.ws.transport.abort()
    await asyncio.wait_for(sending, 15)
    assert client.resumes[0]["running"] and len(client.resumes) == 1
    assert [m["message"] for m in await fake.app_messages()] == [{"n": 3}], "the request ran twice"
