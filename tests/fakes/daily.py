"""A fake of daily-python (0.36) for tests: the same API and threading, with scripted behaviour.

Use :class:`FakeSdk` wherever the code under test expects the ``daily`` module: it has the same
names (``Daily``, ``CallClient``, ``EventHandler``, ``CustomAudioSource`` ...). Every fake object
exposes exactly the real object's public API plus one attribute, ``fake``, for tests only.

What the real SDK does, observed offline on this machine (daily-python 0.36.0, Linux x86_64), and
which the fake reproduces; ``tests/unit/test_daily_sdk_offline.py`` pins the facts that can be
observed without Daily's servers:

Signatures
  * The runtime (``inspect.signature`` works: the native methods carry ``__text_signature__``) is
    the truth; the shipped ``__init__.pyi`` stubs are hand-written and wrong in places:
    ``add/remove_live_streaming_endpoings`` (stub) vs ``..._endpoints`` (runtime);
    ``send_app_message`` has no ``serialize_none`` at runtime (passing it raises TypeError);
    ``stop_dialout(participant_id)`` is required at runtime; ``set_audio_renderer`` and
    ``set_video_renderer`` take ``logging_interval_ms=10000``; ``write_frames(frames)``,
    ``analyze_frames(frames)``, ``read_frames(num_frames)`` (stub: frame, frame, num_frame);
    ``NativeVad.reset_period_ms`` (stub: rest_period_ms); ``create_native_vad`` defaults to
    ``reset_period_ms=1000`` (stub: 500); ``LogLevel`` has no ``.value``; ``EventHandler`` also has
    ``on_dialin_connected/error/stopped/warning`` and ``on_transcription_updated(update)``, and
    ``on_live_stream_updated(update)`` (stub: state). The fake follows the runtime.

Process aborts (a Rust panic that kills the interpreter, no exception): ``CallClient()`` before
  ``Daily.init()``; a second ``Daily.init()``; ``release()`` after ``Daily.deinit()``;
  ``set_video_renderer`` with a participant id that is not a UUID (even ``"local"``). The fake
  raises :class:`FakeSdkAbort` (a ``BaseException``, so ``except Exception`` cannot hide it).
  ``deinit()`` then ``init()`` again works.

Threads
  * ``Daily.init()`` starts 6 OS threads (daily_network_t, daily_signaling, daily_worker_th,
    AudioDeviceBuff, 2 x daily-core); each ``CallClient`` adds 4 (SoupSignalling,
    mediasoup-manag, "Daily CallManag", daily-emitter) and ``release()`` ends them (one may linger
    for a moment). No growth over 40 create/release cycles.
  * Every ``completion`` and every ``EventHandler.on_*`` of one client runs on that client's
    single "daily-emitter" thread (Python sees it as ``Dummy-N``), in FIFO order; never on the
    caller's thread. Blocking in a callback on another completion of the same client therefore
    deadlocks. Calling the client from a callback (e.g. ``leave`` in the join completion) works.
  * ``CustomAudioSource.write_frames`` completions run on a "DailyAudioSender" thread.
  * An exception raised by a callback is printed to stderr and swallowed. The fake records it in
    ``fake.callback_errors`` (and ``FakeSdk.callback_errors``) so that tests can assert on it.

Requests are serialized per client
  * join, leave, every completion method and ``participants()`` go through one queue: a second
    join, a leave, a send_app_message all wait behind a pending join, and ``participants()``
    BLOCKS ITS CALLER until the pending join ends (17.5 s observed for an unreachable room)
    WHILE HOLDING THE GIL: no other Python thread of the process runs meanwhile (the event loop
    included). The fake cannot freeze the process; it records such a call in ``FakeSdk.stalls``,
    which ``assert_no_callback_errors`` fails on. The other getters (``inputs()``,
    ``publishing()``, ``subscriptions()``, ``subscription_profiles()``, ``participant_counts()``,
    ``active_speaker()``, ``get_network_stats()``) answer at once from a cache, join or not.
  * ``release()`` blocks until the pending join ends (17.7 s observed), the join's callbacks
    still fire, and requests queued behind the join are DROPPED: their completions never come.
  * ``set_user_name`` returns at once; its ``on_participant_updated(local)`` comes through the
    queue (at once, or after a pending join), and only when the name changed.
  * The SDK's own argument checks (``daily_checks.py``: participant ids, permission shapes,
    subscription shapes, DTMF / SIP / dial-out settings...) answer at once, ahead of the queue,
    with the completion's error and ``on_error``; ``send_app_message`` raises instead for
    ``None`` (ValueError), a bad participant id (ValueError) or an unsupported type (TypeError).

Completions
  * ``join``: ``completion(join_data, None)`` on success (JoinData ``{meetingSession: {id},
    participants: {local: ...}}`` per the docs: success cannot be observed offline), or
    ``completion(None, error_string)``. ``start_recording``/``start_dialout``:
    ``(id, None)`` or ``(None, error)``. All others: ``completion(None)`` or ``completion(error)``.
  * Every failed request is followed by ``on_error("Error handling <camelName>: <error>")``
    (e.g. ``sendAppMessage``, ``startRecording``, ``sendDTMF``, ``setParticipantAudioRenderer``).
  * Unparsable URL: ``completion(None, 'Failed to parse url: InvalidUrl("<url>",
    RelativeUrlWithoutBase)')`` at once, then ``on_error('Error handling join: ...')``.
  * Unreachable room: after ~19 s ``on_error("Failed to fetch room information: GET failed:
    client error (Connect)")``, ``on_call_state_updated("leaving")``, ``("left")``,
    ``completion(None, 'Connection(Api(RoomLookup(...)))')``, ``on_error("Error handling join:
    ...")``. No "joining" state is emitted first.
  * ``leave`` (even before any join): ``on_call_state_updated("leaving")``, ``("left")``,
    ``completion(None)``.
  * The place of ``"left"`` is NOT stable, after a failed join as after a leave: in some runs
    (about 1 in 5 under load) it comes after the completion (and after the join's second
    on_error). ``Script.left_after_completion`` plays that order; code must not rely on either.
  * Outside a call: ``send_app_message`` -> ``AppMessage(Signalling(ChannelNotOpen))``;
    recording, transcription, dial-out, SIP, live stream, permissions, remote participants ->
    ``<Area>(CallState(NotInACall))``. ``update_inputs``, ``update_publishing``,
    ``update_subscriptions``, ``update_subscription_profiles``, custom tracks, proxy and ICE
    config succeed. Inputs / publishing: ``*_updated``, ``on_participant_updated(local)``, then
    the completion, but ONLY when something changed (an update that changes nothing completes
    with no event). Subscriptions and subscription profiles: their event every time, changed or
    not, usually before the completion but not always (3 in 10 after it);
    ``Script.completion_before_event`` plays the other order.
  * ``leave()`` makes the local participant a new one: ``participants()["local"]["id"]`` changes.
  * ``on_network_connection_status_updated`` is declared but never called by daily-python 0.36:
    the fake refuses to emit it (:data:`NEVER_EMITTED`).
  * After ``release()`` every method raises ``RuntimeError("this object has already been
    released")``, a second ``release()`` included.

Media
  * ``CustomAudioSource.write_frames(frames)`` returns the frame count (samples per channel);
    with a completion it returns at once and calls ``completion(count)`` once the audio has
    played at real time; without one it blocks for that long. It plays whole 10 ms blocks of
    ``sample_rate // 100`` frames: a write takes its length rounded UP to whole blocks (330 frames
    at 16 kHz: 30 ms; 441 frames at 22050 Hz: 30 ms), so a rate that is not a multiple of 100 Hz
    plays slower than real time. ``CustomAudioSource(0, 1)`` and 3 channels are accepted. Odd byte counts raise
    ``ValueError("frames bytestring should contain 16-bit samples")``.
  * ``CustomVideoSource.write_frame`` raises ``ValueError`` on a size mismatch;
    ``CustomVideoSource`` and ``set_video_renderer`` raise ``ValueError`` for a color format
    other than RGBA, BGRA, ARGB, ABGR, RGB, I420 (``BGR`` included).
  * ``set_audio_renderer`` with a non-UUID id logs an error and registers nothing.
  * Native VAD returns a float in [0, 1]: 0.0 for silence, ~0.5 for a tone, more for noise.

Not observable offline, so the fake's choice: the join success sequence ("joining", "joined",
completion), and the renderer callbacks' thread (the fake uses its own per-client media threads).
"""

from __future__ import annotations

import copy
import functools
import inspect
import itertools
import logging
import math
import queue
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import daily as _real
import numpy as np

from tests.fakes import daily_checks as checks

__all__ = [
    "CallClientControl",
    "FakeAudioData",
    "FakeCall",
    "FakeCallClient",
    "FakeCustomAudioSource",
    "FakeCustomAudioTrack",
    "FakeCustomVideoSource",
    "FakeCustomVideoTrack",
    "FakeDaily",
    "FakeNativeVad",
    "FakeSdk",
    "FakeSdkAbort",
    "FakeVideoFrame",
    "FakeVirtualCameraDevice",
    "FakeVirtualMicrophoneDevice",
    "FakeVirtualSpeakerDevice",
    "PushHandle",
    "Script",
    "make_participant",
]

logger = logging.getLogger("tests.fakes.daily")

EVENT_NAMES: tuple[str, ...] = tuple(sorted(n for n in dir(_real.EventHandler) if n.startswith("on_")))
"""Every event the real EventHandler declares."""
NEVER_EMITTED = frozenset({"on_network_connection_status_updated"})
"""Callbacks the real EventHandler declares but daily-python 0.36 never calls: the fake refuses to emit them."""

RELEASED = "this object has already been released"
UNREACHABLE_EVENT_ERROR = "Failed to fetch room information: GET failed: client error (Connect)"
UNREACHABLE_JOIN_ERROR = (
    "Connection(Api(RoomLookup(RoomInfoFetchFailed(Get(hyper_util::client::legacy::Error(Connect, "
    'Custom { kind: Uncategorized, error: "failed to lookup address information: Name or service '
    'not known" }))))))'
)
_CHANNEL_NOT_OPEN = "AppMessage(Signalling(ChannelNotOpen))"
# What each request answers when the client is not in a call (observed strings).
_NOT_IN_CALL: dict[str, str] = {
    "send_app_message": _CHANNEL_NOT_OPEN,
    "send_prebuilt_chat_message": _CHANNEL_NOT_OPEN,
    "update_permissions": "Permissions(CallState(NotInACall))",
    "update_remote_participants": "RemoteParticipants(CallState(NotInACall))",
    "eject_remote_participants": "RemoteParticipants(CallState(NotInACall))",
    **dict.fromkeys(("start_recording", "stop_recording", "update_recording"), "Recording(CallState(NotInACall))"),
    **dict.fromkeys(
        ("start_transcription", "stop_transcription", "update_transcription"),
        "Transcription(CallState(NotInACall))",
    ),
    **dict.fromkeys(("start_dialout", "stop_dialout", "send_dtmf"), "Dialout(CallState(NotInACall))"),
    **dict.fromkeys(("sip_call_transfer", "sip_refer"), "Sip(CallState(NotInACall))"),
    **dict.fromkeys(
        (
            "start_live_stream_with_endpoints",
            "start_live_stream_with_rtmp_urls",
            "stop_live_stream",
            "update_live_stream",
            "add_live_streaming_endpoints",
            "remove_live_streaming_endpoints",
        ),
        "LiveStream(CallState(NotInACall))",
    ),
}
# The core's request names, as they appear in "Error handling <name>: ..." (observed where known).
_CAMEL: dict[str, str] = {
    "send_dtmf": "sendDTMF",
    "start_live_stream_with_endpoints": "startLiveStream",
    "start_live_stream_with_rtmp_urls": "startLiveStream",
    "set_audio_renderer": "setParticipantAudioRenderer",
    "set_video_renderer": "setParticipantVideoRenderer",
}
# Completions with two arguments: (result, error).
_TWO_ARG = frozenset({"join", "start_recording", "start_dialout"})
_BYTES_PER_PIXEL = {"ABGR": 4.0, "ARGB": 4.0, "BGRA": 4.0, "RGBA": 4.0, "RGB": 3.0, "I420": 1.5}


def _camel(name: str) -> str:
    if name in _CAMEL:
        return _CAMEL[name]
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Deep-merge ``update`` into ``into`` (how Daily applies partial settings)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


# ---------------------------------------------------------------------------- default documents
# Shapes as the real client returns them before joining (observed), trimmed of nothing.

_OFF = {"offReasons": ["user"], "state": "off", "subscribed": "unsubscribed"}
_ON = {"offReasons": [], "state": "playable", "subscribed": "subscribed"}


def make_participant(
    participant_id: str | None = None,
    *,
    user_name: str | None = None,
    local: bool = False,
    is_owner: bool = False,
    user_id: str | None = None,
    microphone: bool = True,
    camera: bool = False,
) -> dict[str, Any]:
    """A participant document shaped like Daily's (``id``, ``info``, ``media``)."""
    info: dict[str, Any] = {"isLocal": local, "isOwner": is_owner, "joinedAt": int(time.time())}
    if user_name is not None:
        info["userName"] = user_name
    if user_id is not None:
        info["userId"] = user_id
    return {
        "id": participant_id or str(uuid.uuid4()),
        "info": info,
        "media": {
            "camera": dict(_ON if camera else _OFF),
            "customAudio": {},
            "customVideo": {},
            "microphone": dict(_ON if microphone else _OFF),
            "screenAudio": dict(_OFF),
            "screenVideo": dict(_OFF),
        },
    }


def _default_inputs() -> dict[str, Any]:
    return {
        "camera": {
            "isEnabled": False,
            "settings": {
                "customConstraints": {},
                "facingMode": "user",
                "frameRate": 30,
                "height": 720,
                "processor": {"processor": "none"},
                "torch": False,
                "width": 1280,
                "zoom": 1.0,
            },
        },
        "customAudio": {},
        "customVideo": {},
        "microphone": {"isEnabled": False, "settings": {"customConstraints": {}}},
        "screenAudio": {"isEnabled": False, "settings": {}},
        "screenVideo": {"isEnabled": False, "settings": {}},
    }


def _default_publishing() -> dict[str, Any]:
    return {
        "camera": {"isPublishing": True, "sendSettings": {"maxQuality": "high", "preferredCodec": "VP8"}},
        "customAudio": {},
        "customVideo": {},
        "microphone": {"isPublishing": True, "sendSettings": {"channelConfig": "mono"}},
        "screenVideo": {"isPublishing": True, "sendSettings": {"maxQuality": "high", "preferredCodec": "VP8"}},
    }


def _default_profiles() -> dict[str, Any]:
    video = {"receiveSettings": {"maxQuality": "high"}, "subscriptionState": "subscribed"}
    audio = {"receiveSettings": {}, "subscriptionState": "subscribed"}
    return {
        "base": {
            "camera": dict(video),
            "customAudio": {},
            "customVideo": {},
            "microphone": dict(audio),
            "screenAudio": dict(audio),
            "screenVideo": dict(video),
        }
    }


# -------------------------------------------------------------------------------- plumbing


class FakeSdkAbort(BaseException):
    """The real SDK would abort the whole process here (a Rust panic); the fake raises instead.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in the code under test
    cannot swallow what would have killed the gateway.
    """


@dataclass
class FakeCall:
    """One call the code under test made on a fake, with its arguments bound by name."""

    name: str
    args: dict[str, Any]
    thread: str
    at: float


@dataclass
class Delivered:
    """One callback the fake invoked: its kind, name and the thread it ran on."""

    kind: str  # "event" | "completion" | "audio" | "video"
    name: str
    args: tuple[Any, ...]
    thread: str


@dataclass
class CallbackError:
    """An exception a callback of the code under test raised (the real SDK prints and swallows it)."""

    where: str
    error: BaseException


class _Worker:
    """A named thread running submitted callables in order: an emitter, a request queue, a sender."""

    def __init__(self, name: str, on_crash: Callable[[str, BaseException], None]) -> None:
        self.name = name
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._pending = 0
        self._cond = threading.Condition()
        self._on_crash = on_crash
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            self._pending += 1
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except BaseException as exc:  # a bug in the fake itself: never kill the thread silently
                self._on_crash(self.name, exc)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def on_this_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted job has run; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if not self.on_this_thread():
            self.thread.join(timeout)


@dataclass
class Script:
    """How a fake CallClient behaves; ``FakeSdk.script`` is copied into each new client.

    Attributes are plain data so that a test sets them directly before or after creating a client.
    """

    join_error: str | None = None
    """Make ``join`` fail with this completion error (after ``join_delay``)."""
    join_error_event: str | None = None
    """Text of the first ``on_error`` of a failed join; defaults to ``join_error``."""
    join_delay: float = 0.0
    """Seconds a join takes (19 s for an unreachable room with the real SDK)."""
    completion_delay: float = 0.0
    """Seconds every other request takes before its completion."""
    delays: dict[str, float] = field(default_factory=dict)
    """Per-method delay, overriding ``completion_delay`` (key: method name)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Per-method failure: the error string its completion receives (key: method name)."""
    remote_participants: list[dict[str, Any]] = field(default_factory=list)
    """Participants already in the room at join: in JoinData and ``participants()``."""
    local_info: dict[str, Any] = field(default_factory=dict)
    """Merged into the local participant's ``info`` by a successful join (an owner token: ``{"isOwner": True}``)."""
    left_after_completion: bool = False
    """Emit "left" after the completion of the failed join or leave that caused it (the real order varies)."""
    completion_before_event: bool = False
    """Complete update_subscriptions / update_subscription_profiles before their event (the real order varies)."""
    max_block: float = 30.0
    """Longest the fake lets a blocking call (getter, release) wait before failing the test."""

    def fail_join_unreachable(self, delay: float = 0.0) -> None:
        """Script the real SDK's answer to an unreachable room (which takes ~19 s for real)."""
        self.join_error = UNREACHABLE_JOIN_ERROR
        self.join_error_event = UNREACHABLE_EVENT_ERROR
        self.join_delay = delay

    def copy(self) -> Script:
        return copy.deepcopy(self)


def _api(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a fake API method: bind arguments like the real one (TypeError), refuse after release, record."""
    sig = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        control = self.fake
        if control._released:
            raise RuntimeError(RELEASED)
        control._record(method.__name__, {k: v for k, v in bound.arguments.items() if k != "self"})
        return method(self, *args, **kwargs)

    return wrapper


# ------------------------------------------------------------------------------- media values


class FakeAudioData:
    """Fake of ``daily.AudioData``: what an audio renderer callback receives."""

    def __init__(self, audio_frames: bytes, sample_rate: int, num_channels: int = 1) -> None:
        self._frames = audio_frames
        self._rate = sample_rate
        self._channels = num_channels

    @property
    def bits_per_sample(self) -> int:
        return 16

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def num_channels(self) -> int:
        return self._channels

    @property
    def num_audio_frames(self) -> int:
        return len(self._frames) // (2 * self._channels)

    @property
    def audio_frames(self) -> bytes:
        return self._frames


class FakeVideoFrame:
    """Fake of ``daily.VideoFrame``: what a video renderer callback receives."""

    def __init__(self, buffer: bytes, width: int, height: int, timestamp_us: int, color_format: str) -> None:
        self._buffer, self._width, self._height = buffer, width, height
        self._ts, self._format = timestamp_us, color_format

    @property
    def buffer(self) -> bytes:
        return self._buffer

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def timestamp_us(self) -> int:
        return self._ts

    @property
    def color_format(self) -> str:
        return self._format


class FakeCustomAudioTrack:
    """Fake of ``daily.CustomAudioTrack``."""

    def __init__(self, audio_source: FakeCustomAudioSource) -> None:
        self._source = audio_source
        self._id = str(uuid.uuid4())

    @property
    def id(self) -> str:
        return self._id


class FakeCustomVideoTrack:
    """Fake of ``daily.CustomVideoTrack``."""

    def __init__(self, video_source: FakeCustomVideoSource) -> None:
        self._source = video_source
        self._id = str(uuid.uuid4())

    @property
    def id(self) -> str:
        return self._id


class AudioSourceControl:
    """Test side of a fake CustomAudioSource: what was written, and its sender thread."""

    def __init__(self, sdk: FakeSdk | None, sample_rate: int, channels: int) -> None:
        self.written = bytearray()
        """Every byte written, in order."""
        self.writes: list[int] = []
        """Frame count of each write_frames call."""
        self._sdk = sdk
        self._rate = sample_rate
        self._channels = channels
        self._lock = threading.Lock()
        self._playhead = 0.0
        self._sender: _Worker | None = None
        self._stop = threading.Event()
        self.auto_silence = True
        """The constructor's ``auto_silence``."""

    def _schedule(self, frames: bytes) -> tuple[int, float]:
        count = len(frames) // (2 * max(1, self._channels))
        # The real source plays in whole 10 ms blocks of rate // 100 frames: each write takes its
        # frame count rounded UP to whole blocks (330 frames at 16 kHz: 30 ms, not 20.6 ms).
        block = max(1, self._rate // 100)
        duration = math.ceil(count / block) * 0.01
        with self._lock:
            self.written += frames
            self.writes.append(count)
            start = max(time.monotonic(), self._playhead)
            self._playhead = start + duration
            return count, self._playhead

    def _sender_worker(self) -> _Worker:
        with self._lock:
            if self._sender is None:
                crash = self._sdk._crash if self._sdk is not None else _log_crash
                self._sender = _Worker(f"fake-daily-audio-sender-{next(_ids)}", crash)
            return self._sender

    def close(self) -> None:
        """Stop the sender thread (FakeSdk.close does this for every source)."""
        self._stop.set()
        if self._sender is not None:
            self._sender.stop()


class FakeCustomAudioSource:
    """Fake of ``daily.CustomAudioSource``: paces writes at real time like the real one."""

    _sdk: ClassVar[FakeSdk | None] = None

    def __init__(self, sample_rate: int, channels: int, auto_silence: bool = True) -> None:
        # The real constructor accepts any rate and channel count (0 included); writes fail later.
        self._rate = sample_rate
        self._channels = channels
        self._auto_silence = auto_silence
        self.fake = AudioSourceControl(self._sdk, sample_rate, channels)
        self.fake.auto_silence = auto_silence
        if self._sdk is not None:
            self._sdk.audio_sources.append(self)

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def write_frames(self, /, frames: bytes, completion: Callable[[int], None] | None = None) -> int:
        if len(frames) % 2:
            raise ValueError("frames bytestring should contain 16-bit samples")
        count, due = self.fake._schedule(bytes(frames))
        if completion is None:
            self.fake._stop.wait(max(0.0, due - time.monotonic()))
            return count
        control = self.fake

        def finish() -> None:
            control._stop.wait(max(0.0, due - time.monotonic()))
            _invoke(control._sdk, None, "completion", "write_frames", completion, (count,))

        control._sender_worker().submit(finish)
        return count


class VideoSourceControl:
    """Test side of a fake CustomVideoSource: the frames written."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []


class FakeCustomVideoSource:
    """Fake of ``daily.CustomVideoSource``."""

    def __init__(self, width: int, height: int, color_format: str = "RGBA") -> None:
        if color_format not in _BYTES_PER_PIXEL:
            raise ValueError(f"unsupported color format {color_format!r}")
        self._width, self._height, self._format = width, height, color_format
        self.fake = VideoSourceControl()

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def color_format(self) -> str:
        return self._format

    def write_frame(self, /, frame: bytes) -> None:
        expected = int(self._width * self._height * _BYTES_PER_PIXEL[self._format])
        if len(frame) != expected:
            raise ValueError(
                f"frame size mismatch: expected {expected} bytes for {self._width}x{self._height} "
                f"{self._format}, got {len(frame)}"
            )
        self.fake.frames.append(bytes(frame))


class VadControl:
    """Test side of a fake NativeVad: queue the confidences it should return."""

    def __init__(self) -> None:
        self.confidences: deque[float] = deque()
        """Returned first, one per analyze_frames call; then an energy heuristic takes over."""
        self.analyzed: list[int] = []


class FakeNativeVad:
    """Fake of ``daily.NativeVad``: an energy heuristic, or scripted confidences."""

    def __init__(self, reset_period_ms: int, sample_rate: int, channels: int) -> None:
        self._reset, self._rate, self._channels = reset_period_ms, sample_rate, channels
        self.fake = VadControl()

    @property
    def reset_period_ms(self) -> int:
        return self._reset

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def analyze_frames(self, /, frames: bytes) -> float:
        if len(frames) % 2:
            raise ValueError("frames bytestring should contain 16-bit samples")
        self.fake.analyzed.append(len(frames))
        if self.fake.confidences:
            return float(self.fake.confidences.popleft())
        if not frames:
            return 0.0
        samples = np.frombuffer(frames, dtype=np.int16).astype(np.float64) / 32768.0
        rms = math.sqrt(float(np.mean(samples * samples)))
        return 0.0 if rms < 1e-4 else min(1.0, rms / 0.05)


class DeviceControl:
    """Test side of a fake virtual device: bytes written to it, bytes it will hand out."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.to_read = bytearray()
        """What read_frames returns next (a speaker hands out b"" when this is empty, like the real one offline)."""
        self.frames: list[bytes] = []


class FakeVirtualSpeakerDevice:
    """Fake of ``daily.VirtualSpeakerDevice``."""

    def __init__(self, name: str, sample_rate: int, channels: int, non_blocking: bool) -> None:
        self._name, self._rate, self._channels, self._non_blocking = name, sample_rate, channels, non_blocking
        self.fake = DeviceControl()

    @property
    def name(self) -> str:
        return self._name

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def read_frames(self, /, num_frames: int, completion: Callable[[bytes], None] | None = None) -> bytes:
        size = num_frames * 2 * self._channels
        data = bytes(self.fake.to_read[:size])
        del self.fake.to_read[:size]
        if completion is not None:
            threading.Thread(
                target=_invoke, args=(None, None, "completion", "read_frames", completion, (data,)),
                name="fake-daily-speaker", daemon=True,
            ).start()  # fmt: skip
        return data


class FakeVirtualMicrophoneDevice:
    """Fake of ``daily.VirtualMicrophoneDevice``."""

    def __init__(self, name: str, sample_rate: int, channels: int, non_blocking: bool) -> None:
        self._name, self._rate, self._channels, self._non_blocking = name, sample_rate, channels, non_blocking
        self.fake = DeviceControl()

    @property
    def name(self) -> str:
        return self._name

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def channels(self) -> int:
        return self._channels

    def write_frames(self, /, frames: bytes, completion: Callable[[int], None] | None = None) -> int:
        if len(frames) % 2:
            raise ValueError("frames bytestring should contain 16-bit samples")
        self.fake.written += frames
        count = len(frames) // (2 * self._channels)
        if completion is not None:
            threading.Thread(
                target=_invoke, args=(None, None, "completion", "write_frames", completion, (count,)),
                name="fake-daily-microphone", daemon=True,
            ).start()  # fmt: skip
        return count


class FakeVirtualCameraDevice:
    """Fake of ``daily.VirtualCameraDevice``."""

    def __init__(self, name: str, width: int, height: int, color_format: str) -> None:
        self._name, self._width, self._height, self._format = name, width, height, color_format
        self.fake = DeviceControl()

    @property
    def name(self) -> str:
        return self._name

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def color_format(self) -> str:
        return self._format

    def write_frame(self, /, frame: bytes) -> None:
        expected = int(self._width * self._height * _BYTES_PER_PIXEL.get(self._format, 4))
        if len(frame) != expected:
            raise ValueError(f"frame size mismatch: expected {expected} bytes, got {len(frame)}")
        self.fake.frames.append(bytes(frame))


# ------------------------------------------------------------------------------------- Daily


class FakeDaily:
    """Fake of ``daily.Daily``; its state lives on the FakeSdk it is bound to (``sdk.Daily``)."""

    _sdk: ClassVar[FakeSdk]

    @classmethod
    def init(cls, worker_threads: int = 2, log_level: _real.LogLevel = _real.LogLevel.Off) -> None:
        sdk = cls._sdk
        if sdk.initialized:
            raise sdk._abort("Daily.init: Execution context already exists!")
        sdk.initialized = True
        sdk.init_calls.append({"worker_threads": worker_threads, "log_level": log_level})

    @classmethod
    def deinit(cls) -> None:
        cls._sdk.initialized = False
        cls._sdk.deinit_calls += 1

    @classmethod
    def set_log_level(cls, log_level: _real.LogLevel) -> None:
        cls._sdk.log_level = log_level

    @classmethod
    def create_camera_device(
        cls, device_name: str, width: int, height: int, color_format: str = "RGBA"
    ) -> FakeVirtualCameraDevice:
        device = FakeVirtualCameraDevice(device_name, width, height, color_format)
        cls._sdk.devices[device_name] = device
        return device

    @classmethod
    def create_speaker_device(
        cls, device_name: str, sample_rate: int = 16000, channels: int = 1, non_blocking: bool = False
    ) -> FakeVirtualSpeakerDevice:
        device = FakeVirtualSpeakerDevice(device_name, sample_rate, channels, non_blocking)
        cls._sdk.devices[device_name] = device
        return device

    @classmethod
    def create_microphone_device(
        cls, device_name: str, sample_rate: int = 16000, channels: int = 1, non_blocking: bool = False
    ) -> FakeVirtualMicrophoneDevice:
        device = FakeVirtualMicrophoneDevice(device_name, sample_rate, channels, non_blocking)
        cls._sdk.devices[device_name] = device
        return device

    @classmethod
    def create_native_vad(
        cls, reset_period_ms: int = 1000, sample_rate: int = 16000, channels: int = 1
    ) -> FakeNativeVad:
        vad = FakeNativeVad(reset_period_ms, sample_rate, channels)
        cls._sdk.vads.append(vad)
        return vad

    @classmethod
    def select_speaker_device(cls, device_name: str) -> None:
        if not isinstance(cls._sdk.devices.get(device_name), FakeVirtualSpeakerDevice):
            raise RuntimeError("unable to select virtual speaker device")
        cls._sdk.selected_speaker = device_name


# --------------------------------------------------------------------------------- callbacks

_ids = itertools.count(1)


def _log_crash(where: str, exc: BaseException) -> None:
    logger.error("fake daily-python crashed in %s", where, exc_info=exc)


def _invoke(
    sdk: FakeSdk | None,
    control: CallClientControl | None,
    kind: str,
    name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    """Run one callback of the code under test; record where it ran and any exception it raised."""
    if control is not None:
        control.delivered.append(Delivered(kind, name, args, threading.current_thread().name))
    try:
        fn(*args)
    except Exception as exc:  # the real SDK prints the traceback and carries on
        logger.error("callback %s %s raised", kind, name, exc_info=exc)
        error = CallbackError(f"{kind} {name}", exc)
        if control is not None:
            control.callback_errors.append(error)
        if sdk is not None:
            sdk.callback_errors.append(error)


@dataclass
class _Renderer:
    participant_id: str
    callback: Callable[..., Any]
    source: str
    sample_rate: int = 16000
    interval_ms: int = 20
    color_format: str = "RGBA"


class PushHandle:
    """Progress of one push_audio / push_video: wait for it, or cancel it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        """Set once every chunk was delivered (or the push was cancelled)."""
        self.chunks = 0
        """Chunks delivered so far."""
        self.cancelled = False

    def wait(self, timeout: float) -> bool:
        return self.done.wait(timeout)

    def cancel(self) -> None:
        self.cancelled = True


# ------------------------------------------------------------------------------- CallClient


class CallClientControl:
    """Test side of a fake CallClient: recorded calls, scripted behaviour, events and media to push."""

    def __init__(self, client: FakeCallClient, sdk: FakeSdk, handler: Any) -> None:
        n = next(_ids)
        self.client = client
        self.sdk = sdk
        self.handler = handler
        self.script: Script = sdk.script.copy()
        """This client's behaviour; a copy of ``FakeSdk.script`` taken at construction."""
        self.calls: list[FakeCall] = []
        """Every API call, in order, arguments bound by name."""
        self.delivered: list[Delivered] = []
        """Every callback invoked, with the thread it ran on."""
        self.callback_errors: list[CallbackError] = []
        self.app_messages: list[tuple[Any, str | None]] = []
        """(message, participant_id) of each app message sent while joined."""
        self.audio_renderers: dict[tuple[str, str], _Renderer] = {}
        self.video_renderers: dict[tuple[str, str], _Renderer] = {}
        self.call_state = "initialized"
        self.meeting_url: str | None = None
        self.meeting_token: str | None = None
        self._released = False
        self._stop = threading.Event()
        self._releasing = False
        self._join_pending = False
        self._renderer_added = threading.Condition()
        self._participants: dict[str, dict[str, Any]] = {"local": make_participant(local=True)}
        self._inputs = _default_inputs()
        self._publishing = _default_publishing()
        self._profiles = _default_profiles()
        self._subscriptions: dict[str, Any] = {}
        self._active_speaker: dict[str, Any] | None = None
        self._emitter = _Worker(f"fake-daily-emitter-{n}", sdk._crash)
        self._core = _Worker(f"fake-daily-core-{n}", sdk._crash)
        self._audio = _Worker(f"fake-daily-audio-{n}", sdk._crash)
        self._video = _Worker(f"fake-daily-video-{n}", sdk._crash)

    # -- what tests read

    @property
    def released(self) -> bool:
        return self._released

    @property
    def local_id(self) -> str:
        return str(self._participants["local"]["id"])

    @property
    def threads(self) -> list[threading.Thread]:
        """The fake's own threads for this client (all stopped after release)."""
        return [w.thread for w in (self._emitter, self._core, self._audio, self._video)]

    def calls_named(self, name: str) -> list[dict[str, Any]]:
        """Arguments of every call to ``name``, in order."""
        return [c.args for c in self.calls if c.name == name]

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every queued request ran and every callback was delivered."""
        deadline = time.monotonic() + timeout
        for worker in (self._core, self._emitter, self._core, self._emitter):
            if worker.on_this_thread():
                raise RuntimeError("drain() called from the fake's own thread would deadlock")
            if not worker.wait_idle(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"fake CallClient still busy after {timeout} s")

    # -- scripting

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Deliver ``EventHandler.<event>(*args)`` from the emitter thread, as Daily would.

        Raises:
            AttributeError: ``event`` is not a real EventHandler method.
            ValueError: ``event`` is one the real SDK never sends (:data:`NEVER_EMITTED`).
            TypeError: the arguments do not fit the real method's signature.
        """
        if event not in EVENT_NAMES:
            raise AttributeError(f"daily.EventHandler has no {event!r}")
        if event in NEVER_EMITTED:
            raise ValueError(f"daily-python 0.36 declares {event} but never calls it: a test must not rely on it")
        bound = inspect.signature(getattr(_real.EventHandler, event)).bind(None, *args, **kwargs)
        self._emit(event, *bound.args[1:])

    def add_participant(self, participant: Mapping[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """A remote participant joins: in participants() and announced with on_participant_joined."""
        doc = dict(participant) if participant is not None else make_participant(**kw)
        self._participants[doc["id"]] = doc
        self._emit("on_participant_joined", copy.deepcopy(doc))
        self._emit("on_participant_counts_updated", self._counts())
        return doc

    def remove_participant(self, participant_id: str, reason: str = "leftCall") -> None:
        """A remote participant leaves: on_participant_left(participant, reason), renderers dropped."""
        doc = self._participants.pop(participant_id)
        for key in [k for k in self.audio_renderers if k[0] == participant_id]:
            del self.audio_renderers[key]
        for key in [k for k in self.video_renderers if k[0] == participant_id]:
            del self.video_renderers[key]
        self._emit("on_participant_left", doc, reason)
        self._emit("on_participant_counts_updated", self._counts())

    def set_active_speaker(self, participant_id: str) -> None:
        self._active_speaker = copy.deepcopy(self._participants[participant_id])
        self._emit("on_active_speaker_changed", copy.deepcopy(self._active_speaker))

    def wait_for_renderer(self, participant_id: str, source: str = "microphone", timeout: float = 5.0) -> None:
        """Block until the code under test registered an audio renderer for that participant."""
        with self._renderer_added:
            if not self._renderer_added.wait_for(lambda: (participant_id, source) in self.audio_renderers, timeout):
                raise TimeoutError(f"no audio renderer for {participant_id}/{source} after {timeout} s")

    def push_audio(
        self,
        participant_id: str,
        pcm: bytes,
        sample_rate: int,
        *,
        audio_source: str = "microphone",
        speed: float = 1.0,
    ) -> PushHandle:
        """Feed mono PCM16 to the registered renderer at real time (``speed`` x), from the audio thread.

        The audio is resampled (linear, test quality) to the renderer's rate and cut into chunks of
        its ``callback_interval_ms``; the last chunk is padded with silence.

        Raises:
            LookupError: no renderer is registered for that participant and source.
        """
        renderer = self.audio_renderers.get((participant_id, audio_source))
        if renderer is None:
            raise LookupError(f"no audio renderer for {participant_id}/{audio_source}")
        if len(pcm) % 2:
            raise ValueError("pcm must be 16-bit samples")
        samples = np.frombuffer(pcm, dtype=np.int16)
        if sample_rate != renderer.sample_rate and len(samples):
            count = max(1, round(len(samples) * renderer.sample_rate / sample_rate))
            positions = np.arange(count) * (sample_rate / renderer.sample_rate)
            samples = np.round(np.interp(positions, np.arange(len(samples)), samples)).astype(np.int16)
        per_chunk = renderer.sample_rate * renderer.interval_ms // 1000
        data = samples.tobytes()
        handle = PushHandle()
        interval = renderer.interval_ms / 1000 / speed

        def play() -> None:
            start = time.monotonic()
            for i in range(math.ceil(len(data) / (2 * per_chunk))):
                if handle.cancelled or self._stop.wait(max(0.0, start + (i + 1) * interval - time.monotonic())):
                    break
                chunk = data[i * 2 * per_chunk : (i + 1) * 2 * per_chunk].ljust(2 * per_chunk, b"\0")
                audio = FakeAudioData(chunk, renderer.sample_rate, 1)
                _invoke(self.sdk, self, "audio", participant_id, renderer.callback,
                        (participant_id, audio, audio_source))  # fmt: skip
                handle.chunks += 1
            handle.done.set()

        self._audio.submit(play)
        return handle

    def push_video(
        self,
        participant_id: str,
        buffer: bytes,
        width: int,
        height: int,
        *,
        video_source: str = "camera",
    ) -> PushHandle:
        """Deliver one frame (already in the renderer's color format) from the video thread."""
        renderer = self.video_renderers.get((participant_id, video_source))
        if renderer is None:
            raise LookupError(f"no video renderer for {participant_id}/{video_source}")
        expected = int(width * height * _BYTES_PER_PIXEL[renderer.color_format])
        if len(buffer) != expected:
            raise ValueError(f"expected {expected} bytes for {width}x{height} {renderer.color_format}")
        handle = PushHandle()
        frame = FakeVideoFrame(bytes(buffer), width, height, int(time.monotonic() * 1e6), renderer.color_format)

        def show() -> None:
            if not handle.cancelled and not self._stop.is_set():
                _invoke(self.sdk, self, "video", participant_id, renderer.callback,
                        (participant_id, frame, video_source))  # fmt: skip
                handle.chunks = 1
            handle.done.set()

        self._video.submit(show)
        return handle

    # -- internals shared with FakeCallClient

    def _record(self, name: str, args: dict[str, Any]) -> None:
        self.calls.append(FakeCall(name, args, threading.current_thread().name, time.monotonic()))

    def _counts(self) -> dict[str, int]:
        present = len(self._participants) if self.call_state == "joined" else len(self._participants) - 1
        return {"hidden": 0, "present": present}

    def _emit(self, event: str, *args: Any) -> None:
        handler = self.handler
        if handler is None:
            return
        self._emitter.submit(lambda: _invoke(self.sdk, self, "event", event, getattr(handler, event), args))

    def _complete(self, name: str, completion: Callable[..., Any] | None, *args: Any) -> None:
        if completion is not None:
            self._emitter.submit(lambda: _invoke(self.sdk, self, "completion", name, completion, args))

    def _fail(self, name: str, completion: Callable[..., Any] | None, error: str) -> None:
        """A failed request: its completion gets the error, then on_error tells the handler too."""
        if name in _TWO_ARG:
            self._complete(name, completion, None, error)
        else:
            self._complete(name, completion, error)
        self._emit("on_error", f"Error handling {_camel(name)}: {error}")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _request(
        self,
        name: str,
        completion: Callable[..., Any] | None,
        run: Callable[[], None],
        *,
        needs_call: bool = False,
    ) -> None:
        """Queue one request behind the others (the real core serializes them)."""

        def job() -> None:
            if self._releasing:
                return  # release() drops the requests still queued: their completions never come
            script = self.script
            self._sleep(script.delays.get(name, script.completion_delay))
            if name in script.errors:
                self._fail(name, completion, script.errors[name])
            elif needs_call and self.call_state != "joined":
                self._fail(name, completion, _NOT_IN_CALL[name])
            else:
                run()

        self._core.submit(job)

    def _peek(self, compute: Callable[[], Any]) -> Any:
        """A getter that answers at once from the cached state (all but participants(), as observed)."""
        for _ in range(10):
            try:
                return copy.deepcopy(compute())
            except RuntimeError:  # changed by the core thread while copied: copy again
                continue
        return copy.deepcopy(compute())

    def _query(self, name: str, compute: Callable[[], Any]) -> Any:
        """``participants()``: it waits for its turn in the request queue, blocking the caller like the real one.

        The real one holds the GIL while it waits (~19 s behind a join to an unreachable room), which
        freezes every thread of the process: the fake records that in ``FakeSdk.stalls``.
        """
        if self._join_pending:
            self.sdk.stalls.append(f"{name}() while a join is pending would freeze the process (GIL held)")
        box: list[Any] = []
        ready = threading.Event()

        def job() -> None:
            box.append(copy.deepcopy(compute()))
            ready.set()

        self._core.submit(job)
        if not ready.wait(self.script.max_block):
            raise TimeoutError(f"fake {name}() blocked for more than {self.script.max_block} s")
        return box[0]

    def _shutdown(self, *, wait: bool) -> None:
        """Stop every thread of this client; with ``wait``, first let the request in progress finish."""
        self._releasing = True
        if wait:
            if not self._core.on_this_thread() and not self._core.wait_idle(self.script.max_block):
                raise TimeoutError(f"fake release() blocked for more than {self.script.max_block} s")
            if not self._emitter.on_this_thread():
                self._emitter.wait_idle(self.script.max_block)
        self._stop.set()
        for worker in (self._core, self._audio, self._video, self._emitter):
            worker.stop()
        self._released = True


class FakeCallClient:
    """Fake of ``daily.CallClient``: same methods and parameters; callbacks come from its own threads."""

    _sdk: ClassVar[FakeSdk]
    fake: CallClientControl

    def __init__(self, event_handler: Any = None) -> None:
        sdk = self._sdk
        if not sdk.initialized:
            raise sdk._abort(
                "CallClient(): Execution context is not initialized. A call to "
                "`daily_core_context_create` must be done prior to this call."
            )
        if event_handler is not None and not isinstance(event_handler, _real.EventHandler):
            raise TypeError("event_handler should be a subclass of `EventHandler`")
        self.fake = CallClientControl(self, sdk, event_handler)
        sdk._client_created(self)

    # -- life cycle

    @_api
    def release(self, /) -> None:
        if not self._sdk.initialized:
            raise self._sdk._abort("release(): Execution context is not initialized (Daily.deinit ran)")
        self.fake._shutdown(wait=True)

    @_api
    def join(
        self,
        /,
        meeting_url: str,
        meeting_token: str | None = None,
        client_settings: Mapping[str, Any] | None = None,
        completion: Callable[[Mapping[str, Any] | None, str | None], None] | None = None,
    ) -> None:
        c = self.fake
        parts = urllib.parse.urlsplit(str(meeting_url))
        if not parts.scheme or not parts.netloc:
            error = f'Failed to parse url: InvalidUrl("{meeting_url}", RelativeUrlWithoutBase)'
            c._complete("join", completion, None, error)
            c._emit("on_error", f"Error handling join: {error}")
            return

        def job() -> None:
            try:
                run()
            finally:
                c._join_pending = False

        def run() -> None:
            script = c.script
            error = script.join_error if script.join_error is not None else script.errors.get("join")
            if error is not None:
                c._sleep(script.join_delay)
                c._emit("on_error", script.join_error_event or error)
                c.call_state = "left"
                c._emit("on_call_state_updated", "leaving")
                if not script.left_after_completion:
                    c._emit("on_call_state_updated", "left")
                c._fail("join", completion, error)
                if script.left_after_completion:
                    c._emit("on_call_state_updated", "left")
                return
            c.call_state = "joining"
            c._emit("on_call_state_updated", "joining")
            c._sleep(script.join_delay)
            c.meeting_url, c.meeting_token = meeting_url, meeting_token
            if client_settings:
                _merge(c._inputs, client_settings.get("inputs", {}))
                _merge(c._publishing, client_settings.get("publishing", {}))
            for doc in script.remote_participants:
                c._participants[doc["id"]] = copy.deepcopy(doc)
            c._participants["local"]["info"].update(copy.deepcopy(script.local_info))
            c.call_state = "joined"
            c._emit("on_call_state_updated", "joined")
            data = {"meetingSession": {"id": str(uuid.uuid4())}, "participants": copy.deepcopy(c._participants)}
            c._complete("join", completion, data, None)

        c._join_pending = True
        c._core.submit(job)

    @_api
    def leave(self, /, completion: Callable[[str | None], None] | None = None) -> None:
        c = self.fake

        def run() -> None:
            c.call_state = "leaving"
            c._emit("on_call_state_updated", "leaving")
            # The real client is a new participant after a leave: same name, new id. Its inputs are
            # all turned off: inputs_updated if one was on, participant_updated if one had a track.
            local = copy.deepcopy(c._participants["local"])
            local["id"] = str(uuid.uuid4())
            c._participants = {"local": local}
            enabled = [v for v in c._inputs.values() if isinstance(v, dict) and v.get("isEnabled")]
            for value in enabled:
                value["isEnabled"] = False
            if enabled:
                c._emit("on_inputs_updated", copy.deepcopy(c._inputs))
            if any("customTrack" in (v.get("settings") or {}) for v in enabled):
                c._emit("on_participant_updated", copy.deepcopy(local))
            c.call_state = "left"
            if not c.script.left_after_completion:
                c._emit("on_call_state_updated", "left")
            c._complete("leave", completion, None)
            if c.script.left_after_completion:
                c._emit("on_call_state_updated", "left")

        c._request("leave", completion, run)

    # -- getters: participants() waits behind a pending join like the real one; the others answer at once

    @_api
    def active_speaker(self, /) -> Mapping[str, Any] | None:
        return self.fake._peek(lambda: self.fake._active_speaker)

    @_api
    def participants(self, /) -> Mapping[str, Any]:
        return self.fake._query("participants", lambda: self.fake._participants)

    @_api
    def participant_counts(self, /) -> Mapping[str, Any]:
        return self.fake._peek(self.fake._counts)

    @_api
    def inputs(self, /) -> Mapping[str, Any]:
        return self.fake._peek(lambda: self.fake._inputs)

    @_api
    def publishing(self, /) -> Mapping[str, Any]:
        return self.fake._peek(lambda: self.fake._publishing)

    @_api
    def subscriptions(self, /) -> Mapping[str, Any]:
        return self.fake._peek(lambda: self.fake._subscriptions)

    @_api
    def subscription_profiles(self, /) -> Mapping[str, Any]:
        return self.fake._peek(lambda: self.fake._profiles)

    @_api
    def get_network_stats(self, /) -> Mapping[str, Any]:
        return self.fake._peek(lambda: {"quality": 100, "stats": {"latest": {}}, "threshold": "good"})

    # -- local participant, inputs, publishing, subscriptions

    @_api
    def set_user_name(self, /, user_name: str) -> None:
        c = self.fake

        def run() -> None:
            # Observed: on_participant_updated(local) at once (behind a pending join), and only on a change.
            info = c._participants["local"]["info"]
            if info.get("userName") != user_name:
                info["userName"] = user_name
                c._emit("on_participant_updated", copy.deepcopy(c._participants["local"]))

        c._request("set_user_name", None, run)

    def _local_changed(self, event: str, before: dict[str, Any], after: dict[str, Any], name: str, completion: Any) -> None:
        """After update_inputs/update_publishing, as observed: ``event`` only when something changed, and
        ``on_participant_updated(local)`` only when an input or a publication was turned on or off."""
        c = self.fake
        if after != before:
            c._emit(event, copy.deepcopy(after))
            flag = "isEnabled" if event == "on_inputs_updated" else "isPublishing"
            if _flags(before, flag) != _flags(after, flag):
                c._emit("on_participant_updated", copy.deepcopy(c._participants["local"]))
        c._complete(name, completion, None)

    def _refused(self, name: str, completion: Any, error: str | None) -> bool:
        """Fail ``name`` at once (ahead of the queue, as the real SDK's own argument checks do) if ``error``."""
        if error is not None:
            self.fake._fail(name, completion, error)
        return error is not None

    @_api
    def update_inputs(self, /, input_settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("update_inputs", completion, checks.input_settings(input_settings)):
            return

        def run() -> None:
            update = {k: ({"isEnabled": v} if isinstance(v, bool) else v) for k, v in input_settings.items()}
            before = copy.deepcopy(self.fake._inputs)
            _merge(self.fake._inputs, update)
            self._local_changed("on_inputs_updated", before, self.fake._inputs, "update_inputs", completion)

        self.fake._request("update_inputs", completion, run)

    @_api
    def update_publishing(self, /, publishing_settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("update_publishing", completion, checks.publishing_settings(publishing_settings)):
            return

        def run() -> None:
            update = {k: ({"isPublishing": v} if isinstance(v, bool) else v) for k, v in publishing_settings.items()}
            before = copy.deepcopy(self.fake._publishing)
            _merge(self.fake._publishing, update)
            self._local_changed("on_publishing_updated", before, self.fake._publishing, "update_publishing", completion)

        self.fake._request("update_publishing", completion, run)

    def _updated(self, name: str, completion: Any, event: str, document: Any) -> None:
        """A subscription request's event and completion: the event first, unless the script says otherwise.

        Observed: these two events come even when nothing changed, and their place relative to the
        completion varies (the event first about 7 times in 10).
        """
        c = self.fake
        if c.script.completion_before_event:
            c._complete(name, completion, None)
            c._emit(event, copy.deepcopy(document))
        else:
            c._emit(event, copy.deepcopy(document))
            c._complete(name, completion, None)

    @_api
    def update_subscription_profiles(self, /, profile_settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused(
            "update_subscription_profiles", completion, checks.subscription_profiles(profile_settings)
        ):
            return
        c = self.fake

        def run() -> None:
            _apply_profiles(c._profiles, profile_settings)
            self._updated("update_subscription_profiles", completion, "on_subscription_profiles_updated", c._profiles)

        c._request("update_subscription_profiles", completion, run)

    @_api
    def update_subscriptions(
        self,
        /,
        participant_settings: Mapping[str, Any] | None = None,
        profile_settings: Mapping[str, Any] | None = None,
        completion: Any = None,
    ) -> None:
        c = self.fake
        error = checks.subscriptions(participant_settings, profile_settings, c._profiles)
        if self._refused("update_subscriptions", completion, error):
            return

        def run() -> None:
            for pid, settings in (participant_settings or {}).items():
                if not isinstance(settings, Mapping):
                    continue  # accepted and ignored, as by the real SDK
                profile = settings.get("profile", "base")
                entry = c._subscriptions.get(pid)
                if entry is None or "profile" in settings:
                    entry = {"media": copy.deepcopy(c._profiles.get(profile, {})), "profile": profile}
                    c._subscriptions[pid] = entry
                _apply_media(entry["media"], settings.get("media"))
            # Profile overrides apply to the participants subscribed through that profile (not to the profile).
            for profile, settings in (profile_settings or {}).items():
                for entry in c._subscriptions.values():
                    if entry.get("profile") == profile:
                        if "profile" in settings:
                            entry["profile"] = settings["profile"]
                        _apply_media(entry["media"], settings.get("media"))
            self._updated("update_subscriptions", completion, "on_subscriptions_updated", c._subscriptions)

        c._request("update_subscriptions", completion, run)

    @_api
    def update_permissions(self, /, permissions: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("update_permissions", completion, checks.own_permissions(permissions)):
            return
        self._simple("update_permissions", completion, needs_call=True)

    @_api
    def update_remote_participants(self, /, remote_participants: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused(
            "update_remote_participants", completion, checks.remote_participants(remote_participants)
        ):
            return
        self._simple("update_remote_participants", completion, needs_call=True)

    @_api
    def eject_remote_participants(self, /, ids: list[str], completion: Any = None) -> None:
        if self._refused(
            "eject_remote_participants", completion, checks.participant_ids(ids, "remote participant ids")
        ):
            return
        self._simple("eject_remote_participants", completion, needs_call=True)

    # -- custom tracks

    def _set_custom(self, kind: str, name: str, track: Any, completion: Any, method: str) -> None:
        c = self.fake

        def run() -> None:
            if track is None:
                c._inputs[kind].pop(name, None)
            else:
                c._inputs[kind][name] = {"isEnabled": True, "settings": {"customTrack": {"id": track.id}}}
            self._local_changed("on_inputs_updated", c._inputs, method, completion)

        c._request(method, completion, run)

    @_api
    def add_custom_audio_track(
        self, /, track_name: str, audio_track: Any, ignore_audio_level: bool | None = None, completion: Any = None
    ) -> None:
        self._set_custom("customAudio", track_name, audio_track, completion, "add_custom_audio_track")

    @_api
    def update_custom_audio_track(
        self, /, track_name: str, audio_track: Any, ignore_audio_level: bool | None = None, completion: Any = None
    ) -> None:
        self._set_custom("customAudio", track_name, audio_track, completion, "update_custom_audio_track")

    @_api
    def remove_custom_audio_track(self, /, track_name: str, completion: Any = None) -> None:
        self._set_custom("customAudio", track_name, None, completion, "remove_custom_audio_track")

    @_api
    def add_custom_video_track(self, /, track_name: str, video_track: Any, completion: Any = None) -> None:
        self._set_custom("customVideo", track_name, video_track, completion, "add_custom_video_track")

    @_api
    def update_custom_video_track(self, /, track_name: str, video_track: Any, completion: Any = None) -> None:
        self._set_custom("customVideo", track_name, video_track, completion, "update_custom_video_track")

    @_api
    def remove_custom_video_track(self, /, track_name: str, completion: Any = None) -> None:
        self._set_custom("customVideo", track_name, None, completion, "remove_custom_video_track")

    # -- live streams and recording

    @_api
    def start_live_stream_with_endpoints(
        self,
        /,
        endpoints: list[str] | None,
        streaming_settings: Mapping[str, Any] | None = None,
        stream_id: str | None = None,
        force_new: bool | None = None,
        completion: Any = None,
    ) -> None:
        self._simple("start_live_stream_with_endpoints", completion, needs_call=True)

    @_api
    def start_live_stream_with_rtmp_urls(
        self,
        /,
        rtmp_urls: list[str] | None,
        streaming_settings: Mapping[str, Any] | None = None,
        stream_id: str | None = None,
        force_new: bool | None = None,
        completion: Any = None,
    ) -> None:
        self._simple("start_live_stream_with_rtmp_urls", completion, needs_call=True)

    @_api
    def stop_live_stream(self, /, stream_id: str | None = None, completion: Any = None) -> None:
        self._simple("stop_live_stream", completion, needs_call=True)

    @_api
    def update_live_stream(
        self, /, update_settings: Mapping[str, Any], stream_id: str | None = None, completion: Any = None
    ) -> None:
        self._simple("update_live_stream", completion, needs_call=True)

    @_api
    def add_live_streaming_endpoints(
        self, /, endpoints: list[str], stream_id: str | None = None, completion: Any = None
    ) -> None:
        self._simple("add_live_streaming_endpoints", completion, needs_call=True)

    @_api
    def remove_live_streaming_endpoints(
        self, /, endpoints: list[str], stream_id: str | None = None, completion: Any = None
    ) -> None:
        self._simple("remove_live_streaming_endpoints", completion, needs_call=True)

    @_api
    def start_recording(
        self,
        /,
        streaming_settings: Mapping[str, Any] | None = None,
        stream_id: str | None = None,
        force_new: bool | None = None,
        completion: Callable[[str | None, str | None], None] | None = None,
    ) -> None:
        c = self.fake
        if self._refused("start_recording", completion, checks.recording(streaming_settings)):
            return
        c._request(
            "start_recording",
            completion,
            lambda: c._complete("start_recording", completion, stream_id or str(uuid.uuid4()), None),
            needs_call=True,
        )

    @_api
    def stop_recording(self, /, stream_id: str | None = None, completion: Any = None) -> None:
        self._simple("stop_recording", completion, needs_call=True)

    @_api
    def update_recording(
        self, /, update_settings: Mapping[str, Any], stream_id: str | None = None, completion: Any = None
    ) -> None:
        if self._refused("update_recording", completion, checks.recording(update_settings, update=True)):
            return
        self._simple("update_recording", completion, needs_call=True)

    # -- transcription

    @_api
    def start_transcription(self, /, settings: Mapping[str, Any] | None = None, completion: Any = None) -> None:
        if self._refused("start_transcription", completion, checks.transcription(settings)):
            return
        self._simple("start_transcription", completion, needs_call=True)

    @_api
    def stop_transcription(self, /, completion: Any = None) -> None:
        self._simple("stop_transcription", completion, needs_call=True)

    @_api
    def update_transcription(
        self, /, participants: list[str] | None = None, instance_id: str | None = None, completion: Any = None
    ) -> None:
        if self._refused("update_transcription", completion, checks.participant_ids(participants, "participant IDs")):
            return
        self._simple("update_transcription", completion, needs_call=True)

    # -- telephony

    @_api
    def start_dialout(
        self, /, settings: Mapping[str, Any], completion: Callable[[str | None, str | None], None] | None = None
    ) -> None:
        c = self.fake
        if self._refused("start_dialout", completion, checks.dialout(settings)):
            return
        c._request(
            "start_dialout",
            completion,
            lambda: c._complete("start_dialout", completion, str(uuid.uuid4()), None),
            needs_call=True,
        )

    @_api
    def stop_dialout(self, /, participant_id: str, completion: Any = None) -> None:
        if self._refused("stop_dialout", completion, checks.stop_dialout(participant_id)):
            return
        self._simple("stop_dialout", completion, needs_call=True)

    @_api
    def send_dtmf(self, /, settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("send_dtmf", completion, checks.dtmf(settings)):
            return
        self._simple("send_dtmf", completion, needs_call=True)

    @_api
    def sip_call_transfer(self, /, settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("sip_call_transfer", completion, checks.sip_transfer(settings)):
            return
        self._simple("sip_call_transfer", completion, needs_call=True)

    @_api
    def sip_refer(self, /, settings: Mapping[str, Any], completion: Any = None) -> None:
        if self._refused("sip_refer", completion, checks.sip_refer(settings)):
            return
        self._simple("sip_refer", completion, needs_call=True)

    # -- messages

    @_api
    def send_app_message(self, /, message: Any, participant_id: str | None = None, completion: Any = None) -> None:
        c = self.fake
        refusal = checks.app_message(message, participant_id)
        if refusal is not None:
            raise refusal  # raised to the caller, no completion (None, a bad id, an unsupported type)

        def run() -> None:
            c.app_messages.append((copy.deepcopy(message), participant_id))
            c._complete("send_app_message", completion, None)

        c._request("send_app_message", completion, run, needs_call=True)

    @_api
    def send_prebuilt_chat_message(self, /, message: str, user_name: str | None = None, completion: Any = None) -> None:
        self._simple("send_prebuilt_chat_message", completion, needs_call=True)

    # -- renderers

    @_api
    def set_audio_renderer(
        self,
        /,
        participant_id: str,
        callback: Callable[[str, Any, str], None],
        audio_source: str = "microphone",
        sample_rate: int = 16000,
        callback_interval_ms: int = 20,
        logging_interval_ms: int = 10000,
    ) -> None:
        c = self.fake
        if not _is_uuid(participant_id):
            c._emit(
                "on_error",
                f"Error handling setParticipantAudioRenderer: Failed to parse participant ID: {participant_id!r}",
            )
            return
        with c._renderer_added:
            c.audio_renderers[(participant_id, audio_source)] = _Renderer(
                participant_id, callback, audio_source, sample_rate, callback_interval_ms
            )
            c._renderer_added.notify_all()

    @_api
    def set_video_renderer(
        self,
        /,
        participant_id: str,
        callback: Callable[[str, Any, str], None],
        video_source: str = "camera",
        color_format: str = "RGBA",
        logging_interval_ms: int = 10000,
    ) -> None:
        if not _is_uuid(participant_id):
            raise self._sdk._abort(f"set_video_renderer: participant id {participant_id!r} is not a UUID")
        if color_format not in _BYTES_PER_PIXEL:
            raise ValueError(f"unsupported color format {color_format!r}")
        self.fake.video_renderers[(participant_id, video_source)] = _Renderer(
            participant_id, callback, video_source, color_format=color_format
        )

    # -- network

    @_api
    def set_proxy_url(self, /, proxy_url: str | None = None, completion: Any = None) -> None:
        self._simple("set_proxy_url", completion)

    @_api
    def set_ice_config(self, /, ice_config: Mapping[str, Any] | None = None, completion: Any = None) -> None:
        self._simple("set_ice_config", completion)

    # -- helpers (private: the public surface must equal the real one)

    def _simple(self, name: str, completion: Any, *, needs_call: bool = False) -> None:
        c = self.fake
        c._request(name, completion, lambda: c._complete(name, completion, None), needs_call=needs_call)


def _flags(settings: dict[str, Any], flag: str) -> dict[str, Any]:
    """Each source's ``isEnabled`` / ``isPublishing`` (what changes the local participant's media)."""
    return {k: v.get(flag) for k, v in settings.items() if isinstance(v, dict)}


def _apply_media(media: dict[str, Any], update: Any) -> None:
    """Apply a ``media`` subscription value (one state for all, or source -> state or settings) to ``media``."""
    if isinstance(update, str):
        for value in media.values():
            if isinstance(value, dict) and "subscriptionState" in value:
                value["subscriptionState"] = update
        return
    if not isinstance(update, Mapping):
        return
    for medium, value in update.items():
        if isinstance(value, str):
            media.setdefault(medium, {})["subscriptionState"] = value
        elif isinstance(value, Mapping) and isinstance(media.setdefault(medium, {}), dict):
            _merge(media[medium], value)


def _apply_profiles(profiles: dict[str, Any], settings: Mapping[str, Any]) -> None:
    """Apply update_subscription_profiles' settings (shorthand states or full settings; new names make profiles)."""
    for profile, media in settings.items():
        if profile not in profiles:
            profiles[profile] = copy.deepcopy(_default_profiles()["base"])
        _apply_media(profiles[profile], media if isinstance(media, Mapping) else None)


# ------------------------------------------------------------------------------------- FakeSdk


class FakeSdk:
    """A stand-in for the ``daily`` module, with the state and scripting of one fake process.

    Pass it where the code under test takes the SDK module; every name of ``daily.__all__`` is
    here. ``EventHandler`` and ``LogLevel`` are the real classes (harmless without
    ``Daily.init``), so a handler written for the real SDK works with the fake.

    Args:
        initialized: start as if ``Daily.init()`` had already run in this process.
    """

    EventHandler = _real.EventHandler
    LogLevel = _real.LogLevel
    AudioData = FakeAudioData
    VideoFrame = FakeVideoFrame
    NativeVad = FakeNativeVad
    CustomAudioTrack = FakeCustomAudioTrack
    CustomVideoSource = FakeCustomVideoSource
    CustomVideoTrack = FakeCustomVideoTrack
    VirtualCameraDevice = FakeVirtualCameraDevice
    VirtualMicrophoneDevice = FakeVirtualMicrophoneDevice
    VirtualSpeakerDevice = FakeVirtualSpeakerDevice

    def __init__(self, *, initialized: bool = False) -> None:
        self.script = Script()
        """Behaviour copied into each CallClient created from now on."""
        self.initialized = initialized
        self.init_calls: list[dict[str, Any]] = []
        self.deinit_calls = 0
        self.log_level: Any = None
        self.clients: list[FakeCallClient] = []
        self.audio_sources: list[FakeCustomAudioSource] = []
        self.devices: dict[str, Any] = {}
        self.selected_speaker: str | None = None
        self.vads: list[FakeNativeVad] = []
        self.callback_errors: list[CallbackError] = []
        self.aborts: list[str] = []
        """Messages of every FakeSdkAbort raised: each would have killed the real process."""
        self.stalls: list[str] = []
        """Calls that would have frozen the real process (participants() behind a pending join)."""
        self.crashes: list[tuple[str, BaseException]] = []
        self._client_added = threading.Condition()
        self.CallClient: type[FakeCallClient] = type("CallClient", (FakeCallClient,), {"_sdk": self})
        self.Daily: type[FakeDaily] = type("Daily", (FakeDaily,), {"_sdk": self})
        self.CustomAudioSource: type[FakeCustomAudioSource] = type(
            "CustomAudioSource", (FakeCustomAudioSource,), {"_sdk": self}
        )

    def __enter__(self) -> FakeSdk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for_client(self, index: int = 0, timeout: float = 5.0) -> CallClientControl:
        """The control of the ``index``-th CallClient, waiting for the code under test to create it."""
        with self._client_added:
            if not self._client_added.wait_for(lambda: len(self.clients) > index, timeout):
                raise TimeoutError(f"no CallClient #{index} after {timeout} s")
            return self.clients[index].fake

    def assert_no_callback_errors(self) -> None:
        """Fail if any callback of the code under test raised (the real SDK would only print it)."""
        assert not self.callback_errors, f"callbacks raised: {self.callback_errors!r}"
        assert not self.crashes, f"the fake itself crashed: {self.crashes!r}"
        assert not self.stalls, f"calls that would freeze the real process: {self.stalls!r}"

    def close(self) -> None:
        """Stop every thread the fake started, without waiting for scripted delays."""
        for client in self.clients:
            if not client.fake.released:
                client.fake._shutdown(wait=False)
        for source in self.audio_sources:
            source.fake.close()

    def _client_created(self, client: FakeCallClient) -> None:
        with self._client_added:
            self.clients.append(client)
            self._client_added.notify_all()

    def _abort(self, message: str) -> FakeSdkAbort:
        self.aborts.append(message)
        return FakeSdkAbort(message)

    def _crash(self, where: str, exc: BaseException) -> None:
        self.crashes.append((where, exc))
        _log_crash(where, exc)


def iter_fake_classes(sdk: FakeSdk) -> Iterator[tuple[str, Any]]:
    """(name, fake) for every name the real module exports: what the conformance test walks."""
    for name in getattr(_real, "__all__", ()):
        yield name, getattr(sdk, name)
