"""Publishing audio (PROTOCOL.md 5.3): clear-audio (barge-in), mark-audio, get-audio-buffer.

PROTOCOL.md, "Publishing audio: pacing, clear and marks".

These act on the playout at the exact point of the stream where they arrive:
a mark placed between two binary frames sits between their audio, and a clear
sent before new audio must not drop that audio. A request task would start only
after the session had read on, possibly past later binary frames, so these are
plain functions marked ``in_order`` (``@handler(..., in_order=True)``): the session runs them synchronously
when it reads them (they never wait) and queues the reply at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..session.state import SessionState
from . import handler

if TYPE_CHECKING:
    from ..media.playout import AudioPlayout
    from ..session import Session

def _playout(session: Session) -> AudioPlayout:
    if session.state is not SessionState.JOINED or session.transport is None:
        raise CommandError(ErrorCode.NOT_JOINED, "join a room before controlling published audio")
    if session.playout is None:
        raise CommandError(ErrorCode.WRONG_STATE, "audio_out was disabled at join")
    return session.playout


@handler("clear-audio", in_order=True)
def clear_audio(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return _playout(session).clear()


@handler("mark-audio", in_order=True)
def mark_audio(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return _playout(session).mark(params["name"])


@handler("get-audio-buffer", in_order=True)
def get_audio_buffer(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return _playout(session).snapshot()
