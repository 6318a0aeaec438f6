"""A client's session and the connection serving it (docs/ARCHITECTURE.md, "A request, from the socket to the room").

- ``link.py``       Link: one WebSocket connection: decode, rate limit, dispatch, resume hand-over (hot)
- ``session.py``    Session: state, the resume state (which link serves it, detached, grace), the room's events
                    and media in (TransportListener), the client's media out (publishing) (hot)
- ``receiver.py``   Receiver: the tracks the client receives (audio per participant source, captured video) (hot)
- ``tracks.py``     InboundTrack, VideoTrack: one participant track on its way to one client (hot)
- ``outbox.py``     everything the session sends: seq, ordering, bounded queues, replay (hot)
- ``replay.py``     the replay buffer, resume tokens, whether a close was meant
- ``requests.py``   RequestRunner: requests as tasks, exactly one reply each; background tasks
- ``place.py``      join, observe, leave: the session's place in a room (cold code)
- ``calls.py``      the phone calls connected in the room (send-dtmf and SIP transfer without a session id)
- ``state.py``      SessionState
"""

from __future__ import annotations

from .session import Session
from .state import SessionState

__all__ = ["Session", "SessionState"]
