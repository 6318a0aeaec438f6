"""Exactly one reply per request, and no gap in ``seq``, even when a handler's result or an event cannot be encoded."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from websockets.server import ServerProtocol

from gateway.admission import Admission
from gateway.backends.registry import BackendRegistry
from gateway.config import Config
from gateway.handlers import HANDLERS
from gateway.metrics import GatewayMetrics
from gateway.net.connection import GatewayConnection
from gateway.session import Session
from gateway.session.link import Link


def nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def make_link() -> Link:
    """A link on a connection that never opened, serving a fresh session; requests are admitted as on an open gateway.

    The session is not attached to the connection: what it sends stays in its replay buffer.
    """
    gateway = SimpleNamespace(config=Config(), cluster=None,
                              gatekeeper=SimpleNamespace(check_request=lambda session, rtype, params: None),
                              backends=BackendRegistry([]))
    gateway.metrics = GatewayMetrics(gateway)  # type: ignore[arg-type]
    ws = GatewayConnection(ServerProtocol(), SimpleNamespace())  # type: ignore[arg-type]
    link = Link(gateway, ws, Session(gateway, Admission()))  # type: ignore[arg-type]
    link.session.link = link
    return link


def frames(session: Session) -> list[dict[str, Any]]:
    return [orjson.loads(f) for f in session.outbox.replay.since(0)]


@pytest.fixture
def broken_ping() -> Iterator[dict[str, Any]]:
    """``ping`` replaced (for one test) by a handler whose result is whatever the test puts in ``result``."""
    holder: dict[str, Any] = {"result": {}}
    original = HANDLERS["ping"]

    async def ping(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
        return holder["result"]  # type: ignore[no-any-return]

    HANDLERS["ping"] = dataclasses.replace(original, run=ping)
    yield holder
    HANDLERS["ping"] = original


@pytest.mark.parametrize("result", [{"deep": nested(300)}, {"not_json": {1, 2}}], ids=["too-deep", "a-set"])
async def test_a_result_that_cannot_be_encoded_is_answered_internal(broken_ping, result):
    """A handler result the encoder refuses gets one internal reply with the request's id; seq stays gapless."""
    link = make_link()
    session = link.session
    broken_ping["result"] = result
    link.on_message('{"type": "ping", "id": "p1"}')
    await asyncio.sleep(0.05)
    broken_ping["result"] = {"fine": True}
    link.on_message('{"type": "ping", "id": "p2"}')
    await asyncio.sleep(0.05)
    replies = [f for f in frames(session) if f["type"] == "reply"]
    assert [(r["id"], r["ok"]) for r in replies] == [("p1", False), ("p2", True)]
    assert replies[0]["error"]["code"] == "internal" and "ping" in replies[0]["error"]["message"]
    seqs = [f["seq"] for f in frames(session)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_an_event_that_cannot_be_encoded_leaves_no_seq_gap():
    """An event whose data the encoder refuses becomes an error event; the frames keep consecutive seq numbers."""
    session = make_link().session
    session.on_event("app-message", {"data": nested(300), "from": "p"})
    session.on_event("app-message", {"data": 1, "from": "p"})
    got = frames(session)
    assert [f.get("event") for f in got] == ["error", "app-message"]
    assert [f["seq"] for f in got] == [1, 2]
