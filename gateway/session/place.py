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

from protocol.errors import CommandError, ErrorCode, InvalidParams, ProtocolError

from ..backends.base import AudioFormat, JoinOptions, Observation, Transport
from ..backends.capabilities import RoomObserving, RoomState, Transcription, require
from ..media.filters import filter_from_request
from ..media.playout import AudioPlayout, PlayoutOptions
from ..media.vad import vad_from_request
from .record import sample_network
from .state import SessionState
from .watch import SessionWatch

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
    try:
        data = await _join(session, params)
    except Exception:
        session.gateway.metrics.joined(_backend_name(session, params.get("room_url"), params.get("backend")), False)
        raise
    session.gateway.metrics.joined(_backend_name(session, params.get("room_url"), params.get("backend")), True)
    return data


def _backend_name(session: Session, room_url: str | None, backend: str | None) -> str:
    """The backend a request's room URL resolves to, for metrics (``none`` when it resolves to none)."""
    if room_url is None:
        return "none"
    try:
        return session.gateway.backends.for_room(room_url, backend).name
    except ProtocolError:
        return "none"


async def _join(session: Session, params: dict[str, Any]) -> dict[str, Any]:
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
            on_event=session.turn_log.playout_event,
        )
        session.playout.start()
    if params["levels_interval_ms"] > 0:
        session.requests.spawn(session.receiver.levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
    session.gateway.session_joined(session)
    session.gateway.session_placed(session, "join", params, options.room_url, backend.name)
    session.turn_log.reset()
    session.record.started("participant", options.room_url, transport.backend, data.get("participant_id"),
                           options.user_name)
    session.room_event("joined", data)
    session.record.event("joined", data)
    if transport.backend == "local" and isinstance(transport, RoomState):  # Daily sends network-stats-updated itself
        session.requests.spawn_quietly(sample_network(session, transport))
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
    """Attach read-only to a room, or to a session's transport (PROTOCOL.md, "observe"); the result is the room's snapshot.

    Nothing is awaited between attaching and returning, so the reply's seq comes before
    every event of the room the observer then receives.

    Raises:
        CommandError: ``already_joined``, ``wrong_state``, ``invalid_params`` (not exactly one target),
            ``not_found`` (no such session to watch; a Daily room with no session of this gateway in it),
            ``not_joined`` (the session is in no room), or the backend's error.
    """
    target = "session" if "session_id" in params else "room"
    try:
        result = await _observe(session, params)
    except Exception:
        backend = _backend_name(session, params.get("room_url"), params.get("backend"))
        session.gateway.metrics.observed(backend, target, False)
        raise
    session.gateway.metrics.observed(result["backend"], target, True)
    return result


async def _observe(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    if session.state in (SessionState.JOINING, SessionState.JOINED):
        raise CommandError(ErrorCode.ALREADY_JOINED, "this session joined a room; a session either joins or observes")
    if session.state is not SessionState.OPEN:
        raise CommandError(ErrorCode.WRONG_STATE, f"cannot observe in state {session.state.value}; open a new connection")
    room_url, session_id = params.get("room_url"), params.get("session_id")
    if (room_url is None) == (session_id is None):
        raise InvalidParams("observe takes exactly one of room_url (a room) and session_id (a session's transport)",
                            details={"field": "session_id" if session_id is not None else "room_url"})
    backend = session.gateway.backends.for_room(room_url, params.get("backend")) if room_url is not None else None
    audio_in, vad, mode = params["audio_in"], params["vad"], params["audio"]
    session.state = SessionState.JOINING  # a second observe or join meanwhile is refused
    try:
        vad_params = await vad_from_request(vad, native_sdk=daily_sdk(session.config.daily_sdk)) if mode != "none" else None
        observation: Observation
        if session_id is not None:
            observation = SessionWatch(watched_session(session, session_id), session)
        elif isinstance(backend, RoomObserving):
            observation = await backend.observe(room_url, session)
        else:
            assert backend is not None and room_url is not None
            observation = SessionWatch(session_in_room(session, backend.name, room_url, audio=mode != "none"), session)
    except BaseException:
        session.state = SessionState.OPEN
        raise
    session.observation = observation
    audio = AudioFormat(audio_in["sample_rate"], audio_in["channels"]) if mode != "none" else None
    session.receiver.configure(audio, audio_in["frame_ms"], vad_params, None, analysis_only=mode != "frames")
    session.state = SessionState.OBSERVING
    if mode != "none" and params["levels_interval_ms"] > 0:
        session.requests.spawn(session.receiver.levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
    result: dict[str, Any] = {"room_url": observation.room_url, "backend": observation.backend or (backend.name if backend else ""),
                              "participants": observation.participants()}
    session.gateway.session_placed(session, "observe", params, observation.room_url, result["backend"])
    session.turn_log.reset()
    session.record.started("observer", result["room_url"], result["backend"], None, None)
    if isinstance(observation, SessionWatch):
        result["session_id"] = observation.bot.id
        result["participant_id"] = observation.participant_id
        log.info("= %s watching session %s in %s (audio: %s)", session.id[:8], observation.bot.id[:8],
                 observation.room_url, mode)
    else:
        log.info("= %s observing %s (audio: %s)", session.id[:8], observation.room_url, mode)
    session.record.event("observing", {k: result[k] for k in ("room_url", "backend", "session_id") if k in result})
    return result


def watched_session(session: Session, session_id: str) -> Session:
    """The session ``session`` may watch by id: in a room, and the watcher an admin or scoped to that room.

    Anything else is ``not_found`` in the same words whether the session exists or not, so a credential
    learns nothing of sessions outside its rooms (docs/observe.md, "Watching a bot"). An admin (or an
    open gateway) is told ``not_joined`` for a session that is in no room.

    Raises:
        CommandError: ``not_found``, ``not_joined``.
    """
    hidden = CommandError(ErrorCode.NOT_FOUND,
                          "no session with this id to watch (unknown, ended, or not in a room this credential covers)",
                          details={"field": "session_id"})
    bot = session.gateway.session_by_id(session_id)
    if bot is None or bot is session:
        raise hidden
    room = bot.transport.room_url if bot.transport is not None and bot.state is SessionState.JOINED else None
    scope = session.admission.scope
    sees_all = scope is None or scope.role == "admin"
    if not sees_all and (room is None or not scope.allows_room(room)):  # type: ignore[union-attr]
        if room is not None:
            session.gateway.metrics.auth_refused("scope_room")
        log.warning("= %s refused watching a session for %s: not found or outside its rooms", session.id[:8],
                    session.admission.name or "open session")
        raise hidden
    if room is None:
        raise CommandError(ErrorCode.NOT_JOINED, f"session {bot.id} is not in a room (state {bot.state.value})",
                           details={"field": "session_id"})
    return bot


def session_in_room(session: Session, backend: str, room_url: str, *, audio: bool) -> Session:
    """One of the gateway's sessions in ``room_url``, to observe a room of a backend that cannot observe by itself.

    Preferred: one that receives audio when the observer wants it (a bot that joined with ``audio_in``
    disabled hears nothing), then the oldest.

    Raises:
        CommandError: ``not_found`` when no session of this gateway is in the room.
    """
    inside = [s for s in session.gateway.joined
              if s is not session and s.state is SessionState.JOINED and s.transport is not None
              and s.transport.room_url == room_url and s.transport.backend == backend]
    if not inside:
        raise CommandError(
            ErrorCode.NOT_FOUND,
            f"this gateway has no session in {room_url}: {backend} rooms are observed through one of the gateway's "
            "sessions in them (join it first)",
            details={"field": "room_url"},
        )
    inside.sort(key=lambda s: (audio and s.transport is not None and s.transport.options.audio_in is None, s.started))
    return inside[0]


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
        session.playout_late_frames += session.playout.late_frames
        session.playout = None
    for watcher in list(session.watchers):  # they saw the room through this session: it is gone for them too
        watcher.on_left(cause)
    session.watchers.clear()
    try:
        await transport.leave(cause)
    except Exception:
        log.exception("leaving %s failed", transport.room_url)
    session.gateway.metrics.left(transport.backend, cause)
    session.receiver.stop_all()
    session.transport = None
    # A registered phone goes back on the hook: it may take the next call (PROTOCOL.md, "Telephony").
    session.state = SessionState.OPEN if session.phone is not None else SessionState.LEFT
    session.other_joined = False
    session.gateway.session_left(session)
    session.outbox.event("left", {"reason": cause})
    session.record.event("left", {"reason": cause})
    session.record.ended(cause)


async def _stop_observing(session: Session, cause: str) -> None:
    observation, session.observation = session.observation, None
    if observation is None:
        return
    session.state = SessionState.LEAVING
    try:
        await observation.close()
    except Exception:
        log.exception("closing the observation of %s failed", observation.room_url)
    session.gateway.metrics.left(observation.backend, cause)
    session.receiver.stop_all(video=False)
    session.state = SessionState.LEFT
    session.outbox.event("left", {"reason": cause})
    session.record.event("left", {"reason": cause})
    session.record.ended(cause)
