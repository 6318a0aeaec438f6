"""Test-only fault injection for local rooms: off unless ``GATEWAY_TEST_FAULTS=1``.

The gateway's fault handling (PROTOCOL.md, "Backend faults") is proved end to end
in a real process (tests/e2e/test_faults.py, tests/e2e/test_shutdown.py). A local
room does not fail by itself, so with the variable set, a room whose name starts with
``fault-<kind>-`` misbehaves in one way:

- ``fault-join-error-*``: ``join`` raises a plain exception after the participant
  entered the room (a backend exception mid-join);
- ``fault-join-hang-*``: ``join`` never completes, after entering the room (``join_timeout``);
- ``fault-leave-hang-*``: ``leave`` never completes (``shutdown_timeout``, a second signal);
- ``fault-deliver-error-*``: handing an ``app-message`` to a participant raises (an
  exception in a listener callback, in the middle of the room's fan-out);
- ``fault-drop-*``: :data:`DROP_AFTER_S` after joining, the backend loses the
  participant: ``network-connection-status-updated`` (interrupted), an ``error`` event
  (``backend_error``), then ``left`` with reason ``error``;
- ``fault-recording-crash-*``: a recording's clock task dies with an exception after
  :data:`RECORDING_CRASH_AFTER_S` (a backend task dying);
- ``fault-phone-crash-*``: the built-in test phone's task dies just after it answers a dial-out.

Never set the variable in production: anyone who may name a room could trigger these.
"""

from __future__ import annotations

import os

ENV = "GATEWAY_TEST_FAULTS"
"""The environment variable that enables fault injection (``1``)."""
DROP_AFTER_S = 0.3
"""How long a ``fault-drop-*`` participant stays before the backend loses it."""
RECORDING_CRASH_AFTER_S = 0.5
"""How long a ``fault-recording-crash-*`` recording runs before its task dies."""

KINDS = ("join-error", "join-hang", "leave-hang", "deliver-error", "drop", "recording-crash", "phone-crash")


class InjectedFault(RuntimeError):
    """The exception an injected fault raises: a stand-in for any unexpected backend failure."""


def enabled() -> bool:
    return os.environ.get(ENV, "").strip() in ("1", "true", "yes", "on")


def fault_of(room_name: str) -> str | None:
    """The fault a room injects (one of :data:`KINDS`), or None (always None when disabled)."""
    if not room_name.startswith("fault-") or not enabled():
        return None
    rest = room_name[len("fault-"):]
    return next((kind for kind in KINDS if rest == kind or rest.startswith(kind + "-")), None)
