"""Request handlers, one module per concern, all registered in :data:`HANDLERS`.

A handler is ``async def handler(session, request_id, params) -> dict``: ``params``
are already validated against ``protocol/schema/requests/<type>.json`` with
defaults filled in; the returned dict is the reply's ``result``; a raised
``ProtocolError`` becomes an error reply. Add a request by adding its schema file
and a function decorated with ``@handler("<type>")`` in the module of its concern
(and importing that module below).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..session import Session

Handler = Callable[["Session", str, dict[str, Any]], Awaitable[dict[str, Any] | None]]

HANDLERS: dict[str, Handler] = {}
"""Request type -> handler. Every type here has a schema file."""


def handler(rtype: str) -> Callable[[Handler], Handler]:
    """Register a request handler for ``rtype``."""

    def register(fn: Handler) -> Handler:
        if rtype in HANDLERS:
            raise RuntimeError(f"two handlers for {rtype!r}")
        HANDLERS[rtype] = fn
        return fn

    return register


from . import admin as _admin  # noqa: E402,F401  (mint-token)
from . import core  # noqa: E402,F401  (registers the handlers)
from . import daily_rest as _daily_rest  # noqa: E402,F401  (create-room, get-room, delete-room, create-meeting-token)
from . import participants as _participants  # noqa: E402,F401  (remote control, inputs, publishing, subscriptions)
from . import playout as _playout  # noqa: E402,F401  (clear-audio, mark-audio, get-audio-buffer)
from . import recording as _recording  # noqa: E402,F401  (start-/stop-/update-recording)
from . import resume as _resume  # noqa: E402,F401  (resume)
from . import room_state as _room_state  # noqa: E402,F401  (participant counts, active speaker, network stats)
from . import rooms as _rooms  # noqa: E402,F401  (list-rooms, observe)
from . import telephony as _telephony  # noqa: E402,F401  (dial-out, DTMF, SIP transfer, simulated phones)
from . import transcription as _transcription  # noqa: E402,F401  (start-/stop-/update-transcription)
from . import video as _video  # noqa: E402,F401  (capture-participant-video, request-video-frame, ...)
