"""A client's session and the connection serving it.

- ``session.py``    Session: state, resume state (which link serves it, detached, grace), outbox, the
                    room's events and media in (TransportListener), the client's media out (publishing)
- ``link.py``       Link: one WebSocket connection: decode, rate limit, dispatch, resume hand-over
- ``requests.py``   RequestRunner: requests as tasks, exactly one reply each; background tasks
- ``membership.py`` join, observe, leave: the session's place in a room (cold code)
- ``receiver.py``   Receiver: the tracks the client receives (audio per participant source, captured video)
- ``calls.py``      the phone calls connected in the room (send-dtmf and SIP transfer without a session id)
- ``state.py``      SessionState
"""

from __future__ import annotations

from .session import Session
from .state import SessionState

__all__ = ["Session", "SessionState"]
