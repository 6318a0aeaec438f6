"""Session: a client's place in the gateway, outliving any one connection (PROTOCOL.md, "Resume").

A session has a state (``state.py``), an outbox (everything it sends, numbered, kept for
replay), a place in a room (a transport, or an observation: ``place.py``), the media it
receives (``receiver.py``) and the requests it runs (``requests.py``). It is served by one
:class:`~gateway.session.link.Link` at a time, which reads the client's messages and hands
them here; this module holds the resume state, in one place:

- :attr:`Session.link` is the link serving it now, or None while it is *detached*;
- a drop (not a close the client meant) detaches it for ``resume_grace_ms``, still in its room;
- :meth:`Session.attach` gives it to the link of a connection that sent ``resume``, and closes
  the old link with 4011 if it is still open.

The session is the transport's :class:`~gateway.backends.base.TransportListener`: room
events, received audio and captured video come here on the loop thread and go to the
receiver and the outbox. Binary frames the client publishes come here from the link.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from websockets.protocol import State

from protocol import constants
from protocol.constants import OUTBOUND_TRACK_SOURCE, CloseCode, OutboundTrack
from protocol.errors import CommandError, ErrorCode
from protocol.media import AudioFrame, VideoFrame

from .. import build_info
from ..backends.base import Observation, RawVideoFrame, Transport, TransportListener
from ..backends.capabilities import VideoPublishing, require
from ..media.playout import AudioPlayout
from . import place
from .calls import CallSessions
from .outbox import Outbox
from .receiver import Receiver
from .record import SessionRecord
from .replay import ended_on_purpose, new_token
from .requests import RequestRunner
from .state import SessionState
from .turn_log import TurnLog

if TYPE_CHECKING:
    from ..admission import Admission
    from ..server import Gateway
    from .link import Link

log = logging.getLogger("gateway.session")

C = TypeVar("C")


class RegisteredPhone(Protocol):
    """What a session holds of its phone line after ``register-phone`` (``gateway.backends.local.phone``)."""

    @property
    def number(self) -> str: ...

    def close(self) -> None:
        """The session is closing: hang up and unregister."""


class Session:
    """A client's session: state, room place, outbox, received media, running requests (module docstring)."""

    def __init__(self, gateway: Gateway, admission: Admission) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self.admission = admission
        """Who opened it (principal, scope) and whether only to resume: decided before it started."""
        handover = admission.handover
        self.id = str(uuid.uuid4()) if handover is None else str(handover.session_id)
        self.state = SessionState.OPEN
        self.outbox = Outbox(
            None,
            media_limit=max(10, self.config.media_queue_ms // 10),
            replay_events=self.config.replay_buffer_events,
            replay_bytes=self.config.replay_buffer_bytes,
            max_pending=self.config.max_pending_events,
            on_overflow=self._on_slow_consumer,
        )
        self.link: Link | None = None
        """The link serving this session now; None before its first and while detached."""
        self.resume_token = new_token(self.id) if handover is None else str(handover.resume_token)
        """Secret that lets a new connection take this session over (hello ``resume_token``)."""
        self.resumes = 0
        self._grace: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()
        self.requests = RequestRunner(self)
        """Requests as tasks (one reply each) and the session's background tasks."""
        self.transport: Transport | None = None
        """The participant this session controls in its room (``join``)."""
        self.observation: Observation | None = None
        """Set while the session observes a room (``observe``); never together with ``transport``."""
        self.join_done: asyncio.Future[None] | None = None
        """Resolved when a join in progress ends, either way (``require_room(wait=True)``)."""
        self.playout: AudioPlayout | None = None
        """Paces the audio the client publishes into the room (``join.audio_out``)."""
        self.receiver = Receiver(self)
        """The room's audio and captured video on their way to the client."""
        self.calls = CallSessions()
        """The phone calls connected in the room, for ``send-dtmf`` and SIP transfer without a session id."""
        self.transcribed: list[str] = []
        """Participants named by ``capture-participant-transcription``: transcription covers them once started."""
        self.phone: RegisteredPhone | None = None
        """Set after ``register-phone``: the session is a simulated phone."""
        self.other_joined = False
        """Someone else joined since this session did (``first-participant-joined`` was sent)."""
        self.watchers: list[TransportListener] = []
        """Sessions watching this one (``observe {"session_id"}``, ``session.watch``): they get what its transport
        tells it (events, audio, ends of tracks) right after it."""
        # Counted per frame in plain integers, summed at scrape time (gateway.metrics): binary frames and
        # their bytes (those of kind video too), text frames and their UTF-8 bytes.
        self.frames_in = 0
        self.bytes_in = 0
        self.video_in = 0
        self.video_bytes_in = 0
        self.text_in = 0
        self.text_bytes_in = 0
        self.playout_late_frames = 0
        """``late_frames`` of the playouts this session had and stopped (``gateway.metrics``)."""
        self.started = time.time()
        self.turn_log = TurnLog(self)
        """The turns of its room: speech decisions in, ``turn`` events out (PROTOCOL.md 9.5)."""
        self.record = SessionRecord(self)
        """Its log in the gateway's history (PROTOCOL.md 5.13)."""

    def __repr__(self) -> str:
        return f"<Session {self.id[:8]} {self.state.value}>"

    def log_fields(self) -> tuple[str, str | None]:
        """This session's id and the room it is in or observes (``gateway.logs`` puts them on its records)."""
        where = self.transport if self.transport is not None else self.observation
        return self.id, where.room_url if where is not None else None

    # ------------------------------------------------------------------ links: connect, detach, resume

    def connect(self, link: Link) -> None:
        """Be served by ``link``, the connection that opened this session: the hello goes out first."""
        self.link = link
        self.outbox.attach(link.ws, self.outbox.seq)
        hello: dict[str, Any] = {
            "protocol": constants.SUBPROTOCOL,
            "version": constants.PROTOCOL_VERSION,
            "session_id": self.id,
            "resume_token": self.resume_token,
            "server": {"name": "daily-ws-gateway", "version": build_info.version()},
            "limits": self.config.limits(),
            "capabilities": self.gateway.capabilities(),
        }
        handover = self.admission.handover
        if handover is None:
            self.outbox.hello(**hello)
        else:  # relayed here by another cluster node, whose hello the client has (docs/CLUSTER.md)
            self.outbox.relayed_hello(int(handover.next_seq), **hello)

    @property
    def detached(self) -> bool:
        """In a room (or observing) with no connection, waiting for a resume."""
        return self.link is None and self.state is not SessionState.CLOSED

    def resumable(self) -> bool:
        """Whether a lost connection detaches this session (rather than ending it) and a resume may take it."""
        return (
            self.config.resume_grace_ms > 0
            and self.state in (SessionState.JOINED, SessionState.OBSERVING)
            and self.phone is None
        )

    async def connection_lost(self, link: Link) -> None:
        """``link`` closed: keep the session for a resume if the client did not mean to end it, else end it."""
        if self.link is not link or self.state is SessionState.CLOSED:
            return  # already detached (4010) or served by a newer connection (4011)
        if self.resumable() and not ended_on_purpose(link.ws):
            self.detach("connection lost")
            return
        await self.finish("disconnected")

    def detach(self, why: str) -> None:
        """Go on without a connection for ``resume_grace_ms``: in the room, events kept, media dropped."""
        self.link = None
        self.outbox.detach()
        log.info("= %s detached (%s): resumable for %d ms", self.id[:8], why, self.config.resume_grace_ms)
        if self._grace is not None:
            self._grace.cancel()
        self._grace = asyncio.create_task(self._grace_period(), name="resume-grace")

    async def _grace_period(self) -> None:
        await asyncio.sleep(self.config.resume_grace_ms / 1000)
        self._grace = None
        log.info("= %s not resumed within %d ms: leaving", self.id[:8], self.config.resume_grace_ms)
        await self.finish("disconnected")

    def attach(self, link: Link, last_seq: int, first: bytes) -> None:
        """Be served by ``link`` from now on (``resume``): ``first`` (its reply), the frames after ``last_seq``, live.

        A link still serving this session (a resume while connected) is closed with 4011.
        """
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        old, self.link = self.link, link
        self.outbox.attach(link.ws, last_seq, first=first)
        self.resumes += 1
        if old is not None and old is not link:
            log.info("= %s resumed on another connection: closing the old one (4011)", self.id[:8])
            self._close_link(old, CloseCode.REPLACED, "the session was resumed on another connection")

    def discard(self) -> None:
        """End this fresh session without a word: its connection resumed another one (``resume``).

        It never joined or observed, and its outbox ended with the hand-over; the request that
        resumed (the current task) finishes, the others are cancelled.
        """
        self.requests.cancel(keep=asyncio.current_task())
        self.state = SessionState.CLOSED
        self.link = None
        self._done.set()

    def _on_slow_consumer(self) -> None:
        """Too many text frames wait for this client: close with 4010; they stay in the replay buffer."""
        link = self.link
        if link is None or link.ws.state is not State.OPEN:
            return
        pending = self.outbox.text_queued
        log.warning("= %s slow consumer: %d text frames pending (max_pending_events): closing 4010", self.id[:8], pending)
        if self.resumable():
            self.detach("slow consumer")
        self._close_link(link, CloseCode.SLOW_CONSUMER, f"{pending} messages unread (max_pending_events); resume")

    def _close_link(self, link: Link, code: int, reason: str) -> None:
        task = asyncio.create_task(link.ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ------------------------------------------------------------------ ending

    async def close(self, code: int, reason: str, cause: str = "shutdown") -> None:
        """Leave the room, flush, and close the connection with ``code`` (a detached session just ends)."""
        await place.leave_room(self, cause)
        link = self.link
        if link is None:
            await self.finish(cause)
            return
        await self.outbox.close()
        await link.ws.close(code, reason)

    async def finish(self, cause: str) -> None:
        """End the session: stop its tasks, hang up its phone, leave its room, close its outbox (idempotent)."""
        if self.state is SessionState.CLOSED:
            return
        grace, self._grace = self._grace, None
        if grace is not None and grace is not asyncio.current_task():
            grace.cancel()
        self.requests.cancel()
        if self.phone is not None:
            self.phone.close()
        await place.leave_room(self, cause)
        self.state = SessionState.CLOSED
        await self.outbox.close(flush_timeout=0.2)
        self._done.set()
        log.info("= %s closed", self.id[:8])

    async def wait_closed(self) -> None:
        """Return once the session is over (CLOSED): for a detached one, when its grace ends or its resumer's does."""
        await self._done.wait()

    # ------------------------------------------------------------------ the room, for handlers

    async def require(self, capability: type[C], *, wait: bool = False) -> C:
        """The joined transport as ``capability``: ``not_joined`` first, then ``not_supported`` (one place)."""
        transport = await self.require_room(wait=wait)
        return require(transport, capability, transport.backend)

    async def require_room(self, *, wait: bool = False) -> Transport:
        """The joined transport; with ``wait``, first wait for a join in progress."""
        if wait and self.state is SessionState.JOINING and self.join_done is not None:
            await asyncio.shield(self.join_done)
        if self.observation is not None:
            raise CommandError(ErrorCode.NOT_ALLOWED, "this session observes the room read-only; join to act in it")
        if self.state is not SessionState.JOINED or self.transport is None:
            hint = " (a join is in progress)" if self.state is SessionState.JOINING else ""
            raise CommandError(ErrorCode.NOT_JOINED, f"join a room first{hint}")
        return self.transport

    # ------------------------------------------------------------------ published media (from the link)

    def publish_audio(self, frame: AudioFrame) -> None:
        """Queue one binary audio frame (track 1) on the playout; ``buffer_full`` is flow control, not a fault."""
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

    def publish_video(self, frame: VideoFrame) -> None:
        """Hand one raw frame to the room as camera (track 2) or screenVideo (track 3)."""
        transport = self.transport
        if self.state is not SessionState.JOINED or transport is None:
            raise CommandError(
                ErrorCode.NOT_JOINED, "join a room before sending video", details={"track": frame.track, "seq": frame.seq}
            )
        video_out = require(transport, VideoPublishing, transport.backend)
        video_out.write_video(
            OUTBOUND_TRACK_SOURCE[OutboundTrack(frame.track)].value,
            RawVideoFrame(frame.payload, frame.width, frame.height, frame.color_format.name, frame.timestamp_us),
        )

    # ------------------------------------------------------------------ TransportListener (the room, on the loop)

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        try:
            self._on_event(name, data)
        except Exception as exc:
            # Backends call this from their callbacks: a failure here must not unwind into
            # the backend (the room's fan-out, an SDK callback). The event is lost; say so.
            self._event_lost(name, exc)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name in CallSessions.EVENTS:
            self.calls.track(name, data)
        if name == "participant-joined" and not self.other_joined and self.observation is None:
            self.other_joined = True
            self.outbox.event("first-participant-joined", data)
        elif name == "participant-left":
            self.receiver.participant_left(data.get("participant", {}).get("id"))
        self.outbox.event(name, data)
        self.record.event(name, data)
        if self.watchers:
            for watcher in list(self.watchers):
                watcher.on_event(name, data)

    def room_event(self, name: str, data: dict[str, Any]) -> None:
        """An event carrying room data (another member's user_data...): one that cannot be encoded is reported, not raised."""
        try:
            self.outbox.event(name, data)
        except Exception as exc:
            self._event_lost(name, exc)

    def _event_lost(self, name: str, exc: Exception) -> None:
        log.exception("= %s handling the %s event failed", self.id[:8], name, exc_info=exc)
        self.outbox.event(
            "error",
            {"code": ErrorCode.INTERNAL.value, "message": f"handling the {name} event failed ({type(exc).__name__}); it was lost"},
        )

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        self.receiver.on_audio(participant_id, source, pcm, sample_rate, channels)
        if self.watchers:
            for watcher in list(self.watchers):
                watcher.on_audio(participant_id, source, pcm, sample_rate, channels)

    def on_audio_flush(self, participant_id: str, source: str) -> None:
        self.receiver.on_audio_flush(participant_id, source)
        if self.watchers:
            for watcher in list(self.watchers):
                watcher.on_audio_flush(participant_id, source)

    def on_track_ended(self, participant_id: str, source: str) -> None:
        self.receiver.stop((participant_id, source))
        if self.watchers:
            for watcher in list(self.watchers):
                watcher.on_track_ended(participant_id, source)

    def on_video(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        self.receiver.on_video(participant_id, source, frame)

    def on_left(self, cause: str) -> None:
        """The backend removed our participant (ejected): leave as if asked, with that reason."""
        self.requests.spawn(place.leave_room(self, cause), f"left-{cause}")
