"""One client connection: reads requests and media, drives one transport, relays the room.

State machine (PROTOCOL.md, "Session states")::

    OPEN --join--> JOINING --ok--> JOINED --leave/ejected/error--> LEFT
              ^        |
              +--fail--+                       any state --connection lost--> CLOSED
    OPEN --observe--> OBSERVING --leave--> LEFT      (read-only: not a participant)

A session is not its connection (PROTOCOL.md, "Resume"): when the WebSocket of a JOINED
or OBSERVING session drops, the session is *detached* (``connection`` None) for
``resume_grace_ms``, still in its room, and a new connection may take it over with
``resume``. The connection that does so forwards what it reads to that session
(``resumed``); the session's outbox writes to it.

Requests run as tasks so a slow ``join`` never delays ``ping``; requests that need a
room wait for a join in progress when that is what users expect (app messages) and
are refused with ``not_joined`` otherwise.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from protocol import constants, messages
from protocol.constants import OUTBOUND_TRACK_SOURCE, CloseCode, MediaKind, OutboundTrack
from protocol.errors import CommandError, ErrorCode, ProtocolError, TooLarge
from protocol.media import AudioFrame, VideoFrame, decode_frame, frame_position
from protocol.schema import validate_request

from . import build_info
from .backends.base import AudioFormat, JoinOptions, Observation, RawVideoFrame, Transport
from .handlers import HANDLERS
from .limits import idle_watchdog
from .media.filters import FilterSpec, filter_from_request
from .media.playout import AudioPlayout, PlayoutOptions
from .media.vad import VadParams, VadTransition, vad_from_request
from .net.connection import GatewayConnection
from .outbox import Outbox
from .resume import ended_on_purpose, new_token, token_matches, token_session_id
from .tracks import FIRST_TRACK_ID, VIDEO_QUEUE_LIMIT, InboundTrack, VideoTrack

if TYPE_CHECKING:
    from .auth import Scope
    from .handlers import Handler
    from .server import Gateway

log = logging.getLogger("gateway.session")


class SessionState(enum.Enum):
    OPEN = "open"
    JOINING = "joining"
    JOINED = "joined"
    OBSERVING = "observing"
    LEAVING = "leaving"
    LEFT = "left"
    CLOSED = "closed"


class Session:
    """A client's connection and the participant it controls."""

    def __init__(self, gateway: Gateway, ws: GatewayConnection) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.ws = ws
        self.id = str(uuid.uuid4())
        self.state = SessionState.OPEN
        self.outbox = Outbox(
            ws,
            media_limit=max(10, self.config.media_queue_ms // 10),
            replay_events=self.config.replay_buffer_events,
            replay_bytes=self.config.replay_buffer_bytes,
            max_pending=self.config.max_pending_events,
            on_overflow=self._on_slow_consumer,
        )
        self.connection: GatewayConnection | None = ws
        """The connection serving this session now: ``ws`` at first, a resuming one later, None while detached."""
        self.resume_token = new_token(self.id)
        """Secret that lets a new connection take this session over (hello ``resume_token``)."""
        self.resumed: Session | None = None
        """Set on a connection's own session when that connection resumed another session: it serves that one."""
        self.resumes = 0
        self._grace: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()
        self.transport: Transport | None = None
        self.observation: Observation | None = None
        """Set while the session observes a room (``observe``); never together with ``transport``."""
        self._observe_format: AudioFormat | None = None
        self._observe_frames = False
        self.playout: AudioPlayout | None = None
        self._join_done: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tracks: dict[tuple[str, str], InboundTrack] = {}
        self._video: dict[tuple[str, str], VideoTrack] = {}
        """Captured participant video (``capture-participant-video``), by (participant id, source)."""
        self._next_track = FIRST_TRACK_ID
        self._frame_ms = 20
        self._vad: VadParams | None = None
        self._filter: FilterSpec | None = None
        """``join.audio_in.filter``: each received track's input filter (None: unfiltered)."""
        self._other_joined = False
        self.call_sessions: list[str] = []
        self.transcribed: list[str] = []
        """Participants named by ``capture-participant-transcription``: transcription covers them once started."""
        """Session ids of the connected phone calls (``dialin-connected``, ``dialout-connected``), oldest first."""
        self.phone: Any = None
        """Set after ``register-phone`` (``gateway.phone.PhoneRegistration``): the session is a simulated phone."""
        self._errors_in_row = 0
        self._rate_window = 0.0
        self._rate_count = 0
        self.frames_in = 0
        self.bytes_in = 0
        self.requests = 0
        self.started = time.time()
        self.principal: str | None = None
        """Who connected (``key:<id>`` or ``token:<sub>``, PROTOCOL.md "Authentication"); None when auth is off."""
        self.resume_only = False
        """Admitted over ``max_sessions_per_key`` to resume a detached session of its key: nothing else."""
        self.scope: Scope | None = None
        """The principal's role, room and commands, checked on every request; None when auth is off."""
        self.last_seen = time.monotonic()
        """When the client last sent a message or a pong (``limits.idle_timeout_ms``)."""

    def __repr__(self) -> str:
        return f"<Session {self.id[:8]} {self.state.value}>"

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> None:
        """Serve the connection until it closes; then leave the room, or wait detached for a resume.

        Returns when the session is over (CLOSED), which for a detached session is when
        its grace period ends or the connection that resumed it ends for good.
        """
        ws = self.ws
        self.outbox.start()
        self.outbox.hello(
            protocol=constants.SUBPROTOCOL,
            version=constants.PROTOCOL_VERSION,
            session_id=self.id,
            resume_token=self.resume_token,
            server={"name": "daily-ws-gateway", "version": build_info.version()},
            limits=self.config.limits(),
            capabilities=self.gateway.capabilities(),
        )
        log.info("= %s connected from %s%s", self.id[:8], ws.remote_address,
                 f" as {self.principal}" if self.principal else "")
        # The watchdog belongs to the connection: a detached session has nobody to ping.
        watchdog = asyncio.create_task(
            idle_watchdog(self, self.config.idle_timeout_ms, self.config.ping_interval_ms), name="idle"
        )
        def on_message(message: str | bytes) -> None:
            self.last_seen = time.monotonic()
            target = self.resumed or self
            if target.connection is not ws:
                return  # cut off (4010) or replaced (4011): what is still read here is not the session's
            target.last_seen = self.last_seen
            if type(message) is bytes:
                target._on_binary(message)
            else:
                target._on_text(message)  # type: ignore[arg-type]

        try:
            # Messages are handled as they arrive, inside the connection's data_received
            # (gateway.net.connection): no queue and no task switch per frame.
            ws.serve(on_message)
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            if self.resumed is not None:
                await self.resumed.connection_lost(ws)
            await self.connection_lost(ws)
            await self._done.wait()

    async def close(self, code: int, reason: str, cause: str = "shutdown") -> None:
        """Leave the room, flush, and close the WebSocket with ``code`` (a detached session just ends)."""
        await self._leave_room(cause)
        connection = self.connection
        if connection is None:
            await self._finish(cause)
            return
        await self.outbox.close()
        await connection.close(code, reason)

    # ------------------------------------------------------------------ connection and resume

    @property
    def detached(self) -> bool:
        """In a room (or observing) with no connection, waiting for a resume."""
        return self.connection is None and self.state is not SessionState.CLOSED

    def _resumable(self) -> bool:
        return (
            self.config.resume_grace_ms > 0
            and self.state in (SessionState.JOINED, SessionState.OBSERVING)
            and self.phone is None
        )

    async def connection_lost(self, ws: GatewayConnection) -> None:
        """``ws`` closed: keep the session for a resume if the client did not mean to end it, else end it."""
        if self.connection is not ws or self.state is SessionState.CLOSED:
            return  # already detached (4010) or served by a newer connection (4011)
        if self._resumable() and not ended_on_purpose(ws):
            self.detach("connection lost")
            return
        await self._finish("disconnected")

    def detach(self, why: str) -> None:
        """Go on without a connection for ``resume_grace_ms``: in the room, events kept, media dropped."""
        self.connection = None
        self.outbox.detach()
        log.info("= %s detached (%s): resumable for %d ms", self.id[:8], why, self.config.resume_grace_ms)
        if self._grace is not None:
            self._grace.cancel()
        self._grace = asyncio.create_task(self._grace_period(), name="resume-grace")

    async def _grace_period(self) -> None:
        await asyncio.sleep(self.config.resume_grace_ms / 1000)
        self._grace = None
        log.info("= %s not resumed within %d ms: leaving", self.id[:8], self.config.resume_grace_ms)
        await self._finish("disconnected")

    def _on_slow_consumer(self) -> None:
        """Too many text frames wait for this client: close with 4010; they stay in the replay buffer."""
        connection = self.connection
        if connection is None or connection.state is not State.OPEN:
            return
        pending = self.outbox.text_queued
        log.warning("= %s slow consumer: %d text frames pending (max_pending_events): closing 4010", self.id[:8], pending)
        if self._resumable():
            self.detach("slow consumer")
        task = asyncio.create_task(
            connection.close(CloseCode.SLOW_CONSUMER, f"{pending} messages unread (max_pending_events); resume")
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def resume(self, rid: str, params: dict[str, Any]) -> dict[str, Any]:
        """Hand this new connection to the session named by ``resume_token`` (PROTOCOL.md, "Resume").

        The reply goes out on this connection's numbering; the frames after ``last_seq``
        follow on the resumed session's. Between the checks and the hand-over nothing
        is awaited, so the session cannot change in between.

        Raises:
            CommandError: ``wrong_state`` (not a fresh connection), ``resume_failed`` (details.reason).
        """
        if self.state is not SessionState.OPEN or self.phone is not None or self.resumed is not None:
            raise CommandError(
                ErrorCode.WRONG_STATE, f"resume only on a fresh connection (this one is {self.state.value}); open a new one"
            )
        await self.outbox.drain()  # what this connection already said (hello, errors) goes before the replay
        token, last_seq = params["resume_token"], params["last_seq"]
        target = self.gateway.session_by_id(token_session_id(token))
        if target is None or target is self or not token_matches(token, target.resume_token) \
                or not target._resumable():
            raise _resume_failed("unknown_session", "no session to resume with this token (unknown, ended, or its grace period is over); join again")
        if self.principal != target.principal:
            raise _resume_failed("principal", "the session was opened with other credentials")
        if not target.outbox.can_replay(last_seq):
            first = target.outbox.replay.first_seq
            raise _resume_failed(
                "replay_gap",
                f"cannot replay from seq {last_seq + 1}: the session is at {target.outbox.seq} and holds frames from "
                f"{first} (replay_buffer_events / replay_buffer_bytes); join again",
                first_seq=first, seq=target.outbox.seq,
            )
        result = {
            "session_id": target.id,
            "state": target.state.value,
            "last_seq": last_seq,
            "replayed": target.outbox.seq - last_seq,
            "media_dropped": target.outbox.media_dropped,
        }
        reply = self.outbox.hand_over(rid, result)
        self.resumed = target
        self.resume_only = False
        self.gateway.release_key_slot(self)  # the resumed session holds its key's slot already
        target.attach(self.ws, last_seq, reply)
        log.info("= %s resumed %s from seq %d (%d replayed)", self.id[:8], target.id[:8], last_seq, result["replayed"])
        return result

    def attach(self, ws: GatewayConnection, last_seq: int, first: bytes) -> None:
        """Serve this session on ``ws`` from now on: ``first`` (the resume reply), the frames after ``last_seq``, live."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        old, self.connection = self.connection, ws
        self.outbox.attach(ws, last_seq, first=first)
        self.resumes += 1
        if old is not None and old is not ws:
            log.info("= %s resumed on another connection: closing the old one (4011)", self.id[:8])
            task = asyncio.create_task(old.close(CloseCode.REPLACED, "the session was resumed on another connection"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _finish(self, cause: str) -> None:
        if self.state is SessionState.CLOSED:
            return
        grace, self._grace = self._grace, None
        if grace is not None and grace is not asyncio.current_task():
            grace.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.phone is not None:
            self.phone.close()
        await self._leave_room(cause)
        self.state = SessionState.CLOSED
        await self.outbox.close(flush_timeout=0.2)
        self._done.set()
        log.info("= %s closed", self.id[:8])

    # ------------------------------------------------------------------ incoming text

    def _on_text(self, data: str) -> None:
        try:
            request = messages.decode_request(data, max_bytes=self.config.max_message_bytes)
        except ProtocolError as exc:
            self._protocol_error(exc)
            return
        if self._rate_limited():
            self._protocol_error(
                CommandError(
                    ErrorCode.RATE_LIMITED,
                    f"more than {self.config.max_requests_per_second} requests per second",
                    request_id=request.id,
                )
            )
            return
        handler = HANDLERS.get(request.type)
        try:
            params = validate_request(request, limits=self.config.limits())
            if handler is None:
                raise CommandError(ErrorCode.NOT_SUPPORTED, f"{request.type} is not implemented by this gateway")
        except ProtocolError as exc:
            exc.request_id = request.id
            self._protocol_error(exc)
            return
        self._errors_in_row = 0
        self.requests += 1
        log.debug("< %s %s %s", self.id[:8], request.type, request.id)
        try:
            self.gateway.admit_request(self, request.type, params)  # scope and max_rooms: a reply, not a protocol error
        except ProtocolError as exc:
            self._request_failed(request.type, request.id, exc)
            return
        if getattr(handler, "in_order", False):
            # clear-audio, mark-audio...: act between the binary frames read before and after them.
            self._run_in_order(handler, request.type, request.id, params)
            return
        task = asyncio.create_task(self._run_request(handler, request.type, request.id, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_request(self, handler: Handler, rtype: str, rid: str, params: dict[str, Any]) -> None:
        try:
            result = await handler(self, rid, params)
        except Exception as exc:  # CancelledError is a BaseException: it propagates
            self._request_failed(rtype, rid, exc)
            return
        if self.resumed is None:  # a resume's reply went out with the hand-over
            self.outbox.result(rid, result)

    def _run_in_order(self, handler: Any, rtype: str, rid: str, params: dict[str, Any]) -> None:
        """Run a synchronous handler now: a task would start only after later frames were read."""
        try:
            result = handler(self, rid, params)
        except Exception as exc:
            self._request_failed(rtype, rid, exc)
            return
        self.outbox.result(rid, result)

    def _request_failed(self, rtype: str, rid: str, exc: Exception) -> None:
        """The one error reply of a request: its typed error, or ``internal`` for a bug (logged)."""
        if not isinstance(exc, ProtocolError):
            log.exception("request %s failed", rtype, exc_info=exc)
            exc = CommandError(ErrorCode.INTERNAL, f"{rtype} failed: {type(exc).__name__}: {exc}")
        exc.request_id = rid
        self.outbox.failure(rid, exc)

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        if now - self._rate_window >= 1.0:
            self._rate_window, self._rate_count = now, 0
        self._rate_count += 1
        return self._rate_count > self.config.max_requests_per_second

    def _protocol_error(self, exc: ProtocolError) -> None:
        """Answer a bad message; close with 4002 after too many in a row (that last error is ``fatal``)."""
        self._errors_in_row += 1
        closing = self._errors_in_row >= self.config.max_consecutive_errors
        exc.fatal = exc.fatal or closing
        if exc.request_id is not None:
            self.outbox.failure(exc.request_id, exc)
        else:
            self.outbox.error(exc)
        if closing and self._errors_in_row == self.config.max_consecutive_errors:
            log.warning("= %s closed after %d protocol errors in a row", self.id[:8], self._errors_in_row)
            task = asyncio.create_task(
                self.close(CloseCode.PROTOCOL_VIOLATION, "too many protocol errors in a row", cause="disconnected")
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ incoming media

    def _on_binary(self, data: bytes) -> None:
        self.frames_in += 1
        self.bytes_in += len(data)
        try:
            if len(data) > self.config.max_frame_bytes:
                raise TooLarge(
                    f"binary frame of {len(data)} bytes exceeds max_frame_bytes {self.config.max_frame_bytes}",
                    details=frame_position(data),
                )
            frame = decode_frame(data)
            if frame.track not in OutboundTrack._value2member_map_:
                raise CommandError(
                    ErrorCode.UNKNOWN_TRACK,
                    f"track {frame.track} is not a publishing track (1 = microphone, 2 = camera, 3 = screenVideo, 4 = screenAudio)",
                    details={"track": frame.track, "seq": frame.seq},
                )
            if isinstance(frame, AudioFrame) and frame.track == OutboundTrack.MICROPHONE:
                self._publish_audio(frame)
            elif isinstance(frame, VideoFrame) and frame.track in (OutboundTrack.CAMERA, OutboundTrack.SCREEN_VIDEO):
                self._publish_video(frame)
            else:
                raise CommandError(
                    ErrorCode.NOT_SUPPORTED,
                    f"publishing {MediaKind(2 if not isinstance(frame, AudioFrame) else 1).name.lower()} "
                    f"on track {frame.track} is not supported (audio on 1, video on 2 and 3)",
                    details={"track": frame.track, "seq": frame.seq},
                )
        except ProtocolError as exc:
            self._protocol_error(exc)
            return
        self._errors_in_row = 0

    def _publish_audio(self, frame: AudioFrame) -> None:
        playout = self.playout
        if (
            playout is None
            or self.state is not SessionState.JOINED
            or self.transport is None
            or frame.sample_rate != playout.sample_rate
            or frame.channels != playout.channels
        ):
            raise self._audio_refused(frame)
        try:
            playout.push(frame.payload)
        except CommandError as exc:
            if exc.code is not ErrorCode.BUFFER_FULL:
                raise
            # Flow control, not a broken client: reported for every refused frame, but not
            # counted towards max_consecutive_errors (PROTOCOL.md, "Publishing audio").
            exc.details.update({"track": frame.track, "seq": frame.seq})
            self.outbox.error(exc)

    def _audio_refused(self, frame: AudioFrame) -> CommandError:
        """Why a published audio frame cannot be played (built only then: the per-frame path checks first)."""
        where = {"track": frame.track, "seq": frame.seq}
        if self.state is not SessionState.JOINED or self.transport is None:
            return CommandError(ErrorCode.NOT_JOINED, "join a room before sending audio", details=where)
        if self.playout is None:
            return CommandError(ErrorCode.WRONG_STATE, "audio_out was disabled at join", details=where)
        return CommandError(
            ErrorCode.FORMAT_MISMATCH,
            f"frame is {frame.sample_rate} Hz x{frame.channels} but audio_out was negotiated as "
            f"{self.playout.sample_rate} Hz x{self.playout.channels}",
            details=where,
        )

    def _publish_video(self, frame: VideoFrame) -> None:
        """Hand one raw frame to the room as camera (track 2) or screenVideo (track 3)."""
        if self.state is not SessionState.JOINED or self.transport is None:
            raise CommandError(
                ErrorCode.NOT_JOINED, "join a room before sending video", details={"track": frame.track, "seq": frame.seq}
            )
        self.transport.write_video(
            OUTBOUND_TRACK_SOURCE[OutboundTrack(frame.track)].value,
            RawVideoFrame(frame.payload, frame.width, frame.height, frame.color_format.name, frame.timestamp_us),
        )

    # ------------------------------------------------------------------ transport listener

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        try:
            self._on_event(name, data)
        except Exception as exc:
            # Backends call this from their callbacks: a failure here must not unwind into
            # the backend (the room's fan-out, an SDK callback). The event is lost; say so.
            log.exception("= %s handling the %s event failed", self.id[:8], name)
            self.outbox.event(
                "error",
                {"code": ErrorCode.INTERNAL.value, "message": f"handling the {name} event failed ({type(exc).__name__}); it was lost"},
            )

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name in _CALL_EVENTS:
            self._track_call(name, data)
        if name == "participant-joined" and not self._other_joined and self.observation is None:
            self._other_joined = True
            self.outbox.event("first-participant-joined", data)
        elif name == "participant-left":
            pid = data.get("participant", {}).get("id")
            for key in [k for k in (*self._tracks, *self._video) if k[0] == pid]:
                self._stop_track(key)
        self.outbox.event(name, data)

    def _track_call(self, name: str, data: dict[str, Any]) -> None:
        """Remember the phone calls' session ids, for send-dtmf and SIP transfer without one (as Pipecat does)."""
        session_id = (data.get("data") or {}).get("sessionId")
        if not session_id:
            return
        if name.endswith("-connected"):
            if session_id not in self.call_sessions:
                self.call_sessions.append(session_id)
        elif session_id in self.call_sessions:
            self.call_sessions.remove(session_id)

    def call_session(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``settings`` with ``sessionId`` filled in from the latest connected call when left out."""
        if settings.get("sessionId"):
            return settings
        if not self.call_sessions:
            raise CommandError(
                ErrorCode.WRONG_STATE, "no phone call is connected; give settings.sessionId",
                details={"field": "settings.sessionId"},
            )
        return {**settings, "sessionId": self.call_sessions[-1]}

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        track = self._tracks.get((participant_id, source))
        if track is None:
            track = self._start_track(participant_id, source)
            if track is None:
                return
        try:
            track.push(pcm, sample_rate, channels)
        except Exception:
            # Called from the room's fan-out: a failure here must not reach the
            # publisher or the other receivers. Drop this track and tell the client.
            log.exception("relaying %s/%s to %s failed", participant_id, source, self.id[:8])
            self._stop_track((participant_id, source))
            self.outbox.event(
                "error",
                {"code": ErrorCode.INTERNAL.value, "message": f"relaying {participant_id}'s {source} failed; track stopped"},
            )

    def on_track_ended(self, participant_id: str, source: str) -> None:
        self._stop_track((participant_id, source))

    def on_left(self, cause: str) -> None:
        """The backend removed our participant (ejected): leave as if asked, with that reason."""
        self.spawn(self._leave_room(cause), f"left-{cause}")

    def on_video(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        track = self._video.get((participant_id, source))
        if track is not None:
            track.push(frame)

    def _start_track(self, participant_id: str, source: str) -> InboundTrack | None:
        fmt = self.transport.options.audio_in if self.transport else self._observe_format
        if fmt is None or self.state not in (SessionState.JOINED, SessionState.OBSERVING):
            return None
        observing_quietly = self.observation is not None and not self._observe_frames
        track = InboundTrack(
            self._allocate_track(),
            participant_id,
            source,
            fmt,
            self._frame_ms,
            _discard if observing_quietly else self.outbox.media,
            vad=self._vad,
            on_speech=self._on_speech,
            audio_filter=self._filter,
        )
        self._tracks[(participant_id, source)] = track
        self._resize_media_queue()
        self.outbox.event("track-started", track.describe())
        return track

    def _stop_track(self, key: tuple[str, str]) -> None:
        video = self._video.pop(key, None)
        if video is not None:
            video.close()
            self.outbox.event_after_media("track-stopped", video.describe())
            self._resize_media_queue()
        track = self._tracks.pop(key, None)
        if track is None:
            return
        track.close()
        if track.speaking:
            self.outbox.event("speech-stopped", {"participant_id": track.participant_id, "track": track.track_id})
        self.outbox.event_after_media("track-stopped", track.describe())
        self._resize_media_queue()

    def _resize_media_queue(self) -> None:
        """Hold ``media_queue_ms`` of frames per open track (PROTOCOL.md, "Slow clients")."""
        per_track = max(5, self.config.media_queue_ms // max(10, self._frame_ms))
        self.outbox.media_limit = per_track * max(1, len(self._tracks) + len(self._video))

    def _allocate_track(self) -> int:
        in_use = {t.track_id for t in self._tracks.values()} | {v.track_id for v in self._video.values()}
        while self._next_track in in_use or self._next_track > 0xFFFF:
            self._next_track = FIRST_TRACK_ID if self._next_track > 0xFFFF else self._next_track + 1
        track_id = self._next_track
        self._next_track += 1
        return track_id

    def _on_speech(self, track: InboundTrack, transition: VadTransition) -> None:
        self.outbox.event(
            "speech-started" if transition.speaking else "speech-stopped",
            {"participant_id": track.participant_id, "track": track.track_id, "offset_ms": transition.offset_ms},
        )

    async def _levels_loop(self, interval_s: float) -> None:
        while self.state in (SessionState.JOINED, SessionState.OBSERVING):
            await asyncio.sleep(interval_s)
            if self._tracks:
                self.outbox.event(
                    "audio-levels",
                    {
                        "levels": [
                            {
                                "track": t.track_id,
                                "participant_id": t.participant_id,
                                "level": round(min(1.0, t.meter.value), 4),
                                "speaking": t.speaking,
                            }
                            for t in self._tracks.values()
                        ]
                    },
                )

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run a background task of this session; if it dies, the client gets an ``error`` event (``internal``)."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._task_died)

    def _task_died(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.error("= %s task %s died", self.id[:8], getattr(task, "get_name", lambda: "?")(), exc_info=exc)
        self.outbox.event(
            "error", {"code": ErrorCode.INTERNAL.value, "message": f"a background task of this session failed: {type(exc).__name__}: {exc}"}
        )

    # ------------------------------------------------------------------ room

    async def require_room(self, *, wait: bool = False) -> Transport:
        """The joined transport; with ``wait``, first wait for a join in progress."""
        if wait and self.state is SessionState.JOINING and self._join_done is not None:
            await asyncio.shield(self._join_done)
        if self.observation is not None:
            raise CommandError(ErrorCode.NOT_ALLOWED, "this session observes the room read-only; join to act in it")
        if self.state is not SessionState.JOINED or self.transport is None:
            hint = " (a join is in progress)" if self.state is SessionState.JOINING else ""
            raise CommandError(ErrorCode.NOT_JOINED, f"join a room first{hint}")
        return self.transport

    async def join(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.state in (SessionState.JOINING, SessionState.JOINED):
            raise CommandError(ErrorCode.ALREADY_JOINED, "this session already joined a room; one room per session")
        if self.state is not SessionState.OPEN:
            raise CommandError(ErrorCode.WRONG_STATE, f"cannot join in state {self.state.value}; open a new connection")
        backend = self.gateway.backends.for_room(params["room_url"], params.get("backend"))
        audio_in, audio_out, vad = params["audio_in"], params["audio_out"], params["vad"]
        playout_options = (
            PlayoutOptions.from_params(audio_out, self.config.max_playout_buffer_ms) if audio_out["enabled"] else None
        )
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
        self._frame_ms = audio_in["frame_ms"]
        self.state = SessionState.JOINING
        self._join_done = asyncio.get_running_loop().create_future()
        try:
            # The VAD analyzer and input filter load what they need (daily-python, models) off the loop.
            self._vad = await vad_from_request(vad, daily_sdk=self.config.daily_sdk)
            self._filter = await filter_from_request(audio_in.get("filter")) if audio_in["enabled"] else None
        except BaseException:
            self.state = SessionState.OPEN
            self._join_done.set_result(None)
            raise
        transport = backend.create_transport(options, self)
        self.transport = transport
        try:
            data = await asyncio.wait_for(transport.join(), self.config.join_timeout)
        except BaseException as exc:
            await _abandon_join(transport)
            self.transport = None
            self.state = SessionState.OPEN
            self._join_done.set_result(None)
            if isinstance(exc, asyncio.TimeoutError):
                raise CommandError(ErrorCode.TIMEOUT, f"join did not complete in {self.config.join_timeout:g} s") from None
            raise
        self.state = SessionState.JOINED
        self._join_done.set_result(None)
        if options.audio_out is not None and playout_options is not None:
            self.playout = AudioPlayout(
                transport.write_audio,
                sample_rate=options.audio_out.sample_rate,
                channels=options.audio_out.channels,
                max_buffer_ms=playout_options.max_buffer_ms,
                high_watermark_ms=playout_options.high_watermark_ms,
                low_watermark_ms=playout_options.low_watermark_ms,
                idle_grace_ms=playout_options.idle_grace_ms,
                prebuffer_ms=playout_options.prebuffer_ms,
                on_event=self.outbox.event,
            )
            self.playout.start()
        if params["levels_interval_ms"] > 0:
            self.spawn(self._levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
        self.gateway.session_joined(self)
        self.outbox.event("joined", data)
        transcription = params.get("transcription") or {}
        if transcription.get("enabled"):
            self.spawn(self._transcribe_from_join(transport, transcription.get("settings")), "transcription-at-join")
        log.info("= %s joined %s as %s", self.id[:8], options.room_url, data.get("participant_id"))
        return data

    async def _transcribe_from_join(self, transport: Transport, settings: dict[str, Any] | None) -> None:
        """``join.transcription``: start it as ``start-transcription`` would, after ``joined``.

        A failure is an ``error`` event, not a failed join; ``details.request`` says which
        request it stands for (PROTOCOL.md, "Join parameters of Daily's transport").
        """
        try:
            await self.start_transcription(transport, settings)
        except Exception as exc:
            if not isinstance(exc, ProtocolError):
                log.exception("starting transcription at join failed")
                exc = CommandError(ErrorCode.BACKEND_ERROR, f"start-transcription failed: {type(exc).__name__}: {exc}")
            error = exc.to_dict()
            error["details"] = {**exc.details, "request": "start-transcription"}
            self.outbox.event("error", error)

    async def start_transcription(self, transport: Transport, settings: dict[str, Any] | None) -> dict[str, Any]:
        """Start transcribing; then narrow it to the captured participants, if any and ``settings`` names none.

        The reference DailyTransport does the same with ``capture_participant_transcription``
        ids collected before the transcription started.
        """
        result = await transport.start_transcription(settings)
        if self.transcribed and not (settings or {}).get("participants"):
            await transport.update_transcription(list(self.transcribed), result.get("instance_id"))
        return result

    async def leave(self, cause: str = "left") -> None:
        if self.state is SessionState.OBSERVING:
            await self._stop_observing(cause)
            return
        if self.state is SessionState.JOINING:
            await self.require_room(wait=True)
        if self.state is not SessionState.JOINED:
            raise CommandError(ErrorCode.NOT_JOINED, "not in a room")
        await self._leave_room(cause)

    async def _leave_room(self, cause: str) -> None:
        """Leave if joined (idempotent): stop playout, close tracks, tell the client."""
        if self.observation is not None:
            await self._stop_observing(cause)
            return
        transport = self.transport
        if transport is None or self.state not in (SessionState.JOINED, SessionState.JOINING):
            return
        self.state = SessionState.LEAVING
        if self.playout is not None:
            await self.playout.stop()
            self.playout = None
        try:
            await transport.leave(cause)
        except Exception:
            log.exception("leaving %s failed", transport.room_url)
        for key in [*self._tracks, *self._video]:
            self._stop_track(key)
        self.transport = None
        # A registered phone goes back on the hook: it may take the next call (PROTOCOL.md, "Telephony").
        self.state = SessionState.OPEN if self.phone is not None else SessionState.LEFT
        self._other_joined = False
        self.gateway.session_left(self)
        self.outbox.event("left", {"reason": cause})

    async def observe(self, params: dict[str, Any]) -> dict[str, Any]:
        """Attach to a room read-only (PROTOCOL.md, "observe"); the reply is the room's snapshot.

        Nothing is awaited between attaching and returning, so the reply's seq comes
        before every event of the room the observer then receives.
        """
        if self.state in (SessionState.JOINING, SessionState.JOINED):
            raise CommandError(ErrorCode.ALREADY_JOINED, "this session joined a room; a session either joins or observes")
        if self.state is not SessionState.OPEN:
            raise CommandError(ErrorCode.WRONG_STATE, f"cannot observe in state {self.state.value}; open a new connection")
        backend = self.gateway.backends.for_room(params["room_url"], params.get("backend"))
        audio_in, vad, mode = params["audio_in"], params["vad"], params["audio"]
        self.state = SessionState.JOINING  # a second observe or join meanwhile is refused
        try:
            vad_params = await vad_from_request(vad, daily_sdk=self.config.daily_sdk) if mode != "none" else None
            observation = await backend.observe(params["room_url"], self)
        except BaseException:
            self.state = SessionState.OPEN
            raise
        self.observation = observation
        self._observe_format = AudioFormat(audio_in["sample_rate"], audio_in["channels"]) if mode != "none" else None
        self._observe_frames = mode == "frames"
        self._frame_ms = audio_in["frame_ms"]
        self._vad = vad_params
        self._filter = None
        self.state = SessionState.OBSERVING
        if mode != "none" and params["levels_interval_ms"] > 0:
            self.spawn(self._levels_loop(params["levels_interval_ms"] / 1000.0), "levels")
        log.info("= %s observing %s (audio: %s)", self.id[:8], observation.room_url, mode)
        return {"room_url": observation.room_url, "backend": backend.name, "participants": observation.participants()}

    async def _stop_observing(self, cause: str) -> None:
        observation, self.observation = self.observation, None
        if observation is None:
            return
        self.state = SessionState.LEAVING
        try:
            await observation.close()
        except Exception:
            log.exception("closing the observation of %s failed", observation.room_url)
        for key in list(self._tracks):
            self._stop_track(key)
        self.state = SessionState.LEFT
        self.outbox.event("left", {"reason": cause})

    def stats(self) -> dict[str, Any]:
        return {
            "session_id": self.id,
            "state": self.state.value,
            "uptime_s": round(time.time() - self.started, 3),
            "requests": self.requests,
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "text_sent": self.outbox.text_sent,
            "media_sent": self.outbox.media_sent,
            "media_bytes_sent": self.outbox.media_bytes_sent,
            "media_dropped": self.outbox.media_dropped,
            "media_queued": self.outbox.media_queued,
            "text_queued": self.outbox.text_queued,
            "replay_buffered": len(self.outbox.replay),
            "resumes": self.resumes,
            "playout_buffered_ms": round(self.playout.buffered_ms, 1) if self.playout else 0,
            "tracks": [t.stats() for t in self._tracks.values()]
            + [{**v.describe(), "frames_sent": v.frames_sent, "frames_skipped": v.frames_skipped} for v in self._video.values()],
            **self._backend_stats(),
        }

    def _backend_stats(self) -> dict[str, Any]:
        """The backend's own counters, when it keeps some (Daily: drops between daily-python and the loop)."""
        stats = getattr(self.transport, "stats", None)
        return {"backend_stats": stats()} if callable(stats) else {}

    # ------------------------------------------------------------------ video capture

    async def capture_video(
        self, participant_id: str, video_source: str, color_format: str, framerate: float
    ) -> dict[str, Any]:
        """Start relaying a participant's video (PROTOCOL.md, "capture-participant-video").

        Capturing the same participant and source again replaces the capture: its track
        stops and a new one starts with the new settings.
        """
        transport = await self.require_room()
        key = (participant_id, video_source)
        self._stop_track(key)
        track = VideoTrack(
            self._allocate_track(),
            participant_id,
            video_source,
            color_format,
            framerate,
            self.outbox.media,
            ready=lambda: self.outbox.media_queued < VIDEO_QUEUE_LIMIT,
        )
        self._video[key] = track
        self._resize_media_queue()
        try:
            await transport.capture_video(participant_id, video_source, color_format)
        except BaseException:
            if self._video.get(key) is track:
                del self._video[key]
            track.close()
            raise
        if self._video.get(key) is not track:  # the participant left meanwhile
            raise CommandError(ErrorCode.NOT_FOUND, f"participant {participant_id} left", details={"participant_id": participant_id})
        self.outbox.event("track-started", track.describe())
        track.start()
        return {"track": track.track_id}

    async def stop_video_capture(self, participant_id: str, video_source: str) -> dict[str, Any]:
        """Stop relaying a participant's video; ``not_found`` if it is not captured."""
        transport = await self.require_room()
        track = self._captured(participant_id, video_source)
        await transport.stop_video_capture(participant_id, video_source)
        self._stop_track((participant_id, video_source))
        return {"track": track.track_id}

    async def request_video_frame(self, participant_id: str, video_source: str) -> dict[str, Any]:
        """Send one frame of a captured video now (the only way frames come at framerate 0)."""
        await self.require_room()
        track = self._captured(participant_id, video_source)
        track.request_frame()
        return {"track": track.track_id}

    def _captured(self, participant_id: str, video_source: str) -> VideoTrack:
        track = self._video.get((participant_id, video_source))
        if track is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"{participant_id}'s {video_source} is not captured; send capture-participant-video first",
                details={"participant_id": participant_id, "video_source": video_source},
            )
        return track


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


ABANDON_JOIN_TIMEOUT_S = 5.0
"""How long a failed join's clean-up leave may take."""


def _resume_failed(reason: str, message: str, **details: Any) -> CommandError:
    return CommandError(ErrorCode.RESUME_FAILED, message, details={"reason": reason, **details})


def _discard(frame: bytes) -> None:
    """Media sink of an observer that asked for analysis only (audio=analysis)."""


_CALL_EVENTS = frozenset({"dialin-connected", "dialout-connected", "dialin-stopped", "dialout-stopped", "dialout-error", "dialin-error"})

_CORE_JOIN_FIELDS = {
    "room_url", "backend", "token", "user_name", "user_data", "audio_in", "audio_out", "vad", "levels_interval_ms",
}
