"""An asyncio client for the daily-gateway.v1 protocol.

    async with await GatewayClient.connect("ws://127.0.0.1:8765/v1") as gw:
        joined = await gw.join("local://demo", audio_in={"sample_rate": 16000})
        async for frame in gw.audio():          # ReceivedAudio, one per frame
            ...
        await gw.send_audio(pcm16_bytes)        # paced into the room by the gateway
        await gw.send_app_message({"hi": 1})

Requests return their ``result`` or raise :class:`GatewayError` with the protocol's
error code. Events are kept in order in :attr:`GatewayClient.event_log` and can be
consumed with :meth:`events` or awaited with :meth:`wait_for`.

With ``auto_resume=True`` a dropped connection (no close frame, 1011, 4010) is resumed
(PROTOCOL.md, "Resume"): the client reconnects with backoff and jitter within the
gateway's ``resume_grace_ms``, sends ``resume`` with the last ``seq`` it read, and goes on
reading the same session: missed events arrive in order, pending requests get their
replies (a request lost in the drop, neither answered among the replayed frames nor in the
resume result's ``running``, is sent again with its id). :attr:`GatewayClient.resumes` lists resumes and :meth:`wait_resumed` waits for
one. If the gateway cannot resume (``resume_failed``), the client stays connected as a
fresh session (:attr:`GatewayClient.resume_error` says why): join again. Off by default,
so that a drop is seen as a close (tests of close codes rely on it).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from protocol import constants, messages
from protocol.constants import ColorFormat, OutboundTrack
from protocol.errors import ErrorCode
from protocol.media import AudioFrame, VideoFrame, decode_frame, encode_audio, encode_video

_FINAL_CLOSE_CODES = frozenset({1000, 1001, 4000, 4001, 4002, 4003, 4008, 4009, 4011, 4012, 4029})
"""Close codes after which resuming cannot help: the session ended, moved on, or was refused."""


async def _open(url: str, kwargs: dict[str, Any]) -> tuple[ClientConnection, messages.Hello]:
    """A new connection and its hello."""
    options = {"max_size": None, "compression": None, **kwargs}
    open_timeout = options.get("open_timeout", 10.0)
    ws = await websockets.connect(url, subprotocols=[constants.SUBPROTOCOL], **options)  # type: ignore[list-item]
    first = await asyncio.wait_for(ws.recv(), open_timeout)
    hello = messages.decode_server_message(first)
    if not isinstance(hello, messages.Hello):
        await ws.close()
        raise ConnectionError(f"expected hello, got {type(hello).__name__}")
    return ws, hello


async def _reply(ws: ClientConnection, rid: str, *, timeout: float) -> messages.Reply:
    """Read frames until the reply to ``rid`` (frames before it belong to the fresh connection: dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.001, deadline - time.monotonic()))
        if isinstance(raw, str):
            msg = messages.decode_server_message(raw)
            if isinstance(msg, messages.Reply) and msg.id == rid:
                return msg


class GatewayError(Exception):
    """An error reply or error message from the gateway."""

    def __init__(self, error: dict[str, Any], request_id: str | None = None) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code: str = error.get("code", ErrorCode.INTERNAL.value)
        self.message: str = error.get("message", "")
        self.details: dict[str, Any] = error.get("details", {})
        self.fatal: bool = error.get("fatal", False)
        self.request_id = request_id


@dataclass(slots=True)
class TrackInfo:
    track: int
    participant_id: str
    kind: str
    source: str
    sample_rate: int = 0
    channels: int = 0


@dataclass(slots=True)
class ReceivedAudio:
    """One audio frame of a participant track."""

    participant_id: str
    source: str
    track: int
    seq: int
    timestamp_us: int
    sample_rate: int
    channels: int
    pcm: bytes
    received_at: float


@dataclass(slots=True)
class ReceivedVideo:
    """One video frame of a captured participant video (``capture-participant-video``)."""

    participant_id: str
    source: str
    track: int
    seq: int
    timestamp_us: int
    width: int
    height: int
    color_format: str
    pixels: bytes
    received_at: float


class GatewayClient:
    """One connection to a gateway; one participant in one room once joined."""

    def __init__(
        self,
        ws: ClientConnection,
        hello: messages.Hello,
        *,
        max_buffered_frames: int = 10_000,
        url: str | None = None,
        connect_kwargs: dict[str, Any] | None = None,
        auto_resume: bool = False,
    ) -> None:
        self.ws = ws
        self.hello = hello
        self.session_id = hello.session_id
        self.limits = hello.limits
        self.resume_token: str | None = hello.resume_token or None
        """Secret of this session for ``resume`` (from the hello)."""
        self.auto_resume = auto_resume
        self.resumes: list[dict[str, Any]] = []
        """The ``resume`` results, one per successful resume (``replayed``, ``media_dropped``...)."""
        self.resume_error: GatewayError | None = None
        """Why the last resume failed (``resume_failed`` and ``details.reason``); the client is then a fresh session."""
        self.drops: list[tuple[int | None, str]] = []
        """(close code, reason) of every connection that ended, resumed or not."""
        self.seq_gaps: list[tuple[int, int]] = []
        """(last seq, seq read next) wherever a text frame's seq was not the previous one + 1 (a lost frame)."""
        self.on_resumed: Callable[[dict[str, Any]], None] | None = None
        self.resume_backoff = (0.05, 2.0)
        """First and largest delay (s) between reconnect attempts; each delay is jittered down by up to half."""
        self._url = url
        self._connect_kwargs = connect_kwargs or {}
        self._closing = False
        self.participant_id: str | None = None
        self.tracks: dict[int, TrackInfo] = {}
        self.event_log: list[messages.Event] = []
        self.protocol_errors: list[GatewayError] = []
        self.last_seq = hello.seq
        self.close_code: int | None = None
        self.close_reason = ""
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sent: dict[str, bytes] = {}
        """Each pending request's text, to send again if it was lost in a drop (PROTOCOL.md section 14)."""
        self._resend: tuple[int, list[str]] | None = None
        """After a resume: (the last replayed seq, ids to send again once it is read unless answered)."""
        self._events: asyncio.Queue[messages.Event | None] = asyncio.Queue()
        self._audio: collections.deque[ReceivedAudio] = collections.deque(maxlen=max_buffered_frames)
        self._audio_ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._claimed: set[int] = set()
        self._out_seq = 0
        self._audio_out: tuple[int, int] = (24000, 1)
        self.on_audio: Callable[[ReceivedAudio], None] | None = None
        self._video: collections.deque[ReceivedVideo] = collections.deque(maxlen=100)
        self._video_out_seq = 0
        self._reader = asyncio.create_task(self._read(), name="gateway-client-reader")

    @classmethod
    async def connect(cls, url: str = "ws://127.0.0.1:8765/v1", *, open_timeout: float = 10.0,
                      token: str | None = None, api_key: str | None = None, auto_resume: bool = False,
                      **kwargs: Any) -> GatewayClient:
        """Open a connection and wait for the gateway's hello (``auto_resume``: resume after a drop).

        ``token`` (a signed access token) or ``api_key`` is sent as ``Authorization: Bearer``
        (PROTOCOL.md, "Authentication"); a refused credential closes the connection with 4001
        before the hello, raised here as ``websockets.exceptions.ConnectionClosed``.
        """
        credential = token or api_key
        if credential:
            kwargs["additional_headers"] = {**dict(kwargs.get("additional_headers") or {}),
                                            "Authorization": f"Bearer {credential}"}
        kwargs["open_timeout"] = open_timeout
        ws, hello = await _open(url, kwargs)
        return cls(ws, hello, url=url, connect_kwargs=kwargs, auto_resume=auto_resume)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        if not self._reader.done():  # closing an already-lost connection trips asyncio (transport gone)
            await self.ws.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except (TimeoutError, asyncio.CancelledError):
            self._reader.cancel()

    @property
    def closed(self) -> bool:
        return self._reader.done()

    # ------------------------------------------------------------------ requests

    async def request(self, rtype: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0) -> dict[str, Any]:
        """Send a request and return its result; raises :class:`GatewayError` on an error reply."""
        if self.auto_resume and self.ws.state is not State.OPEN:
            await self._wait_reconnected(timeout)
        rid = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        text = self._sent[rid] = messages.encode_request(rtype, rid, params)
        try:
            try:
                await self.ws.send(text, text=True)
            except websockets.ConnectionClosed:
                if not self.auto_resume:
                    raise
                # Lost with the connection: sent again after the resume (_resend_lost), same id.
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(rid, None)
            self._sent.pop(rid, None)

    async def join(
        self,
        room_url: str,
        *,
        user_name: str = "python-client",
        audio_in: dict[str, Any] | None = None,
        audio_out: dict[str, Any] | None = None,
        vad: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Join a room; returns the joined data (participant_id, participants...)."""
        params: dict[str, Any] = {"room_url": room_url, "user_name": user_name, **extra}
        for key, value in (("audio_in", audio_in), ("audio_out", audio_out), ("vad", vad)):
            if value is not None:
                params[key] = value
        out = audio_out or {}
        self._audio_out = (out.get("sample_rate", 24000), out.get("channels", 1))
        result = await self.request("join", params)
        self.participant_id = result["participant_id"]
        return result

    async def leave(self) -> None:
        await self.request("leave")

    async def observe(self, room_url: str, **options: Any) -> dict[str, Any]:
        """Observe a room read-only (``audio``, ``audio_in``, ``vad``, ``levels_interval_ms`` as ``observe`` takes them).

        A Daily room is observed through one of the gateway's sessions in it (``not_found`` when none is).
        Returns the room's snapshot (``room_url``, ``backend``, ``participants``).
        """
        return await self.request("observe", {**options, "room_url": room_url})

    async def watch_session(self, session_id: str, **options: Any) -> dict[str, Any]:
        """Watch one of the gateway's sessions (a bot; ``list_rooms()`` names them in ``sessions``): get what it gets.

        Read-only, as ``observe``; the snapshot adds ``session_id`` and ``participant_id`` (the bot's).
        """
        return await self.request("observe", {**options, "session_id": session_id})

    async def list_rooms(self, backend: str | None = None) -> list[dict[str, Any]]:
        """The gateway's live rooms with their participants and its sessions in each (``list-rooms``)."""
        return list((await self.request("list-rooms", {"backend": backend} if backend else {}))["rooms"])

    async def turn_stats(self, recent: int = 20) -> dict[str, Any]:
        """The turns this session has seen in its room (``get-turn-stats``): response gaps and overlaps, p50 / p95."""
        return await self.request("get-turn-stats", {"recent": recent})

    async def list_history(
        self, room_url: str | None = None, *, before: float | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """Sessions kept in the gateway's history, newest first, and their rooms (``list-history``)."""
        params: dict[str, Any] = {"limit": limit}
        if room_url is not None:
            params["room_url"] = room_url
        if before is not None:
            params["before"] = before
        return await self.request("list-history", params)

    async def get_history(self, session_id: str, *, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
        """One page of a session's log from the history (``get-history``): ``session``, ``events``, ``total``."""
        return await self.request("get-history", {"session_id": session_id, "offset": offset, "limit": limit})

    async def export_history(self, session_id: str) -> dict[str, Any]:
        """A session's whole log (every page of ``get-history``), ready for ``json.dump``."""
        page = await self.get_history(session_id, limit=5000)
        events = list(page["events"])
        while len(events) < page["total"] and page["events"]:
            page = await self.get_history(session_id, offset=len(events), limit=5000)
            events.extend(page["events"])
        return {"session": page["session"], "events": events}

    async def send_app_message(self, message: Any, participant_id: str | None = None, *, urgent: bool = False) -> None:
        params: dict[str, Any] = {"message": message, "urgent": urgent}
        if participant_id is not None:
            params["participant_id"] = participant_id
        await self.request("send-app-message", params)

    async def participants(self) -> dict[str, Any]:
        return (await self.request("get-participants"))["participants"]

    async def participant_counts(self) -> dict[str, int]:
        """``{"present", "hidden"}`` (``get-participant-counts``)."""
        return await self.request("get-participant-counts")

    async def active_speaker(self) -> dict[str, Any] | None:
        """The room's active speaker (a participant), or None (``get-active-speaker``)."""
        return (await self.request("get-active-speaker"))["participant"]

    async def network_stats(self) -> dict[str, Any]:
        """This participant's network stats in Daily's shape (``get-network-stats``)."""
        return await self.request("get-network-stats")

    # Daily REST through the gateway, on its API key (PROTOCOL.md, "Daily REST"): no room needed.

    async def create_room(
        self, name: str | None = None, *, privacy: str = "public", properties: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create a Daily room (``create-room``); returns Daily's room object (``name``, ``url``...)."""
        params: dict[str, Any] = {"privacy": privacy, "properties": properties or {}}
        if name is not None:
            params["name"] = name
        return (await self.request("create-room", params))["room"]

    async def get_room(self, name: str) -> dict[str, Any]:
        """Daily's room object (``get-room``); raises GatewayError ``not_found`` if it does not exist."""
        return (await self.request("get-room", {"name": name}))["room"]

    async def delete_room(self, name: str) -> bool:
        """Delete a Daily room (``delete-room``): True if deleted, False if it did not exist."""
        return bool((await self.request("delete-room", {"name": name}))["deleted"])

    async def create_meeting_token(self, properties: dict[str, Any], *, expiry_s: int | None = None) -> str:
        """A Daily meeting token (``create-meeting-token``); without ``exp`` it lives ``expiry_s`` (1 h)."""
        params: dict[str, Any] = {"properties": properties}
        if expiry_s is not None:
            params["expiry_s"] = expiry_s
        return str((await self.request("create-meeting-token", params))["token"])

    async def stats(self) -> dict[str, Any]:
        return await self.request("get-stats")

    async def clear_audio(self) -> dict[str, Any]:
        """Barge-in: drop the audio buffered for playout; the result says how many ms were dropped."""
        return await self.request("clear-audio")

    async def mark_audio(self, name: str) -> dict[str, Any]:
        """Place a mark after the audio sent so far; a ``playout-mark`` event says when it played (or was cleared)."""
        return await self.request("mark-audio", {"name": name})

    async def audio_buffer(self) -> dict[str, Any]:
        """The playout buffer's state: buffered_ms, pending marks, totals."""
        return await self.request("get-audio-buffer")

    # ------------------------------------------------------------------ media out

    async def send_audio(self, pcm: bytes, *, chunk_ms: int = 100, timestamp_us: int | None = None) -> None:
        """Publish PCM16 in the negotiated audio_out format, split into frames of ``chunk_ms``."""
        rate, channels = self._audio_out
        step = max(2 * channels, rate * channels * 2 * chunk_ms // 1000)
        for offset in range(0, len(pcm), step):
            self._out_seq += 1
            ts = timestamp_us if timestamp_us is not None else time.time_ns() // 1000
            await self.ws.send(
                encode_audio(OutboundTrack.MICROPHONE, self._out_seq, ts, rate, channels, pcm[offset:offset + step])
            )

    async def send_video(
        self,
        pixels: bytes,
        width: int,
        height: int,
        color_format: str = "RGB",
        *,
        source: str = "camera",
        timestamp_us: int | None = None,
    ) -> None:
        """Publish one raw video frame as ``camera`` (track 2) or ``screenVideo`` (track 3)."""
        track = OutboundTrack.CAMERA if source == "camera" else OutboundTrack.SCREEN_VIDEO
        self._video_out_seq += 1
        ts = timestamp_us if timestamp_us is not None else time.time_ns() // 1000
        await self.ws.send(
            encode_video(track, self._video_out_seq, ts, width, height, ColorFormat[color_format], pixels)
        )

    async def next_video(self, *, timeout: float = 10.0) -> ReceivedVideo:
        """The oldest received video frame not yet taken, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._video:
            if self.closed or not await self._changed_before(deadline):
                raise TimeoutError(f"no video frame within {timeout} s")
        return self._video.popleft()

    def drain_video(self) -> list[ReceivedVideo]:
        out = list(self._video)
        self._video.clear()
        return out

    async def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of bad input)."""
        await self.ws.send(data)

    # ------------------------------------------------------------------ events and media in

    async def events(self) -> AsyncIterator[messages.Event]:
        """Every event once, in order, until the connection closes."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    async def wait_for(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = 10.0,
    ) -> messages.Event:
        """The first event called ``name`` (matching ``predicate``) not returned by an earlier wait_for.

        Looks at events already received too, so there is no race with the request that causes it.
        """
        deadline = time.monotonic() + timeout
        while True:
            for event in self.event_log:
                if event.event == name and event.seq not in self._claimed and (predicate is None or predicate(event.data)):
                    self._claimed.add(event.seq)
                    return event
            if self.closed:
                raise ConnectionError(f"connection closed ({self.close_code}) while waiting for {name}")
            if not await self._changed_before(deadline):
                raise TimeoutError(f"no {name} event within {timeout} s")

    async def next_protocol_error(self, *, timeout: float = 5.0) -> GatewayError:
        """The next error message not tied to a request (bad frame, bad JSON)."""
        deadline = time.monotonic() + timeout
        seen = len(self.protocol_errors)
        while len(self.protocol_errors) <= seen:
            if self.closed or not await self._changed_before(deadline):
                raise TimeoutError("no protocol error received")
        return self.protocol_errors[seen]

    async def _changed_before(self, deadline: float) -> bool:
        """Wait until anything arrives or the monotonic ``deadline``; False if it had already passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), left)
        except TimeoutError:
            pass
        return True

    async def audio(self) -> AsyncIterator[ReceivedAudio]:
        """Received audio frames, oldest first, until the connection closes."""
        while True:
            while self._audio:
                yield self._audio.popleft()
            if self.closed:
                return
            self._audio_ready.clear()
            await self._audio_ready.wait()

    async def record(self, seconds: float, *, participant_id: str | None = None) -> bytes:
        """Collect ``seconds`` of wall time of received audio (one participant or all, concatenated)."""
        chunks: list[bytes] = []
        deadline = time.monotonic() + seconds

        async def collect() -> None:
            async for frame in self.audio():
                if participant_id is None or frame.participant_id == participant_id:
                    chunks.append(frame.pcm)

        try:
            await asyncio.wait_for(collect(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            pass
        return b"".join(chunks)

    def drain_audio(self) -> list[ReceivedAudio]:
        out = list(self._audio)
        self._audio.clear()
        return out

    # ------------------------------------------------------------------ reader

    async def _read(self) -> None:
        try:
            while True:
                try:
                    async for raw in self.ws:
                        if isinstance(raw, str):
                            self._on_text(raw)
                        else:
                            self._on_binary(raw)
                except websockets.ConnectionClosed:
                    pass
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""
                self.drops.append((self.close_code, self.close_reason))
                if not await self._resume():
                    break
        finally:
            self._fail_pending()
            self._events.put_nowait(None)
            self._audio_ready.set()
            self._changed.set()

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"connection closed ({self.close_code} {self.close_reason})"))

    async def _resume(self) -> bool:
        """After a drop: reconnect and resume (backoff with jitter, within the grace period); False to stop reading."""
        if self._closing or not self.auto_resume or not self.resume_token or self._url is None:
            return False
        if self.close_code in _FINAL_CLOSE_CODES:
            return False
        grace_s = int(self.limits.get("resume_grace_ms", 0)) / 1000
        deadline = time.monotonic() + grace_s
        delay, max_delay = self.resume_backoff
        while not self._closing and time.monotonic() < deadline:
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: clients of one gateway do not reconnect in step
            delay = min(max_delay, delay * 2)
            try:
                ws, hello = await _open(self._url, self._connect_kwargs)
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed, ConnectionError):
                continue
            rid = f"r{next(self._ids)}"
            try:
                await ws.send(
                    messages.encode_request("resume", rid, {"resume_token": self.resume_token, "last_seq": self.last_seq}),
                    text=True,
                )
                reply = await _reply(ws, rid, timeout=10.0)
            except (OSError, TimeoutError, websockets.ConnectionClosed):
                await ws.close()
                continue
            if not reply.ok and (reply.error or {}).get("code") == "unavailable":
                await ws.close()  # a cluster that cannot place the session yet (PROTOCOL.md 16.5): try again
                continue
            self.ws = ws
            if reply.ok:
                result = reply.result or {}
                self.resume_error = None
                self.resumes.append(result)
                running = set(result.get("running", ()))
                lost = [r for r in self._sent if r not in running]
                self._resend = (int(result.get("last_seq", self.last_seq)) + int(result.get("replayed", 0)), lost)
                self._resend_if_replayed()
                if self.on_resumed is not None:
                    self.on_resumed(result)
            else:
                # The gateway kept this connection as a fresh session: what was pending is lost.
                self.resume_error = GatewayError(reply.error or {}, rid)
                self._fail_pending()
                self.hello, self.session_id, self.limits = hello, hello.session_id, hello.limits
                self.resume_token = hello.resume_token or None
                self.participant_id = None
                self.tracks.clear()
                self.last_seq = reply.seq
            self._changed.set()
            return True
        return False

    async def _wait_reconnected(self, timeout: float) -> None:
        """While a dropped connection is being resumed, wait (bounded) for the new one instead of failing at once."""
        deadline = time.monotonic() + timeout
        while self.ws.state is not State.OPEN and not self.closed:
            if not await self._changed_before(deadline):
                return

    async def wait_resumed(self, count: int = 1, *, timeout: float = 10.0) -> dict[str, Any]:
        """The ``count``-th resume's result, waiting up to ``timeout``; raises the GatewayError of a failed resume."""
        deadline = time.monotonic() + timeout
        while len(self.resumes) < count:
            if self.resume_error is not None:
                raise self.resume_error
            if self.closed:
                raise ConnectionError(f"connection closed ({self.close_code}) before resuming")
            if not await self._changed_before(deadline):
                raise TimeoutError(f"not resumed within {timeout} s")
        return self.resumes[count - 1]

    def _resend_if_replayed(self) -> None:
        """Once every replayed frame is read, send again the requests answered by none of them and not running."""
        if self._resend is None or self.last_seq < self._resend[0]:
            return
        lost, self._resend = self._resend[1], None
        texts = [self._sent[r] for r in lost if r in self._sent and not self._pending[r].done()]
        if texts:
            asyncio.get_running_loop().create_task(self._send_again(self.ws, texts))

    async def _send_again(self, ws: ClientConnection, texts: list[bytes]) -> None:
        for text in texts:
            try:
                await ws.send(text, text=True)
            except websockets.ConnectionClosed:
                return  # dropped again: the next resume decides anew

    def _on_text(self, raw: str) -> None:
        msg = messages.decode_server_message(raw)
        if msg.seq != self.last_seq + 1:
            self.seq_gaps.append((self.last_seq, msg.seq))
        self.last_seq = msg.seq
        if isinstance(msg, messages.Reply):
            future = self._pending.get(msg.id or "")
            if future is not None and not future.done():
                if msg.ok:
                    future.set_result(msg.result or {})
                else:
                    future.set_exception(GatewayError(msg.error or {}, msg.id))
            elif not msg.ok:
                self.protocol_errors.append(GatewayError(msg.error or {}, msg.id))
        elif isinstance(msg, messages.Event):
            if msg.event == "track-started":
                d = msg.data
                self.tracks[d["track"]] = TrackInfo(
                    d["track"], d["participant_id"], d["kind"], d["source"], d.get("sample_rate", 0), d.get("channels", 0)
                )
            self.event_log.append(msg)
            self._events.put_nowait(msg)
        elif isinstance(msg, messages.ErrorMessage):
            self.protocol_errors.append(GatewayError(msg.error))
        if self._resend is not None:
            self._resend_if_replayed()
        self._changed.set()

    def _on_binary(self, raw: bytes) -> None:
        frame = decode_frame(raw)
        if isinstance(frame, VideoFrame):
            vinfo = self.tracks.get(frame.track)
            self._video.append(
                ReceivedVideo(
                    vinfo.participant_id if vinfo else "",
                    vinfo.source if vinfo else "",
                    frame.track,
                    frame.seq,
                    frame.timestamp_us,
                    frame.width,
                    frame.height,
                    frame.color_format.name,
                    bytes(frame.payload),
                    time.monotonic(),
                )
            )
            self._changed.set()
            return
        if not isinstance(frame, AudioFrame):
            return
        info = self.tracks.get(frame.track)
        received = ReceivedAudio(
            info.participant_id if info else "",
            info.source if info else "",
            frame.track,
            frame.seq,
            frame.timestamp_us,
            frame.sample_rate,
            frame.channels,
            bytes(frame.payload),
            time.monotonic(),
        )
        if self.on_audio is not None:
            self.on_audio(received)
        self._audio.append(received)
        self._audio_ready.set()
