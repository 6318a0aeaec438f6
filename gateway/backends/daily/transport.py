"""A session's participant in a Daily room, over one daily-python ``CallClient``.

Threads (tests/fakes/daily.py has the observed facts): daily-python calls every completion and
every ``EventHandler`` callback of one client on that client's emitter thread, and renderers on
media threads. Those threads only hand over to the event loop through bounded inboxes
(``media.py``: events and completions in the SDK's order, audio per track, video latest-frame);
they never wait on the loop. The loop only calls the ``CallClient`` methods that return at once
(requests with a completion, ``set_*_renderer``, ``set_user_name``). The getters the backend uses
(``inputs()``, ``publishing()``, ``subscriptions()``, ``subscription_profiles()``,
``participant_counts()``, ``active_speaker()``, ``get_network_stats()``) answer at once from
daily-python's cache but run on the backend's getter executor anyway; ``release()``, which blocks
until a pending join ends, runs on an executor of its own. ``participants()`` is never called: it
blocks behind a pending join while holding the GIL (the whole process stops); the participants
are kept from events. All state of this class is touched on the loop thread only, except the
media inboxes, which have their own locks.

Replies never rely on an event: daily-python sends no ``*-updated`` event for an update that
changes nothing, and the order of an event and its request's completion varies. Replies come
from the completion and the cached getters.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..base import JoinOptions, RawVideoFrame, Transport, TransportListener
from ..capabilities import (
    MediaSettings,
    PrebuiltChat,
    Recording,
    RemoteControl,
    RoomState,
    Telephony,
    Transcription,
    VideoCapture,
    VideoPublishing,
)
from . import shapes
from .error_codes import command_error, is_uuid, unknown_participant
from .events import participant, plain, to_event
from .media_threads import AudioInbox, AudioWriter, CallbackInbox, SpeakerReader, VideoSlot, post

if TYPE_CHECKING:
    from daily import CallClient, CustomAudioSource, CustomVideoSource

    from . import DailyBackend

log = logging.getLogger("gateway.daily")

AUDIO_SOURCES = ("microphone", "screenAudio")
"""A remote participant's audio sources that become gateway tracks (per-user tracks, as Pipecat)."""
VIDEO_FORMATS = frozenset({"RGBA", "BGRA", "ARGB", "ABGR", "RGB", "I420"})
"""Color formats daily-python's renderers and custom video sources take."""
RENDER_INTERVAL_MS = 20
"""Audio renderer callback interval: the protocol's default frame duration."""
TRANSCRIPTION_STARTED_WAIT = 2.0
"""Seconds start-transcription waits for ``transcription-started`` to learn the instance id."""
STOP_TRANSCRIPTION_WAIT = 5.0
"""Seconds leaving waits for stopping the transcription this participant started."""
MIXED = ("*", "mixed")
"""(participant id, source) of the one track of the room's mix (``join.audio_in.mixed``)."""
VIDEO_SOURCES = ("camera", "screenVideo")
"""Video that is not received until captured: unsubscribed at join, subscribed per capture (as Pipecat)."""
SERVER_REQUESTS = frozenset(
    {
        "start_dialout", "stop_dialout", "send_dtmf", "sip_call_transfer", "sip_refer",
        "start_recording", "stop_recording", "update_recording",
        "start_transcription", "stop_transcription", "update_transcription",
    }
)  # fmt: skip
"""CallClient requests that Daily's servers answer: daily-python gives them 20 s of its own, so the
gateway waits longer for them (``DailyBackend.server_timeout``)."""
_RELEASED = ("released",)
"""What a request still waiting when the client was released resolves to (its completion will never come)."""


class State(enum.Enum):
    """Where a DailyTransport is in its one life (a transport joins once)."""

    NEW = "new"
    JOINING = "joining"
    JOINED = "joined"
    LEAVING = "leaving"
    LEFT = "left"


class _Out:
    """A custom video track this participant publishes (camera or screenVideo)."""

    def __init__(self, source: CustomVideoSource, track: Any) -> None:
        self.source = source
        self.track = track


class DailyTransport(
    Transport,
    RoomState,
    Recording,
    Transcription,
    VideoPublishing,
    VideoCapture,
    RemoteControl,
    MediaSettings,
    PrebuiltChat,
    Telephony,
):
    """Joins a Daily room as one participant with its own ``CallClient`` and relays it to the session.

    Args:
        backend: the :class:`~gateway.backends.daily.DailyBackend` (SDK, executor, timeouts).
        options: the session's join options; ``options.params`` is the whole ``join`` request.
        listener: the session.
    """

    backend = "daily"

    def __init__(self, backend: DailyBackend, options: JoinOptions, listener: TransportListener) -> None:
        super().__init__(options, listener)
        self._backend = backend
        self.command_timeout: float = backend.command_timeout
        """Seconds a request may take before its reply is ``timeout``."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: CallbackInbox | None = None
        self._client: CallClient | None = None
        self._handler: Any = None
        self._state = State.NEW
        self.call_state = "initialized"
        """daily-python's call state, as last reported by ``on_call_state_updated``."""
        self._participant_id: str | None = None
        self._local: dict[str, Any] = {}
        self._others: dict[str, dict[str, Any]] = {}
        self._active_audio: set[tuple[str, str]] = set()
        self._inboxes: dict[tuple[str, str], AudioInbox] = {}
        self._video_in: dict[tuple[str, str], VideoSlot] = {}
        self._video_out: dict[str, _Out] = {}
        self._audio_source: CustomAudioSource | None = None
        self._writer: AudioWriter | None = None
        self._teardown_task: asyncio.Task[None] | None = None
        self._transcription_waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._transcribing = False
        """This participant started a transcription that has not stopped: leaving stops it."""
        self._pending: set[asyncio.Future[tuple[Any, ...]]] = set()
        """Requests waiting for their completion; resolved at once when the client is released."""
        self._mic_track: Any = None
        self._mixed = bool((self.params.get("audio_in") or {}).get("mixed")) and options.audio_in is not None
        """Receive the room's mix from daily-python's speaker instead of one renderer per participant."""
        self._speaker: SpeakerReader | None = None
        self.audio_bytes_sent = 0
        self.video_frames_sent = 0

    # ------------------------------------------------------------------ identity and state

    @property
    def participant_id(self) -> str | None:
        return self._participant_id

    @property
    def joined(self) -> bool:
        return self._state is State.JOINED

    @property
    def params(self) -> dict[str, Any]:
        return self.options.params or {}

    def stats(self) -> dict[str, Any]:
        """Counters of the media hand-over (drops are never silent)."""
        return {
            "state": self._state.value,
            "call_state": self.call_state,
            "audio_in_dropped": sum(i.dropped for i in self._inboxes.values()),
            "audio_in_chunks": sum(i.received for i in self._inboxes.values()),
            "audio_out_dropped": self._writer.dropped if self._writer else 0,
            "audio_out_chunks": self._writer.written if self._writer else 0,
            "video_in_replaced": sum(s.replaced for s in self._video_in.values()),
            "video_out_frames": self.video_frames_sent,
        }

    def drops(self) -> dict[str, int]:
        """What was dropped between daily-python and the loop so far (``DailyBackend.metrics``)."""
        return {
            "events": self._inbox.dropped if self._inbox is not None else 0,
            "audio_in": sum(i.dropped for i in self._inboxes.values()),
            "audio_out": self._writer.dropped if self._writer else 0,
        }

    def writer_lag_ms(self) -> float:
        """Published audio waiting for daily-python's ``write_frames`` (ms)."""
        return self._writer.queued_ms() if self._writer is not None else 0.0

    # ------------------------------------------------------------------ join and leave

    async def join(self) -> dict[str, Any]:
        if self._state is not State.NEW:
            raise CommandError(ErrorCode.WRONG_STATE, f"this Daily transport is {self._state.value}; make a new one")
        self._backend.check_room_url(self.room_url)
        self._check_formats()
        self._loop = asyncio.get_running_loop()
        self._inbox = CallbackInbox(self._loop, on_dropped=self._events_dropped)
        sdk = self._backend.sdk()
        self._backend.admit(self, mixed=self._mixed)
        self._state = State.JOINING
        try:
            handler = self._backend.handler_class()
            handler.sink = self._on_sdk_event
            client = sdk.CallClient(event_handler=handler)
        except Exception as exc:
            self._state = State.LEFT
            if self._backend.mixed_audio is self:
                self._backend.mixed_audio = None
            raise CommandError(ErrorCode.BACKEND_ERROR, f"could not create a Daily call client: {exc}") from None
        self._client, self._handler = client, handler
        self._backend.transports.add(self)
        try:
            if self._mixed:
                self._start_speaker(sdk)
            client.set_user_name(self.options.user_name)
            # Video is received only while captured (capture_video subscribes it), as Pipecat does:
            # an unsubscribed camera costs the bot neither bandwidth nor decoding.
            self._background(
                "update_subscription_profiles",
                lambda done: client.update_subscription_profiles(
                    {"base": dict.fromkeys(VIDEO_SOURCES, "unsubscribed")}, completion=done
                ),
            )
            try:
                settings = self._client_settings(sdk)
            except (TypeError, ValueError) as exc:  # a format daily-python refuses (custom sources)
                raise CommandError(ErrorCode.UNSUPPORTED_FORMAT, f"Daily refused the media format: {exc}") from None
            if self._audio_source is not None and self.options.audio_out is not None:
                fmt = self.options.audio_out
                self._writer = AudioWriter(
                    self._audio_source,
                    name=f"daily-audio-writer-{id(self) & 0xFFFF:04x}",
                    block_bytes=fmt.sample_rate // 100 * 2 * fmt.channels,
                )
            await self._request(
                "join",
                lambda done: client.join(self.room_url, self.options.token, settings, completion=done),
                pair=True,
                timeout=None,  # the session bounds the join (config.join_timeout) and cancels us
                on_result=self._joined_as,
            )
        except asyncio.CancelledError:
            # Timed out by the session: leave and release in the background (release waits
            # for the pending join, ~20 s for an unreachable room); the backend tracks it.
            self._state = State.LEAVING
            self._backend.spawn(self._teardown(leave=True), f"daily-abandon-{id(self):x}")
            raise
        except BaseException:
            self._state = State.LEFT  # daily-python leaves by itself after a failed join
            await self._teardown(leave=False)
            raise
        if self._teardown_task is not None:  # left (or the backend closed) while the join was pending
            raise CommandError(ErrorCode.WRONG_STATE, "left the Daily room before the join completed")
        self._state = State.JOINED
        for doc in list(self._others.values()):
            self._watch_audio(doc)
        log.info("= joined Daily room %s as %s", self.room_url, self._participant_id)
        return {
            "participant_id": self._participant_id or "",
            "room_url": self.room_url,
            "participant": dict(self._local),
            "participants": {pid: doc for pid, doc in self._others.items() if pid != self._participant_id},
        }

    def _start_speaker(self, sdk: Any) -> None:
        """``join.audio_in.mixed``: the room's mix through a virtual speaker of daily-python, one track."""
        fmt = self.options.audio_in
        assert fmt is not None
        name = f"gateway-mix-{id(self):x}"
        device = sdk.Daily.create_speaker_device(name, sample_rate=fmt.sample_rate, channels=fmt.channels, non_blocking=True)
        sdk.Daily.select_speaker_device(name)
        inbox = AudioInbox(self._loop_or_running(), self._audio_sink(*MIXED))
        self._inboxes[MIXED] = inbox
        self._speaker = SpeakerReader(
            device, inbox, sample_rate=fmt.sample_rate, channels=fmt.channels, name=f"daily-speaker-{id(self) & 0xFFFF:04x}"
        )

    def _joined_as(self, result: Any) -> None:
        """The join's data, applied on the loop in the SDK's order: it replaces what earlier events said.

        An ``on_participant_updated(local)`` that came before the completion (``set_user_name``'s, for
        one) describes the participant before the join: the join data (owner, permissions) wins over
        it, and only events after the completion may change it again.
        """
        participants = plain(result.get("participants") if isinstance(result, dict) else None) or {}
        local = participant(participants.pop("local", None) or {})
        if local:
            self._local = local
        self._participant_id = self._local.get("id") or self._participant_id
        for key, doc in participants.items():
            if isinstance(doc, dict):
                self._others.setdefault(str(doc.get("id", key)), participant(doc))

    def _check_formats(self) -> None:
        """Refuse, before any SDK object exists, the media formats Daily cannot carry (typed, not a silent gap)."""
        fmt = self.options.audio_out
        if fmt is not None and fmt.sample_rate % 100:
            # daily-python plays whole 10 ms blocks of rate // 100 frames: at 22050 Hz it would
            # play 22000 frames a second, falling further behind with every second of audio.
            raise CommandError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"Daily cannot publish audio at {fmt.sample_rate} Hz: use a rate that is a multiple of 100 Hz "
                "(8000, 16000, 24000, 44100, 48000...)",
                details={"field": "audio_out.sample_rate", "sample_rate": fmt.sample_rate},
            )
        video_out = self.params.get("video_out") or {}
        color = video_out.get("color_format") or "RGB"
        if video_out.get("enabled") and color not in VIDEO_FORMATS:
            raise CommandError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"Daily cannot publish {color} video; use one of {', '.join(sorted(VIDEO_FORMATS))}",
                details={"field": "video_out.color_format"},
            )

    def _client_settings(self, sdk: Any) -> dict[str, Any]:
        """``client_settings`` for ``CallClient.join``: custom tracks as microphone and camera, send settings."""
        params = self.params
        inputs: dict[str, Any] = {"microphone": {"isEnabled": False}, "camera": {"isEnabled": False}}
        publishing: dict[str, Any] = {}
        fmt = self.options.audio_out
        if fmt is not None:
            auto_silence = (params.get("audio_out") or {}).get("auto_silence", True)
            self._audio_source = sdk.CustomAudioSource(fmt.sample_rate, fmt.channels, bool(auto_silence))
            track = sdk.CustomAudioTrack(self._audio_source)
            inputs["microphone"] = {"isEnabled": True, "settings": {"customTrack": {"id": track.id}}}
            self._mic_track = track
            send: dict[str, Any] = {"channelConfig": "stereo" if fmt.channels == 2 else "mono"}
            bitrate = (params.get("audio_out") or {}).get("bitrate")
            if bitrate:
                send["bitrate"] = int(bitrate)
            publishing["microphone"] = {"isPublishing": True, "sendSettings": send}
        video_out = params.get("video_out") or {}
        if video_out.get("enabled"):
            width, height = video_out.get("width"), video_out.get("height")
            if width and height:
                out = self._new_video_out(sdk, int(width), int(height), video_out.get("color_format") or "RGB")
                self._video_out["camera"] = out
                inputs["camera"] = {"isEnabled": True, "settings": {"customTrack": {"id": out.track.id}}}
            camera: dict[str, Any] = {"isPublishing": True}
            send_settings = shapes.camera_send_settings(video_out)
            if send_settings:
                camera["sendSettings"] = send_settings  # else Daily's own (adaptive layers)
            publishing["camera"] = camera
        settings: dict[str, Any] = {"inputs": inputs}
        if publishing:
            settings["publishing"] = publishing
        return settings

    @staticmethod
    def _new_video_out(sdk: Any, width: int, height: int, color_format: str) -> _Out:
        source = sdk.CustomVideoSource(width, height, color_format)
        return _Out(source, sdk.CustomVideoTrack(source))

    async def leave(self, cause: str = "left") -> None:
        if self._client is None and self._teardown_task is None:
            self._state = State.LEFT if self._state is not State.NEW else self._state
            return
        if self._state in (State.JOINING, State.JOINED):
            self._state = State.LEAVING
        await self._teardown(leave=True)

    async def _teardown(self, *, leave: bool) -> None:
        """Leave (optionally), stop the writer, release the client off the loop; once, shared by callers."""
        if self._teardown_task is None:
            self._teardown_task = asyncio.ensure_future(self._do_teardown(leave))
        await asyncio.shield(self._teardown_task)

    async def _do_teardown(self, leave: bool) -> None:
        client, writer = self._client, self._writer
        try:
            if leave and client is not None:
                if self._transcribing and self._participant_id is not None:
                    await self._stop_own_transcription(client)
                try:
                    await self._request("leave", lambda done: client.leave(completion=done), timeout=self.command_timeout)
                except CommandError as exc:
                    log.info("leaving %s: %s", self.room_url, exc.message)
            if writer is not None:
                writer.close()
            speaker, self._speaker = self._speaker, None
            if speaker is not None:
                speaker.close()
            await self._backend.run_blocking(
                self._release, client, writer, speaker, timeout=self._backend.release_timeout, pool="release"
            )
        except Exception:
            log.exception("releasing the Daily client of %s failed", self.room_url)
        finally:
            self._state = State.LEFT
            # Released: completions still owed will never come. Answer their requests now.
            for future in list(self._pending):
                if not future.done():
                    future.set_result(_RELEASED)
            self._close_media()
            self._backend.retire(self)
            if self._handler is not None:
                self._handler.sink = None
            # Drop every SDK object: a CustomAudioSource keeps native sender threads while it lives.
            self._client = None
            self._audio_source = None
            self._mic_track = None
            self._writer = None
            self._video_out.clear()
            self._backend.transports.discard(self)
            if self._backend.mixed_audio is self:
                self._backend.mixed_audio = None
            for waiter in self._transcription_waiters:
                if not waiter.done():
                    waiter.cancel()

    async def _stop_own_transcription(self, client: Any) -> None:
        """Leaving: stop the transcription this participant started (as Pipecat does), never longer than a few s."""
        try:
            await self._request(
                "stop_transcription", lambda done: client.stop_transcription(completion=done), timeout=STOP_TRANSCRIPTION_WAIT
            )
            self._transcribing = False
        except CommandError as exc:
            log.info("stopping the transcription of %s on leave: %s", self.room_url, exc.message)

    @staticmethod
    def _release(client: Any, writer: AudioWriter | None, speaker: SpeakerReader | None = None) -> None:
        """On the release executor: ``release()`` blocks until a pending join ends; the writer ends within a chunk."""
        if client is not None:
            try:
                client.release()
            except RuntimeError:  # already released
                pass
        if writer is not None:
            writer.join(5.0)
        if speaker is not None:
            speaker.join(5.0)

    def _close_media(self) -> None:
        if self._inbox is not None:
            self._inbox.close()
        for inbox in self._inboxes.values():
            inbox.close()
        for slot in self._video_in.values():
            slot.close()
        self._video_in.clear()
        self._active_audio.clear()

    async def _removed(self, cause: str) -> None:
        """Daily took this participant out of the call (ejected, meeting ended): release, tell the session."""
        self._state = State.LEAVING
        await self._teardown(leave=False)
        self.listener.on_left(cause)

    # ------------------------------------------------------------------ requests

    def timeout_for(self, method: str) -> float:
        """Seconds a request waits for daily-python's completion: longer than the SDK's own limit for
        the requests Daily's servers answer (``DailyBackend.timeout_for``)."""
        if method in SERVER_REQUESTS:
            return max(self._backend.server_timeout, self.command_timeout)
        return self.command_timeout

    async def _request(
        self,
        method: str,
        call: Callable[[Callable[..., None]], Any],
        *,
        pair: bool = False,
        timeout: float | None = -1.0,
        on_result: Callable[[Any], None] | None = None,
    ) -> Any:
        """Run one completion-style ``CallClient`` request and return its result.

        ``call(done)`` starts it; ``done`` is the completion, run by daily-python on its emitter
        thread, which only posts the result to the loop (through the client's inbox, in the SDK's
        order; straight to the loop once the inbox is closed, so a late completion still answers at
        once). ``pair``: the completion gets ``(result, error)`` (join, start_recording,
        start_dialout), else ``(error)``. ``on_result(result)`` runs on the loop in the SDK's order,
        before any event that came after the completion. ``timeout``: -1 for :meth:`timeout_for`.

        Raises:
            CommandError: the SDK's error, typed (``errors.py``); ``invalid_params`` for arguments
                daily-python refuses at the call; ``timeout`` past ``timeout`` s; ``not_joined`` when
                the client was released before the completion came.
        """
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, ...]] = loop.create_future()

        def settle(args: tuple[Any, ...]) -> None:
            if future.done():
                return
            if on_result is not None and pair and len(args) >= 2 and not args[1]:
                on_result(args[0])
            future.set_result(args)

        inbox = self._inbox

        def done(*args: Any) -> None:  # SDK emitter thread: hand over in the SDK's order, never wait
            if inbox is None or not inbox.put(settle, (args,), droppable=False):
                post(loop, settle, args)

        if log.isEnabledFor(logging.DEBUG):
            log.debug("> %s %s", self._participant_id or self.room_url, method)
        try:
            call(done)
        except (TypeError, ValueError) as exc:  # daily-python refused the arguments themselves
            raise CommandError(
                ErrorCode.INVALID_PARAMS, f"Daily {method} refused its arguments: {exc}",
                details={"method": method, "daily_error": str(exc)},
            ) from None  # fmt: skip
        except RuntimeError as exc:
            raise command_error(method, exc) from None
        limit = self.timeout_for(method) if timeout is not None and timeout < 0 else timeout
        self._pending.add(future)
        try:
            args = await asyncio.wait_for(asyncio.shield(future), limit) if limit else await future
        except TimeoutError:
            raise CommandError(
                ErrorCode.TIMEOUT, f"Daily {method} did not complete in {limit:g} s", details={"method": method}
            ) from None
        finally:
            self._pending.discard(future)
        if args is _RELEASED:
            raise CommandError(
                ErrorCode.NOT_JOINED, f"left the Daily room before {method} completed", details={"method": method}
            )
        if pair:
            result, error = (args + (None, None))[:2]
        else:
            result, error = None, (args[0] if args else None)
        if error:
            raise command_error(method, error)
        return result

    def _background(self, method: str, call: Callable[[Callable[..., None]], Any]) -> None:
        """A request nobody awaits (binding a video track...): a failure becomes an ``error`` event."""

        async def run() -> None:
            try:
                await self._request(method, call)
            except CommandError as exc:
                if self._state is State.JOINED:
                    self.listener.on_event("error", exc.to_dict())

        self._backend.spawn(run(), f"daily-{method}")

    def _require_client(self, *, joining_ok: bool = False) -> CallClient:
        ok = (State.JOINING, State.JOINED) if joining_ok else (State.JOINED,)
        if self._client is None or self._state not in ok:
            raise CommandError(ErrorCode.NOT_JOINED, "not in a Daily room")
        return self._client

    def _remote(self, participant_id: Any, field: str = "participant_id") -> str:
        """``participant_id`` if it is a remote participant in the room, else ``not_found`` (no SDK call)."""
        if participant_id == self._participant_id and participant_id is not None:
            raise CommandError(
                ErrorCode.INVALID_PARAMS,
                "that is this session's own participant, not a remote one",
                details={"field": field, "participant_id": participant_id},
            )
        if not is_uuid(participant_id) or participant_id not in self._others:
            raise unknown_participant(participant_id, field)
        return str(participant_id)

    async def _getter(self, method: str) -> Any:
        """A ``CallClient`` getter, on the getter executor (daily-python answers it at once from its cache).

        Never ``participants()``: that one waits behind a pending join holding the GIL.
        """
        assert method != "participants", "participants() would freeze the process behind a pending join"
        client = self._require_client()

        def get() -> Any:
            return plain(getattr(client, method)())

        try:
            return await self._backend.run_blocking(get, timeout=self.command_timeout)
        except TimeoutError:
            raise CommandError(
                ErrorCode.TIMEOUT, f"Daily {method} did not answer in {self.command_timeout:g} s"
            ) from None
        except RuntimeError as exc:
            raise command_error(method, exc) from None

    # ------------------------------------------------------------------ audio and app messages

    def write_audio(self, pcm: bytes) -> None:
        writer = self._writer
        if writer is not None and self._state is State.JOINED:
            self.audio_bytes_sent += len(pcm)
            writer.put(pcm)

    async def send_app_message(self, message: Any, participant_id: str | None, urgent: bool) -> None:
        # daily-python has no urgency: every app message goes out at once (Pipecat's "urgent" only
        # skips its own output queue, which the gateway does not have).
        client = self._require_client(joining_ok=True)
        if message is None:  # daily-python raises ValueError("invalid app message 'None'")
            raise CommandError(
                ErrorCode.INVALID_PARAMS, "Daily cannot send a null app message", details={"field": "message"}
            )
        if participant_id is not None:
            self._remote(participant_id)
        await self._request(
            "send_app_message", lambda done: client.send_app_message(message, participant_id, completion=done)
        )

    def participants(self) -> dict[str, dict[str, Any]]:
        self._require_client()
        out = {pid: doc for pid, doc in self._others.items()}
        if self._participant_id:
            out[self._participant_id] = self._local
        return out

    # ------------------------------------------------------------------ room state and network

    async def participant_counts(self) -> dict[str, int]:
        counts = await self._getter("participant_counts")
        return {"present": int(counts.get("present", 0)), "hidden": int(counts.get("hidden", 0))}

    async def active_speaker(self) -> dict[str, Any] | None:
        speaker = await self._getter("active_speaker")
        return participant(speaker) if speaker else None

    async def get_network_stats(self) -> dict[str, Any]:
        return dict(await self._getter("get_network_stats"))

    # ------------------------------------------------------------------ recording and transcription

    async def start_recording(
        self, streaming_settings: dict[str, Any] | None, stream_id: str | None, force_new: bool
    ) -> dict[str, Any]:
        client = self._require_client()
        result = await self._request(
            "start_recording",
            lambda done: client.start_recording(streaming_settings, stream_id, force_new, completion=done),
            pair=True,
        )
        return {"stream_id": result if isinstance(result, str) and result else stream_id}

    async def stop_recording(self, stream_id: str | None) -> None:
        client = self._require_client()
        await self._request("stop_recording", lambda done: client.stop_recording(stream_id, completion=done))

    async def update_recording(self, update_settings: dict[str, Any], stream_id: str | None) -> None:
        client = self._require_client()
        await self._request(
            "update_recording", lambda done: client.update_recording(update_settings, stream_id, completion=done)
        )

    async def start_transcription(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        """Start Daily's transcription with Pipecat's defaults under the client's own settings.

        The defaults (``includeRawResponse``, interim results, a model) are what gives clients
        ``rawResponse.is_final``. The instance id comes from the ``transcription-started`` this
        participant caused (``startedBy``), never from someone else's.
        """
        client = self._require_client()
        settings = shapes.transcription_settings(settings)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._transcription_waiters.append(waiter)
        try:
            await self._request("start_transcription", lambda done: client.start_transcription(settings, completion=done))
            self._transcribing = True
            # daily-python's completion carries no instance id: take it from transcription-started.
            try:
                status = await asyncio.wait_for(asyncio.shield(waiter), TRANSCRIPTION_STARTED_WAIT)
            except (TimeoutError, asyncio.CancelledError):
                status = {}
        finally:
            if waiter in self._transcription_waiters:
                self._transcription_waiters.remove(waiter)
        out: dict[str, Any] = {"instance_id": status.get("instanceId") or settings.get("instanceId")}
        if status.get("transcriptId"):
            out["transcript_id"] = status["transcriptId"]
        return out

    async def stop_transcription(self, instance_id: str | None) -> None:
        # daily-python 0.36's stop_transcription takes no instance id: it stops this client's.
        client = self._require_client()
        await self._request("stop_transcription", lambda done: client.stop_transcription(completion=done))
        self._transcribing = False

    async def update_transcription(self, participants: list[str] | None, instance_id: str | None) -> None:
        client = self._require_client()
        for pid in participants or []:
            if pid != self._participant_id:
                self._remote(pid, "participants")
        await self._request(
            "update_transcription",
            lambda done: client.update_transcription(participants, instance_id, completion=done),
        )

    # ------------------------------------------------------------------ video

    def write_video(self, source: str, frame: RawVideoFrame) -> None:
        client = self._client
        if client is None or self._state is not State.JOINED:
            return
        if frame.color_format not in VIDEO_FORMATS:
            raise CommandError(
                ErrorCode.UNSUPPORTED_FORMAT,
                f"Daily cannot publish {frame.color_format} video; use one of {', '.join(sorted(VIDEO_FORMATS))}",
            )
        out = self._video_out.get(source)
        if out is None or (out.source.width, out.source.height, out.source.color_format) != (
            frame.width, frame.height, frame.color_format,
        ):
            try:
                out = self._bind_video(client, source, frame.width, frame.height, frame.color_format, first=out is None)
            except (TypeError, ValueError) as exc:
                raise CommandError(ErrorCode.UNSUPPORTED_FORMAT, f"Daily refused a {source} source: {exc}") from None
        try:
            out.source.write_frame(bytes(frame.buffer))
        except ValueError as exc:
            raise CommandError(ErrorCode.BAD_PAYLOAD, f"Daily refused the {source} frame: {exc}") from None
        self.video_frames_sent += 1

    def _bind_video(self, client: Any, source: str, width: int, height: int, color: str, *, first: bool) -> _Out:
        """A new custom video source of this size, as the camera or as the screen share (``screenVideo``).

        Both go through the inputs, each as its own custom track: the screen is a real screen share
        (``screenVideo``), which Prebuilt and other bots show as one, not a custom track named so.
        A first screen also starts publishing it (daily-python publishes the camera by default).
        """
        out = self._new_video_out(self._backend.sdk(), width, height, color)
        self._video_out[source] = out
        settings = {source: {"isEnabled": True, "settings": {"customTrack": {"id": out.track.id}}}}
        self._background("update_inputs", lambda done: client.update_inputs(settings, completion=done))
        if source == "screenVideo" and first:
            publishing = {"screenVideo": {"isPublishing": True}}
            self._background("update_publishing", lambda done: client.update_publishing(publishing, completion=done))
        return out

    async def capture_video(self, participant_id: str, video_source: str, color_format: str) -> None:
        client = self._require_client()
        if (self.params.get("video_in") or {}).get("enabled") is False:
            raise CommandError(ErrorCode.WRONG_STATE, "video_in was disabled at join")
        # A participant id that is not a UUID would abort the whole process in set_video_renderer.
        pid = self._remote(participant_id)
        key = (pid, video_source)
        # Receive this source (video is unsubscribed at join); also after the client unsubscribed it.
        await self._request(
            "update_subscriptions",
            lambda done: client.update_subscriptions(
                {pid: {"media": {video_source: "subscribed"}}}, None, completion=done
            ),
        )
        old = self._video_in.pop(key, None)
        if old is not None:
            old.close()
        loop = self._loop or asyncio.get_running_loop()
        deliver = self.listener.on_video
        slot = VideoSlot(loop, lambda frame: deliver(pid, video_source, frame))
        self._video_in[key] = slot
        color = color_format if color_format in VIDEO_FORMATS else "RGBA"
        try:
            client.set_video_renderer(pid, self._on_video_frame, video_source=video_source, color_format=color)
        except (RuntimeError, ValueError) as exc:
            slot.close()
            self._video_in.pop(key, None)
            raise command_error("set_video_renderer", exc) from None

    async def stop_video_capture(self, participant_id: str, video_source: str) -> None:
        # daily-python cannot unset a renderer: unsubscribe the source instead (no more frames are
        # sent to the bot), and drop any frame still on its way.
        slot = self._video_in.pop((participant_id, video_source), None)
        if slot is not None:
            slot.close()
        client = self._client
        if slot is not None and client is not None and self._state is State.JOINED and participant_id in self._others:
            media = {participant_id: {"media": {video_source: "unsubscribed"}}}
            self._background(
                "update_subscriptions", lambda done: client.update_subscriptions(media, None, completion=done)
            )

    def _on_video_frame(self, participant_id: str, frame: Any, video_source: str) -> None:
        """Video renderer: on an SDK thread; the latest frame wins."""
        slot = self._video_in.get((participant_id, video_source))
        if slot is not None:
            slot.put(RawVideoFrame(frame.buffer, frame.width, frame.height, frame.color_format, frame.timestamp_us))

    # ------------------------------------------------------------------ remote control, inputs, subscriptions

    async def update_remote_participants(self, remote_participants: dict[str, Any]) -> None:
        client = self._require_client()
        for pid in remote_participants:
            self._remote(pid, "remote_participants")
        updates = shapes.remote_participants(remote_participants)  # canSend: true -> [...]: daily-python's shapes
        await self._request(
            "update_remote_participants", lambda done: client.update_remote_participants(updates, completion=done)
        )

    async def eject_remote_participants(self, ids: list[str]) -> None:
        client = self._require_client()
        for pid in ids:
            self._remote(pid, "ids")
        await self._request(
            "eject_remote_participants", lambda done: client.eject_remote_participants(ids, completion=done)
        )

    async def update_inputs(self, input_settings: dict[str, Any]) -> dict[str, Any]:
        client = self._require_client()
        await self._request("update_inputs", lambda done: client.update_inputs(input_settings, completion=done))
        # Not from inputs-updated: daily-python sends none when nothing changed.
        return dict(await self._getter("inputs"))

    async def update_publishing(self, publishing_settings: dict[str, Any]) -> dict[str, Any]:
        client = self._require_client()
        await self._request(
            "update_publishing", lambda done: client.update_publishing(publishing_settings, completion=done)
        )
        return dict(await self._getter("publishing"))

    async def update_subscriptions(
        self, participant_settings: dict[str, Any] | None, profile_settings: dict[str, Any] | None
    ) -> dict[str, Any]:
        client = self._require_client()
        for pid in participant_settings or {}:
            self._remote(pid, "participant_settings")
        await self._request(
            "update_subscriptions",
            lambda done: client.update_subscriptions(participant_settings, profile_settings, completion=done),
        )
        # Not from subscriptions-updated: it may come after the completion.
        return dict(await self._getter("subscriptions"))

    async def update_subscription_profiles(self, profile_settings: dict[str, Any]) -> dict[str, Any]:
        client = self._require_client()
        await self._request(
            "update_subscription_profiles",
            lambda done: client.update_subscription_profiles(profile_settings, completion=done),
        )
        return dict(await self._getter("subscription_profiles"))

    async def send_prebuilt_chat_message(self, message: str, user_name: str | None) -> None:
        client = self._require_client()
        await self._request(
            "send_prebuilt_chat_message",
            lambda done: client.send_prebuilt_chat_message(message, user_name, completion=done),
        )

    # ------------------------------------------------------------------ telephony

    async def start_dialout(self, settings: dict[str, Any], *, ring_timeout_s: float | None = None) -> dict[str, Any]:
        client = self._require_client()
        result = await self._request(
            "start_dialout", lambda done: client.start_dialout(settings, completion=done), pair=True
        )
        return {"session_id": result}

    async def stop_dialout(self, participant_id: str) -> None:
        client = self._require_client()
        if not is_uuid(participant_id):
            raise unknown_participant(participant_id)
        await self._request("stop_dialout", lambda done: client.stop_dialout(participant_id, completion=done))

    async def send_dtmf(self, settings: dict[str, Any]) -> None:
        client = self._require_client()
        await self._request("send_dtmf", lambda done: client.send_dtmf(settings, completion=done))

    async def sip_call_transfer(self, settings: dict[str, Any]) -> None:
        client = self._require_client()
        await self._request("sip_call_transfer", lambda done: client.sip_call_transfer(settings, completion=done))

    async def sip_refer(self, settings: dict[str, Any]) -> None:
        client = self._require_client()
        await self._request("sip_refer", lambda done: client.sip_refer(settings, completion=done))

    # ------------------------------------------------------------------ SDK callbacks

    def _on_sdk_event(self, callback: str, args: tuple[Any, ...]) -> None:
        """Every EventHandler callback: on the SDK's emitter thread; hand over and return."""
        inbox = self._inbox
        if inbox is not None:
            inbox.put(self._handle_event, (callback, args), droppable=True)

    def _events_dropped(self, count: int) -> None:
        """The loop fell so far behind that room events were dropped: say so (PROTOCOL.md 6.2)."""
        log.warning("dropped %d Daily events of %s: the event loop fell behind", count, self.room_url)
        if self._state is State.JOINED:
            self.listener.on_event(
                "error",
                {"code": ErrorCode.BACKEND_ERROR.value, "message": f"{count} room events were dropped: the gateway fell behind",
                 "details": {"dropped_events": count}},
            )  # fmt: skip

    def _handle_event(self, callback: str, args: tuple[Any, ...]) -> None:
        """One SDK event, on the loop: keep the room's state, then tell the session."""
        if self._teardown_task is not None and self._teardown_task.done():
            return  # released: nothing more reaches the session
        try:
            name, data = to_event(callback, args)
        except Exception:
            log.exception("cannot relay Daily's %s", callback)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("< %s %s", self._participant_id or self.room_url, name)
        handle = getattr(self, f"_{callback}", None)
        if handle is not None:
            data = handle(data)
            if data is None:
                return
        self.listener.on_event(name, data)

    def _on_error(self, data: dict[str, Any]) -> dict[str, Any] | None:
        message = str(data.get("message", ""))
        if message.startswith("Error handling "):
            # A request's failure: its reply carries it already (PROTOCOL.md 6.1, on_error).
            log.debug("Daily: %s", message)
            return None
        return {"code": ErrorCode.BACKEND_ERROR.value, "message": f"Daily: {message}", "details": {"daily_error": message}}

    def _on_call_state_updated(self, data: dict[str, Any]) -> dict[str, Any]:
        self.call_state = str(data.get("state"))
        log.debug("= %s call state %s", self._participant_id or self.room_url, self.call_state)
        if self.call_state == "left" and self._state is State.JOINED:
            self._backend.spawn(self._removed("ejected"), "daily-removed")
        return data

    def _on_participant_joined(self, data: dict[str, Any]) -> dict[str, Any] | None:
        doc = data.get("participant") or {}
        pid = doc.get("id")
        if not isinstance(pid, str) or (doc.get("info") or {}).get("isLocal"):
            return data
        self._others[pid] = doc
        self._watch_audio(doc)
        return data

    def _on_participant_updated(self, data: dict[str, Any]) -> dict[str, Any]:
        doc = data.get("participant") or {}
        pid = doc.get("id")
        if (doc.get("info") or {}).get("isLocal") or (pid is not None and pid == self._participant_id):
            self._local = doc
            if pid and not self._participant_id:
                self._participant_id = pid
        elif isinstance(pid, str):
            self._others[pid] = doc
            self._watch_audio(doc)
        return data

    def _on_participant_left(self, data: dict[str, Any]) -> dict[str, Any]:
        doc = data.get("participant") or {}
        pid = doc.get("id")
        if isinstance(pid, str):
            self._others.pop(pid, None)
            for source in AUDIO_SOURCES:
                self._end_audio(pid, source)
                inbox = self._inboxes.pop((pid, source), None)
                if inbox is not None:
                    inbox.close()
            for key in [k for k in self._video_in if k[0] == pid]:
                self._video_in.pop(key).close()
        return data

    def _on_transcription_started(self, data: dict[str, Any]) -> dict[str, Any]:
        status = data.get("status") or {}
        started_by = status.get("startedBy") if isinstance(status, dict) else None
        if started_by is None or started_by == self._participant_id:  # someone else's start is not ours
            for waiter in self._transcription_waiters:
                if not waiter.done():
                    waiter.set_result(status)
        return data

    def _on_transcription_stopped(self, data: dict[str, Any]) -> dict[str, Any]:
        self._transcribing = False
        return data

    def _on_dialin_ready(self, data: dict[str, Any]) -> dict[str, Any]:
        settings = self.params.get("dialin_settings")
        if settings:
            self._backend.spawn(self._dialin_update(settings, str(data.get("sip_endpoint", ""))), "daily-dialin")
        return data

    async def _dialin_update(self, settings: dict[str, Any], sip_uri: str) -> None:
        """Route the waiting pinless dial-in call here (Daily REST); a failure is an ``error`` event."""
        from .rest import DailyRestClient, DailyRestError

        call_id = settings.get("call_id") or settings.get("callId")
        call_domain = settings.get("call_domain") or settings.get("callDomain")
        try:
            client = DailyRestClient(
                self.params.get("api_key") or self._backend.config.daily_api_key or "",
                api_url=self.params.get("api_url") or self._backend.config.daily_api_url,
            )
            await client.pinless_dialin_update(str(call_id), str(call_domain), sip_uri)
        except DailyRestError as exc:  # messages are redacted by rest.py: the key is never in them
            log.warning("pinless dial-in update for %s failed: %s", self.room_url, exc)
            if self._state is State.JOINED:
                self.listener.on_event(
                    "error",
                    {
                        "code": ErrorCode.BACKEND_ERROR.value,
                        "message": f"routing the dial-in call failed: {exc}",
                        "details": {"daily_rest_error": getattr(exc, "code", "rest_error")},
                    },
                )

    # ------------------------------------------------------------------ received audio

    def _watch_audio(self, doc: dict[str, Any]) -> None:
        """Render a remote participant's microphone (always) and screenAudio (once it is on)."""
        fmt, client = self.options.audio_in, self._client
        pid = doc.get("id")
        if fmt is None or client is None or self._mixed or not is_uuid(pid) or pid == self._participant_id:
            return
        assert isinstance(pid, str)
        media = doc.get("media") or {}
        for source in AUDIO_SOURCES:
            track = media.get(source) or {}
            state = track.get("state", "off")
            key = (pid, source)
            if key not in self._inboxes and (source == "microphone" or state != "off"):
                self._inboxes[key] = AudioInbox(self._loop_or_running(), self._audio_sink(pid, source))
                try:
                    client.set_audio_renderer(
                        pid,
                        self._on_audio_data,
                        audio_source=source,
                        sample_rate=fmt.sample_rate,
                        callback_interval_ms=RENDER_INTERVAL_MS,
                    )
                except (RuntimeError, ValueError, TypeError) as exc:
                    log.warning("cannot render %s's %s: %s", pid, source, exc)
            # Muted, unpublished, or unsubscribed by this session (update-subscriptions): the track ends.
            if (state == "off" or track.get("subscribed") == "unsubscribed") and key in self._active_audio:
                self._end_audio(pid, source)

    def _loop_or_running(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    def _audio_sink(self, pid: str, source: str) -> Callable[[bytes, int, int], None]:
        key, listener = (pid, source), self.listener

        def deliver(pcm: bytes, rate: int, channels: int) -> None:
            if self._state is State.JOINED:
                self._active_audio.add(key)
                listener.on_audio(pid, source, pcm, rate, channels)

        return deliver

    def _end_audio(self, pid: str, source: str) -> None:
        key = (pid, source)
        inbox = self._inboxes.get(key)
        if inbox is not None:
            inbox.clear()
        if key in self._active_audio:
            self._active_audio.discard(key)
            self.listener.on_track_ended(pid, source)

    def _on_audio_data(self, participant_id: str, audio: Any, audio_source: str) -> None:
        """Audio renderer: on an SDK thread; bounded hand-over, oldest dropped."""
        inbox = self._inboxes.get((participant_id, audio_source))
        if inbox is not None:
            inbox.push(audio.audio_frames, audio.sample_rate, audio.num_channels)


__all__ = ["AUDIO_SOURCES", "SERVER_REQUESTS", "DailyTransport", "State"]
