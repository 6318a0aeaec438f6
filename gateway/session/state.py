"""A session's state (PROTOCOL.md, "Session states").

::

    OPEN --join--> JOINING --ok--> JOINED --leave/ejected/error--> LEFT
              ^        |
              +--fail--+                       any state --connection lost--> CLOSED
    OPEN --observe--> OBSERVING --leave--> LEFT      (read-only: not a participant)

A JOINED or OBSERVING session whose connection drops is *detached* (no link) for
``resume_grace_ms``, still in its room; that is not a state of its own: ``get-stats`` of
the connection that resumes it reports JOINED or OBSERVING.
"""

from __future__ import annotations

import enum


class SessionState(enum.Enum):
    OPEN = "open"
    JOINING = "joining"
    JOINED = "joined"
    OBSERVING = "observing"
    LEAVING = "leaving"
    LEFT = "left"
    CLOSED = "closed"
