"""Session fault guards without I/O: a listener callback or a background task that raises becomes an ``error`` event."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson

from gateway.admission import Admission
from gateway.backends.registry import BackendRegistry
from gateway.config import Config
from gateway.metrics import GatewayMetrics
from gateway.session import Session


def make_session() -> Session:
    """A session not served by any connection (call inside the running loop): what it sends stays in its replay buffer."""
    gateway = SimpleNamespace(config=Config(), backends=BackendRegistry([]))
    gateway.metrics = GatewayMetrics(gateway)  # type: ignore[arg-type]
    return Session(gateway, Admission())  # type: ignore[arg-type]


def queued_events(session: Session) -> list[dict]:
    frames = [orjson.loads(f) for f in session.outbox.replay.since(0)]
    return [f for f in frames if f["type"] == "event"]


async def test_raising_event_handler_becomes_an_error_event():
    """An event the session cannot handle (malformed backend data) is reported as error/internal, not raised into the backend."""
    session = make_session()
    session.on_event("dialout-connected", {"data": ["not", "an", "object"]})  # _track_call expects an object
    events = queued_events(session)
    assert [e["event"] for e in events] == ["error"]
    assert events[0]["data"]["code"] == "internal" and "dialout-connected" in events[0]["data"]["message"]
    session.on_event("app-message", {"message": 1, "sender": "p"})  # and the next event goes through
    assert queued_events(session)[-1]["event"] == "app-message"


async def test_dying_background_task_becomes_an_error_event():
    """A spawned task that raises sends error/internal naming the failure; a cancelled one sends nothing."""
    session = make_session()

    async def boom() -> None:
        raise ValueError("broken loop")

    session.requests.spawn(boom(), "boom")
    session.requests.spawn(asyncio.sleep(10), "sleeper")
    await asyncio.sleep(0.01)
    session.requests.cancel()
    await asyncio.sleep(0.01)
    events = queued_events(session)
    assert [e["event"] for e in events] == ["error"]
    assert events[0]["data"]["code"] == "internal" and "ValueError: broken loop" in events[0]["data"]["message"]
