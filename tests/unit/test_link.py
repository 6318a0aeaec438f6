"""The link and the session it serves, without sockets: a resume moves the link, not messages between sessions."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from websockets.protocol import State

from gateway.admission import Admission
from gateway.config import Config
from gateway.session import Session, SessionState
from gateway.session.link import Link


class FakeSocket:
    """Takes every message at once and records closes (what Outbox and Link use of a connection)."""

    state = State.OPEN
    writable = True
    remote_address = ("127.0.0.1", 1)

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: list[tuple[int, str]] = []

    def write_message(self, data: bytes, *, text: bool) -> bool:
        self.sent.append(bytes(data))
        return True

    async def wait_writable(self) -> None:
        pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed.append((code, reason))


def gateway() -> Any:
    forgotten: list[Session] = []
    return SimpleNamespace(config=Config(), forgotten=forgotten, forget=forgotten.append,
                           capabilities=lambda: {})


def served(gw: Any) -> Link:
    """A fresh session, connected on its own link (its hello sent)."""
    session = Session(gw, Admission())
    link = Link(gw, FakeSocket(), session)  # type: ignore[arg-type]
    session.connect(link)
    return link


async def test_a_resume_hands_the_link_to_the_resumed_session():
    """After hand_over the link serves the resumed session, which is served by it; the fresh one is closed and forgotten."""
    gw = gateway()
    old, new = served(gw), served(gw)
    target, fresh = old.session, new.session
    target.state = SessionState.JOINED
    new.hand_over(target, target.outbox.seq, b'{"type": "reply"}')
    assert new.session is target and target.link is new and old.session is target
    assert fresh.state is SessionState.CLOSED and fresh.link is None and gw.forgotten == [fresh]
    await asyncio.sleep(0)
    assert old.ws.closed and old.ws.closed[0][0] == 4011  # the link it replaced is closed, REPLACED
    assert target.resumes == 1


async def test_messages_read_on_a_replaced_link_reach_no_session():
    """What a replaced link still reads is dropped: only the link serving a session feeds it."""
    gw = gateway()
    old, new = served(gw), served(gw)
    target = old.session
    target.state = SessionState.JOINED
    new.hand_over(target, target.outbox.seq, b"{}")
    before = target.frames_in
    old.on_message(b"\x00" * 40)
    assert target.frames_in == before
    new.on_message(b"\x00" * 40)  # a bad frame, but read: counted, answered with an error
    assert target.frames_in == before + 1


async def test_a_replaced_links_idle_close_closes_only_its_own_connection():
    """The idle watchdog of a link no longer serving its session closes that link's connection, not the session."""
    gw = gateway()
    old, new = served(gw), served(gw)
    target = old.session
    target.state = SessionState.JOINED
    new.hand_over(target, target.outbox.seq, b"{}")
    await old.close(4009, "idle")
    assert (4009, "idle") in old.ws.closed and not new.ws.closed
    assert target.state is SessionState.JOINED and target.link is new
