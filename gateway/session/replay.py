"""Session resume: the replay buffer, resume tokens and why a connection ended (PROTOCOL.md, "Resume").

A session (room place, ``seq``, outbox, replay buffer) outlives its connection: when
the WebSocket drops without the client meaning it, the session is *detached* for
``resume_grace_ms`` and a new connection may take it over with ``resume``. Every
text frame the session sends is kept here, newest last, within two bounds
(``replay_buffer_events`` frames and ``replay_buffer_bytes`` bytes), so that a
resume can send again exactly the frames after the client's ``last_seq``.
"""

from __future__ import annotations

import collections
import hmac
import secrets
from typing import Protocol

from websockets.protocol import Protocol as WebSocketProtocol

from protocol.constants import CloseCode


class Closed(Protocol):
    """A connection, as far as how it ended goes: its websockets sans-I/O protocol."""

    @property
    def protocol(self) -> WebSocketProtocol: ...


class ReplayBuffer:
    """The last text frames of a session, by ``seq``; the oldest go first when a bound is passed."""

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.max_events = max(1, max_events)
        self.max_bytes = max(1, max_bytes)
        self._frames: collections.deque[tuple[int, bytes]] = collections.deque()
        self._bytes = 0
        self.evicted = 0
        """Frames pushed out by the bounds (a resume from before them fails with ``replay_gap``)."""

    def append(self, seq: int, frame: bytes) -> None:
        # orjson returns its bytes in a ~4 KB allocation whatever the length; kept here for a
        # resume, a 100-byte event would cost 4 KB (4 MB per session at 1024 events: the soak
        # test's memory growth). An exact-size copy costs one small memcpy per text frame.
        frame = bytes(memoryview(frame))
        self._frames.append((seq, frame))
        self._bytes += len(frame)
        # The newest frame always stays, even alone over max_bytes: losing it would make any resume fail.
        while len(self._frames) > 1 and (len(self._frames) > self.max_events or self._bytes > self.max_bytes):
            _, old = self._frames.popleft()
            self._bytes -= len(old)
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def first_seq(self) -> int | None:
        """The oldest ``seq`` held, or None when empty."""
        return self._frames[0][0] if self._frames else None

    def covers(self, last_seq: int, current_seq: int) -> bool:
        """Whether every frame with ``last_seq < seq <= current_seq`` is held (trivially when none is missing)."""
        if last_seq >= current_seq:
            return True
        first = self.first_seq
        return first is not None and first <= last_seq + 1

    def since(self, last_seq: int) -> list[bytes]:
        """The frames with ``seq > last_seq``, oldest first."""
        return [frame for seq, frame in self._frames if seq > last_seq]


def new_token(session_id: str) -> str:
    """An opaque resume token: the session id (to find the session) and 256 random bits (to prove it)."""
    return f"{session_id}.{secrets.token_urlsafe(32)}"


def token_session_id(token: str) -> str:
    """The session id a token names ('' if it is not shaped like one of ours)."""
    return token.split(".", 1)[0] if "." in token else ""


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so that timing does not reveal how much of a token was right."""
    return hmac.compare_digest(given.encode(), expected.encode())


def ended_on_purpose(ws: Closed) -> bool:
    """Whether a closed connection ended as someone meant it, so its session must not wait for a resume.

    The client closing with 1000 (normal) or 1001 (going away, e.g. a closed tab) means it is
    done; the gateway closing means it too, except for 4010 (slow consumer) which invites a
    resume. Anything else (no close frame: 1006; another client code) is a drop.
    """
    protocol = ws.protocol
    sent, received = protocol.close_sent, protocol.close_rcvd
    if sent is not None and (received is None or not protocol.close_rcvd_then_sent):
        return sent.code != CloseCode.SLOW_CONSUMER  # the gateway closed first
    if received is not None:
        return received.code in (CloseCode.NORMAL, CloseCode.GOING_AWAY)
    return False


def close_of(ws: Closed) -> tuple[int | None, str]:
    """How a closed connection ended: the close code and who closed first (``gateway`` or ``client``).

    The code is the one the closing side sent; None when no close frame came and none was sent
    (1006, the connection dropped).
    """
    protocol = ws.protocol
    sent, received = protocol.close_sent, protocol.close_rcvd
    if sent is not None and (received is None or not protocol.close_rcvd_then_sent):
        return sent.code, "gateway"
    if received is not None:
        return received.code, "client"
    return None, "client"
