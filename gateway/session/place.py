"""A session's place in a room: joining as a participant, observing read-only, leaving.

PROTOCOL.md, "join", "observe", "leave" and "Session states". ``join`` and ``observe`` move
the session OPEN -> JOINING -> JOINED (or OBSERVING), and back to OPEN when they fail;
leaving ends in LEFT (OPEN for a registered phone, ready for its next call). What the
session then receives is set up here (``Session.receiver``), and what it publishes (its
playout). Cold code: once per join, not per frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode, ProtocolError

from ..backends.base import AudioFormat, JoinOptions, Transport
from ..backends.capabilities import RoomObserving, Transcription, require
from ..media.filters import filter_from_request
from ..media.playout import AudioPlayout, PlayoutOptions
from ..media.vad import vad_from_request
from .state import SessionState

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("gateway.session")

ABANDON_JOIN_TIMEOUT_S = 5.0
"""How long a failed join's clean-up leave may take."""

_CORE_JOIN_FIELDS = {
    "room_url", "backend", "token", "user_name", "user_data", "audio_in", "audio_out", "vad", "levels_interval_ms",
}
"""``join`` parameters every backend reads; the rest go to the backend as ``JoinOptions.extra``."""


def daily_sdk(spec: str) -> Callable[[], Any]:
    """What gives the native VAD analyzer daily-python (``config.daily_sdk``), loaded only when asked for."""

    def load() -> Any:
        from ..backends.daily import sdk

        return sdk.initialized(spec)

    return load


async def join(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Join the room as a participant; the result is the ``joined`` event's data (PROTOCOL.md, "join").

    Raises:
        CommandError: ``already_joined``, ``wrong_state``, ``timeout`` (``join_timeout``), or the backend's error.
    """
    if session.state in (SessionState.JOINING, SessionState.JOINED):
        raise CommandError(ErrorCode.ALREADY_JOINED, "this session already joined a room; one room per session")
    if session.state is not SessionState.OPEN:
        raise CommandError(ErrorCode.WRONG_STATE, f"cannot join in state {session.state.value}; open a new connection")
    config = session.config
    backend = session.gateway.backends.for_room(params["room_url"], params.get("backend"))
    audio_in, audio_out, vad = params["audio_in"], params["audio_out"], params["vad"]
    playout_options = PlayoutOptions.from_params(audio_out, config.max_playout_buffer_ms) if audio_out["enabled"] else None
    options = JoinOptions(
        room_url=params["room_url"],
        user_name=params["user_name"],
        token=params.get("token"),
        user_data=params.get("user_data"),
        audio_in=AudioFormat(audio_in["sample_rate"], audio_in["channels"]) if audio_in["enabled"] else None,
        audio_out=AudioFormat(audio_out["sample_rate"], audio_out["channels"]) if audio_out["enabled"] else None,
        extra={k: v for k, v in params.items() if k not in _CORE_JOIN_FIELDS},
        params=params,
    )
    session.state = SessionState.JOINING
    done = session.join_done = asyncio.get_running_loop().create_future()
    try:
        # The VAD analyzer and input filter load what they need (daily-python, models) off the loop.
        vad_params = await vad_from_request(vad, native_sdk=daily_sdk(config.daily_sdk))
        audio_filter = await filter_from_request(audio_in.get("filter")) if audio_in["enabled"] else None
    except BaseException:
        session.state = SessionState.OPEN
        done.set_result(None)
        raise
    session.receiver.configure(options.audio_in, audio_in["frame_ms"], vad_params, audio_filter)
    transport = backend.create_transport(options, session)
    session.transport = transport
    try:
        data = await asyncio.wait_for(transport.join(), config.join_timeout)
    except BaseException as exc:
        await _abandon_join(transport)
        session.transport = None
        session.state = SessionState.OPEN
        done.set_result(None)
        if isinstance(exc, asyncio.TimeoutError):
            raise CommandError(ErrorCode.TIMEOUT, f"join did not complete in {config.join_timeout:g} s") from None
        raise
    session.state = SessionState.JOINED
    done.set_result(None)
    if options.audio_out is not None and playout_options is not None:
        session.playout = AudioPlayout(
            transport.write_audio,
            flush=transport.flush_audio,
            sample_rate=options.audio_out.sample_rate,
            channels=options.audio_out.channels,
            max_buffer_ms=playout_options.max_buffer_ms,
            high_watermark_ms=playout_options.high_watermark_ms,
            low_watermark_ms=playout_options.low_watermark_ms,
            idle_grace_ms=playout_options.idle_grace_ms,
            prebuffer_ms=playout_options.prebuffer_ms,
            on_event=session.outbox.event,
        )
        session.playout.start()
    if params["levels_interval_ms"] > 0:
        session.requests.spawn(session.receiver.levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
    session.gateway.session_joined(session)
    session.gateway.session_placed(session, "join", params, options.room_url, backend.name)
    session.room_event("joined", data)
    transcription = params.get("transcription") or {}
    if transcription.get("enabled"):
        session.requests.spawn(_transcribe_from_join(session, transport, transcription.get("settings")),
                               "transcription-at-join")
    log.info("= %s joined %s as %s", session.id[:8], options.room_url, data.get("participant_id"))
    return data


async def _abandon_join(transport: Transport) -> None:
    """After a failed, timed-out or cancelled join: leave whatever part of the room the transport reached.

    A backend may fail after its participant entered the room; without this the room would
    keep a participant no session controls. Bounded and best effort: it never raises.
    """
    try:
        # "disconnected": the room saw it join, and sees it go without a leave (participant-left cause).
        await asyncio.wait_for(transport.leave("disconnected"), ABANDON_JOIN_TIMEOUT_S)
    except Exception:  # includes the timeout; CancelledError (the session ending) propagates
        log.exception("leaving %s after a failed join failed", transport.room_url)


async def _transcribe_from_join(session: Session, transport: Transport, settings: dict[str, Any] | None) -> None:
    """``join.transcription``: start it as ``start-transcription`` would, after ``joined``.

    A failure is an ``error`` event, not a failed join; ``details.request`` says which
    request it stands for (PROTOCOL.md, "Join parameters of Daily's transport").
    """
    from ..handlers.transcription import start_transcription  # the request's own code, not a copy

    try:
        await start_transcription(session, require(transport, Transcription, transport.backend), settings)
    except Exception as exc:
        if not isinstance(exc, ProtocolError):
            log.exception("starting transcription at join failed")
            exc = CommandError(ErrorCode.BACKEND_ERROR, f"start-transcription failed: {type(exc).__name__}: {exc}")
        error = exc.to_dict()
        error["details"] = {**exc.details, "request": "start-transcription"}
        session.outbox.event("error", error)


async def observe(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Attach to a room read-only (PROTOCOL.md, "observe"); the result is the room's snapshot.

    Nothing is awaited between attaching and returning, so the reply's seq comes before
    every event of the room the observer then receives.
    """
    if session.state in (SessionState.JOINING, SessionState.JOINED):
        raise CommandError(ErrorCode.ALREADY_JOINED, "this session joined a room; a session either joins or observes")
    if session.state is not SessionState.OPEN:
        raise CommandError(ErrorCode.WRONG_STATE, f"cannot observe in state {session.state.value}; open a new connection")
    backend = session.gateway.backends.for_room(params["room_url"], params.get("backend"))
    audio_in, vad, mode = params["audio_in"], params["vad"], params["audio"]
    session.state = SessionState.JOINING  # a second observe or join meanwhile is refused
    try:
        vad_params = await vad_from_request(vad, native_sdk=daily_sdk(session.config.daily_sdk)) if mode != "none" else None
        observation = await require(backend, RoomObserving, backend.name).observe(params["room_url"], session)
    except BaseException:
        session.state = SessionState.OPEN
        raise
    session.observation = observation
    audio = AudioFormat(audio_in["sample_rate"], audio_in["channels"]) if mode != "none" else None
    session.receiver.configure(audio, audio_in["frame_ms"], vad_params, None, analysis_only=mode != "frames")
    session.state = SessionState.OBSERVING
    session.gateway.session_placed(session, "observe", params, observation.room_url, backend.name)
    if mode != "none" and params["levels_interval_ms"] > 0:
        session.requests.spawn(session.receiver.levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
    log.info("= %s observing %s (audio: %s)", session.id[:8], observation.room_url, mode)
    return {"room_url": observation.room_url, "backend": backend.name, "participants": observation.participants()}


async def leave(session: Session, cause: str = "left") -> None:
    """The ``leave`` request: stop observing, or leave the room (after a join in progress).

    Raises:
        CommandError: ``not_joined``.
    """
    if session.state is SessionState.OBSERVING:
        await _stop_observing(session, cause)
        return
    if session.state is SessionState.JOINING:
        await session.require_room(wait=True)
    if session.state is not SessionState.JOINED:
        raise CommandError(ErrorCode.NOT_JOINED, "not in a room")
    await leave_room(session, cause)


async def leave_room(session: Session, cause: str) -> None:
    """Leave if joined or observing (idempotent): stop playout, close tracks, tell the client ``left``."""
    if session.observation is not None:
        await _stop_observing(session, cause)
        return
    transport = session.transport
    if transport is None or session.state not in (SessionState.JOINED, SessionState.JOINING):
        return
    session.state = SessionState.LEAVING
    if session.playout is not None:
        await session.playout.stop()
        session.playout = None
    try:
        await transport.leave(cause)
    except Exception:
        log.exception("leaving %s failed", transport.room_url)
    session.receiver.stop_all()
    session.transport = None
    # A registered phone goes back on the hook: it may take the next call (PROTOCOL.md, "Telephony").
    session.state = SessionState.OPEN if session.phone is not None else SessionState.LEFT
    session.other_joined = False
    session.gateway.session_left(session)
    session.outbox.event("left", {"reason": cause})


async def _stop_observing(session: Session, cause: str) -> None:
    observation, session.observation = session.observation, None
    if observation is None:
        return
    session.state = SessionState.LEAVING
    try:
        await observation.close()
    except Exception:
        log.exception("closing the observation of %s failed", observation.room_url)
    session.receiver.stop_all(video=False)
    session.state = SessionState.LEFT
    session.outbox.event("left", {"reason": cause})
