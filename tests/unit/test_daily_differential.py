"""The fake daily-python is never kinder than the real one: one table of calls, run through both.

Each row of :data:`ROWS` is a call the Daily backend makes (``gateway/backends/daily/``), with
arguments in the shapes the protocol's schemas allow (valid and invalid), many of them built by
the backend's own code (``shapes.py``, ``DailyTransport._client_settings``). The whole table runs
against the real daily-python 0.36 offline, in one fresh interpreter (a few seconds), and against
the fake (``tests/fakes/daily.py``); each row then asserts the same verdict from both: completed,
returned or raised; the error's class (the code the backend makes of it and the error's family, its
text up to the details); and the events the call caused (names, not order: the real order varies).

Offline, daily-python is not in a call. Requests that reach Daily's servers therefore end with
``<Area>(CallState(NotInACall))`` once the SDK's own argument checks have passed: such rows show
that the arguments pass daily-python, not that Daily accepts them in a call. Those rows name, in
``in_call``, the documented shape they were checked against instead.
"""

from __future__ import annotations

import inspect
import json
import pathlib
import re
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("daily")

from gateway.backends.base import AudioFormat, JoinOptions  # noqa: E402
from gateway.backends.daily import shapes  # noqa: E402
from gateway.backends.daily.error_codes import command_error  # noqa: E402
from gateway.backends.daily.transport import DailyTransport  # noqa: E402
from tests.fakes.daily import FakeSdk  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
P = "6f6a6a4e-3c1e-4d1e-9f1e-1a2b3c4d5e6f"
"""A participant id (a UUID; nobody is in a room offline)."""
TWO_ARG = frozenset({"join", "start_recording", "start_dialout"})

DOCS_PERMISSIONS = "https://docs.daily.co/reference/daily-js/types/daily-participant-permissions"
DOCS_RECORDING = "https://docs.daily.co/reference/daily-js/instance-methods/start-recording"
DOCS_TRANSCRIPTION = "https://docs.daily.co/reference/daily-js/instance-methods/start-transcription"
DOCS_DIALOUT = "https://docs.daily.co/docs/daily-js/features/dialin-dialout"
DOCS_DTMF = "https://docs.daily.co/reference/daily-js/instance-methods/send-dtmf"
DOCS_APP_MESSAGE = "https://docs.daily.co/reference/daily-js/instance-methods/send-app-message"


class Context:
    """What the rows' arguments are built from: one SDK (real or fake) and one CallClient of it."""

    def __init__(self, sdk: Any, client: Any) -> None:
        self.sdk = sdk
        self.client = client
        self._cache: dict[str, Any] = {}

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def video_track(self) -> Any:
        return self.once("video", lambda: self.sdk.CustomVideoTrack(self.sdk.CustomVideoSource(4, 4, "RGB")))

    def audio_track(self) -> Any:
        return self.once("audio", lambda: self.sdk.CustomAudioTrack(self.sdk.CustomAudioSource(16000, 1)))

    def join_settings(self) -> dict[str, Any]:
        """The backend's own join ``client_settings`` (custom microphone and camera, send settings)."""

        def make() -> dict[str, Any]:
            params = {
                "audio_out": {"bitrate": 48000, "auto_silence": False},
                "video_out": {"enabled": True, "width": 64, "height": 48, "color_format": "RGB", "codec": "VP9"},
            }
            options = JoinOptions(room_url="https://x.daily.co/r", audio_out=AudioFormat(24000, 2), params=params)
            backend = types.SimpleNamespace(command_timeout=15.0)
            transport = DailyTransport(backend, options, listener=None)  # type: ignore[arg-type]
            return transport._client_settings(self.sdk)

        return dict(self.once("join", make))


def video_track(ctx: Context) -> Any:
    return ctx.video_track()


def noop(*args: Any) -> None:
    """A renderer that drops what it gets."""


@dataclass(frozen=True)
class Row:
    """One call: ``client.<method>(*args)`` (or ``sdk.<method>`` with ``on_sdk``); callables in args get the Context."""

    label: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    on_sdk: bool = False
    in_call: str = ""
    """For a row that offline ends at ``NotInACall``: what Daily documents for it in a call."""


def _settings(key: str) -> Callable[[Context], Any]:
    return lambda ctx: ctx.join_settings()[key]


def _perm(update: dict[str, Any], *, mapped: bool = True) -> dict[str, Any]:
    """``update_remote_participants`` arguments for P: through the backend's mapping, or raw."""
    return shapes.remote_participants({P: update}) if mapped else {P: update}


ROWS: list[Row] = [
    # -- identity: set_user_name's event comes at once, and only on a change
    Row("set_user_name: a new name emits the local participant", "set_user_name", ("unit-bot",)),
    Row("set_user_name: the same name emits nothing", "set_user_name", ("unit-bot",)),
    # -- inputs: the backend's join settings, the screen share, shapes
    Row("update_inputs: the backend's join inputs (custom mic and camera)", "update_inputs", (_settings("inputs"),)),
    Row("update_inputs: the same again changes nothing, no event", "update_inputs", (_settings("inputs"),)),
    Row(
        "update_inputs: published screen as a screenVideo custom track",
        "update_inputs",
        (lambda ctx: {"screenVideo": {"isEnabled": True, "settings": {"customTrack": {"id": ctx.video_track().id}}}},),
    ),
    Row("update_inputs: boolean shorthand", "update_inputs", ({"camera": False},)),
    Row("update_inputs: isEnabled not a boolean", "update_inputs", ({"camera": {"isEnabled": "yes"}},)),
    # -- publishing
    Row("update_publishing: the backend's join publishing", "update_publishing", (_settings("publishing"),)),
    Row("update_publishing: the same again changes nothing, no event", "update_publishing", (_settings("publishing"),)),
    Row(
        "update_publishing: screenVideo on (published screen)",
        "update_publishing",
        ({"screenVideo": {"isPublishing": True}},),
    ),
    Row(
        "update_publishing: camera capped by video_out.bitrate",
        "update_publishing",
        ({"camera": {"sendSettings": shapes.camera_send_settings({"bitrate": 300000, "framerate": 15})}},),
    ),
    Row(
        "update_publishing: video_out.codec H264",
        "update_publishing",
        ({"camera": {"sendSettings": shapes.camera_send_settings({"codec": "H264"})}},),
    ),
    Row(
        "update_publishing: unknown codec",
        "update_publishing",
        ({"camera": {"sendSettings": {"preferredCodec": "AV2"}}},),
    ),
    Row(
        "update_publishing: a preset name as sendSettings",
        "update_publishing",
        ({"camera": {"sendSettings": "quality-optimized"}},),
    ),
    Row("update_publishing: isPublishing not a boolean", "update_publishing", ({"camera": {"isPublishing": "no"}},)),
    # -- subscription profiles (the backend's join call, and update-subscription-profiles)
    Row(
        "update_subscription_profiles: the backend's join (video unsubscribed)",
        "update_subscription_profiles",
        ({"base": {"camera": "unsubscribed", "screenVideo": "unsubscribed"}},),
    ),
    Row(
        "update_subscription_profiles: the same again still emits",
        "update_subscription_profiles",
        ({"base": {"camera": "unsubscribed", "screenVideo": "unsubscribed"}},),
    ),
    Row(
        "update_subscription_profiles: full settings",
        "update_subscription_profiles",
        ({"base": {"camera": {"subscriptionState": "staged", "receiveSettings": {"maxQuality": "low"}}}},),
    ),
    Row(
        "update_subscription_profiles: a new profile",
        "update_subscription_profiles",
        ({"listeners": {"camera": "unsubscribed"}},),
    ),
    Row(
        "update_subscription_profiles: unknown state", "update_subscription_profiles", ({"base": {"camera": "muted"}},)
    ),
    Row(
        "update_subscription_profiles: unknown quality",
        "update_subscription_profiles",
        ({"base": {"camera": {"receiveSettings": {"maxQuality": "ultra"}}}},),
    ),
    # -- subscriptions: participants (captures subscribe and unsubscribe) and profiles
    Row(
        "update_subscriptions: capture subscribes a source",
        "update_subscriptions",
        ({P: {"media": {"camera": "subscribed"}}}, None),
    ),
    Row(
        "update_subscriptions: stopping it unsubscribes",
        "update_subscriptions",
        ({P: {"media": {"camera": "unsubscribed"}}}, None),
    ),
    Row(
        "update_subscriptions: one state for every source",
        "update_subscriptions",
        ({P: {"media": "unsubscribed"}}, None),
    ),
    Row("update_subscriptions: unchanged still emits", "update_subscriptions", ({P: {"media": "unsubscribed"}}, None)),
    Row("update_subscriptions: a participant's profile", "update_subscriptions", ({P: {"profile": "listeners"}}, None)),
    Row("update_subscriptions: unknown profile", "update_subscriptions", ({P: {"profile": "nope"}}, None)),
    Row("update_subscriptions: unknown participant key", "update_subscriptions", ({P: {"camera": "subscribed"}}, None)),
    Row("update_subscriptions: unknown state", "update_subscriptions", ({P: {"media": "muted"}}, None)),
    Row(
        "update_subscriptions: profile_settings in Daily's shape",
        "update_subscriptions",
        (None, {"base": {"media": {"camera": "unsubscribed"}}}),
    ),
    Row(
        "update_subscriptions: profile_settings, one state",
        "update_subscriptions",
        (None, {"base": {"media": "subscribed"}}),
    ),
    Row(
        "update_subscriptions: profile_settings shorthand (the old schema's shape) is refused",
        "update_subscriptions",
        (None, {"base": {"camera": "unsubscribed"}}),
    ),
    Row(
        "update_subscriptions: profile_settings of an unknown profile",
        "update_subscriptions",
        (None, {"nope": {"media": "subscribed"}}),
    ),
    # -- remote participants: Daily's permission shapes
    Row(
        "update_remote_participants: canSend/canAdmin booleans, mapped to lists",
        "update_remote_participants",
        (_perm({"permissions": {"canSend": True, "canAdmin": False, "hasPresence": True}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: canSend true as such is refused",
        "update_remote_participants",
        (_perm({"permissions": {"canSend": True}}, mapped=False),),
    ),
    Row(
        "update_remote_participants: canAdmin false as such is refused",
        "update_remote_participants",
        (_perm({"permissions": {"canAdmin": False}}, mapped=False),),
    ),
    Row(
        "update_remote_participants: canSend sources",
        "update_remote_participants",
        (_perm({"permissions": {"canSend": ["microphone", "camera", "screenVideo", "screenAudio"]}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: daily-js names are refused",
        "update_remote_participants",
        (_perm({"permissions": {"canSend": ["audio"]}}),),
    ),
    Row(
        "update_remote_participants: canAdmin kinds",
        "update_remote_participants",
        (_perm({"permissions": {"canAdmin": ["participants", "streaming", "transcription"]}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: unknown canAdmin kind",
        "update_remote_participants",
        (_perm({"permissions": {"canAdmin": ["owner"]}}),),
    ),
    Row(
        "update_remote_participants: canReceive base, completed by the mapping",
        "update_remote_participants",
        (_perm({"permissions": {"canReceive": {"base": {"microphone": False, "customAudio": False}}}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: canReceive base left incomplete is refused",
        "update_remote_participants",
        (_perm({"permissions": {"canReceive": {"base": {"microphone": False}}}}, mapped=False),),
    ),
    Row(
        "update_remote_participants: canReceive byParticipantId, partial",
        "update_remote_participants",
        (_perm({"permissions": {"canReceive": {"base": False, "byParticipantId": {P: {"microphone": True}}}}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: canReceive with daily-js names is refused",
        "update_remote_participants",
        (_perm({"permissions": {"canReceive": {"byUserId": {"u": {"audio": False}}}}}),),
    ),
    Row(
        "update_remote_participants: inputsEnabled",
        "update_remote_participants",
        (_perm({"inputsEnabled": {"microphone": False, "camera": True}}),),
        in_call=DOCS_PERMISSIONS,
    ),
    Row(
        "update_remote_participants: inputsEnabled not a boolean",
        "update_remote_participants",
        (_perm({"inputsEnabled": {"microphone": "off"}}),),
    ),
    Row(
        "update_remote_participants: not a participant id",
        "update_remote_participants",
        ({"p-bob": {"permissions": {}}},),
    ),
    Row("eject_remote_participants: a participant id", "eject_remote_participants", ([P],), in_call=DOCS_PERMISSIONS),
    Row("eject_remote_participants: not a participant id", "eject_remote_participants", (["p-bob"],)),
    # -- app messages and chat
    Row("send_app_message: an object", "send_app_message", ({"text": "hi"}, None), in_call=DOCS_APP_MESSAGE),
    Row("send_app_message: to one participant", "send_app_message", ({"text": "hi"}, P), in_call=DOCS_APP_MESSAGE),
    Row("send_app_message: a string", "send_app_message", ("hi", None), in_call=DOCS_APP_MESSAGE),
    Row("send_app_message: null raises", "send_app_message", (None, None)),
    Row("send_app_message: to a non-id raises", "send_app_message", ({"text": "hi"}, "p-bob")),
    Row("send_app_message: a non-JSON value raises", "send_app_message", (object(), None)),
    Row("send_prebuilt_chat_message", "send_prebuilt_chat_message", ("hi", "bot"), in_call=DOCS_APP_MESSAGE),
    # -- recording and transcription
    Row("start_recording", "start_recording", ({"layout": {"preset": "default"}}, None, False), in_call=DOCS_RECORDING),
    Row("stop_recording", "stop_recording", (None,), in_call=DOCS_RECORDING),
    Row("start_recording: unknown layout preset", "start_recording", ({"layout": {"preset": "grid"}}, None, False)),
    Row(
        "update_recording",
        "update_recording",
        ({"layout": {"preset": "active-participant"}}, None),
        in_call=DOCS_RECORDING,
    ),
    Row(
        "update_recording: single-participant needs a session_id",
        "update_recording",
        ({"layout": {"preset": "single-participant"}}, None),
    ),
    Row(
        "start_transcription: Pipecat's defaults",
        "start_transcription",
        (shapes.transcription_settings(None),),
        in_call=DOCS_TRANSCRIPTION,
    ),
    Row("start_transcription: a language that is not a string", "start_transcription", ({"language": 1},)),
    Row("start_transcription: participants that are not ids", "start_transcription", ({"participants": ["p-bob"]},)),
    Row("stop_transcription", "stop_transcription", (), in_call=DOCS_TRANSCRIPTION),
    Row("update_transcription: participants", "update_transcription", ([P], None), in_call=DOCS_TRANSCRIPTION),
    Row("update_transcription: not a participant id", "update_transcription", (["p-bob"], None)),
    # -- telephony
    Row(
        "start_dialout: a phone number",
        "start_dialout",
        ({"phoneNumber": "+15550100", "displayName": "bot"},),
        in_call=DOCS_DIALOUT,
    ),
    Row("start_dialout: a SIP URI", "start_dialout", ({"sipUri": "sip:desk@pbx.example.com"},), in_call=DOCS_DIALOUT),
    Row("start_dialout: neither is refused", "start_dialout", ({"displayName": "bot"},)),
    Row("stop_dialout: a session id", "stop_dialout", (P,), in_call=DOCS_DIALOUT),
    Row("stop_dialout: not a session id", "stop_dialout", ("call-1",)),
    Row("send_dtmf", "send_dtmf", ({"sessionId": P, "tones": "12#", "digitDurationMs": 100},), in_call=DOCS_DTMF),
    Row("send_dtmf: no sessionId is refused", "send_dtmf", ({"tones": "1"},)),
    Row("send_dtmf: no tones is refused", "send_dtmf", ({"sessionId": P},)),
    Row(
        "sip_call_transfer",
        "sip_call_transfer",
        ({"sessionId": P, "toEndPoint": "sip:sales@pbx.example.com"},),
        in_call=DOCS_DIALOUT,
    ),
    Row("sip_call_transfer: no sessionId is refused", "sip_call_transfer", ({"toEndPoint": "sip:x@y"},)),
    Row("sip_call_transfer: no toEndPoint is refused", "sip_call_transfer", ({"sessionId": P},)),
    Row("sip_refer", "sip_refer", ({"sessionId": P, "toEndPoint": "sip:sales@pbx.example.com"},), in_call=DOCS_DIALOUT),
    Row("sip_refer: no sessionId is refused", "sip_refer", ({"toEndPoint": "sip:x@y"},)),
    # -- renderers (a non-UUID video renderer aborts the process: test_daily_sdk_offline.py)
    Row(
        "set_audio_renderer: a participant",
        "set_audio_renderer",
        (P, noop),
        {"audio_source": "microphone", "sample_rate": 16000, "callback_interval_ms": 20},
    ),
    Row(
        "set_video_renderer: a participant",
        "set_video_renderer",
        (P, noop),
        {"video_source": "camera", "color_format": "RGB"},
    ),
    Row(
        "set_video_renderer: BGR raises",
        "set_video_renderer",
        (P, noop),
        {"video_source": "camera", "color_format": "BGR"},
    ),
    # -- getters: every one the backend calls answers at once (participants() is never called)
    *(
        Row(f"getter {name}", name)
        for name in (
            "inputs",
            "publishing",
            "subscriptions",
            "subscription_profiles",
            "participant_counts",
            "active_speaker",
            "get_network_stats",
        )
    ),  # fmt: skip
    # -- media objects
    Row("CustomAudioSource: with auto_silence off", "CustomAudioSource", (16000, 1, False), on_sdk=True),
    Row("CustomAudioSource: a rate of 0 is accepted", "CustomAudioSource", (0, 1), on_sdk=True),
    Row("CustomVideoSource: RGB", "CustomVideoSource", (4, 4, "RGB"), on_sdk=True),
    Row("CustomVideoSource: BGR raises", "CustomVideoSource", (4, 4, "BGR"), on_sdk=True),
    # -- leaving: a new local participant
    Row("leave", "leave"),
]


def _family(text: str) -> str:
    """An error's class: its text up to the details (``JsonApiError`` keeps the message's lead)."""
    match = re.match(r'JsonApiError \{ message: "([^:"]*)', text)
    if match:
        return f"JsonApiError {match.group(1)}"
    return re.split(r"[:{]", text, maxsplit=1)[0].strip()


def _resolve(value: Any, ctx: Context) -> Any:
    return value(ctx) if callable(value) and value is not noop and not isinstance(value, type) else value


def verdict(row: Row, ctx: Context, events: list[str], settle: Callable[[], None]) -> dict[str, Any]:
    """What the SDK did with one row: outcome, error code and family, the events it caused (sorted)."""
    args = tuple(_resolve(a, ctx) for a in row.args)
    events.clear()
    target = getattr(ctx.sdk if row.on_sdk else ctx.client, row.method)
    takes_completion = not row.on_sdk and "completion" in inspect.signature(target).parameters
    box: list[tuple[Any, ...]] = []
    done = threading.Event()

    def completion(*result: Any) -> None:
        box.append(result)
        done.set()

    try:
        target(*args, **row.kwargs, **({"completion": completion} if takes_completion else {}))
    except Exception as exc:
        settle()
        return {"outcome": "raised", "family": type(exc).__name__, "events": sorted(events)}
    if takes_completion and not done.wait(10):
        return {"outcome": "no completion", "events": sorted(events)}
    settle()
    out: dict[str, Any] = {"outcome": "completed" if takes_completion else "returned", "events": sorted(events)}
    if box:
        error = box[0][1] if row.method in TWO_ARG else box[0][0]
        if error:
            out["code"] = command_error(row.method, error).code.value
            out["family"] = _family(str(error))
            out["error"] = str(error)  # shown on a mismatch, not compared
    return out


def run_rows(sdk: Any, settle: Callable[[Any], None]) -> dict[str, Any]:
    """Every row against ``sdk`` (daily-python, or the fake), on one CallClient, in order."""
    events: list[str] = []

    class Handler(sdk.EventHandler):  # type: ignore[misc,name-defined]
        pass

    for name in (n for n in dir(sdk.EventHandler) if n.startswith("on_")):
        setattr(Handler, name, lambda self, *args, _n=name: events.append(_n))
    client = sdk.CallClient(event_handler=Handler())
    ctx = Context(sdk, client)
    out: dict[str, Any] = {}
    try:
        for row in ROWS:
            out[row.label] = verdict(row, ctx, events, lambda: settle(client))
        before = client.participants()["local"]["id"]
        out["leave: the local participant is a new one"] = {"new_id": before != _after_leave(client, settle)}
    finally:
        client.release()
    return out


def _after_leave(client: Any, settle: Callable[[Any], None]) -> str:
    done = threading.Event()
    client.leave(completion=lambda error: done.set())
    done.wait(10)
    settle(client)
    return str(client.participants()["local"]["id"])


def run_real() -> dict[str, Any]:
    """The table against daily-python itself (call in a fresh interpreter: Daily.init runs once)."""
    import daily

    daily.Daily.init()
    # Events trail a completion by well under 1 ms on a quiet machine; a loaded one delays the SDK's threads.
    return run_rows(daily, lambda client: time.sleep(0.15))


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    """The real SDK's verdicts, from one subprocess (it cannot share pytest's process: Daily.init once)."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from tests.unit.test_daily_differential import run_real; "
        "print('VERDICTS ' + json.dumps(run_real()), flush=True)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("VERDICTS ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return dict(json.loads(lines[-1][len("VERDICTS ") :]))


@pytest.fixture(scope="module")
def fake() -> dict[str, Any]:
    """The fake's verdicts for the same table."""
    sdk = FakeSdk(initialized=True)
    try:
        return run_rows(sdk, lambda client: client.fake.drain())
    finally:
        sdk.close()


def _compared(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "error"}


@pytest.mark.slow  # the real daily-python runs the table once per worker (several seconds)
@pytest.mark.parametrize("label", [row.label for row in ROWS] + ["leave: the local participant is a new one"])
def test_fake_and_real_sdk_agree(real: dict[str, Any], fake: dict[str, Any], label: str) -> None:
    """This row gets the same verdict (outcome, error class, events caused) from the fake as from daily-python."""
    assert _compared(fake[label]) == _compared(real[label]), f"fake {fake[label]} != real {real[label]}"


@pytest.mark.slow
def test_rows_that_end_outside_a_call_name_the_shape_they_were_checked_against(real: dict[str, Any]) -> None:
    """A row the real SDK can only answer with NotInACall offline documents its in-call shape; the others do not."""
    for row in ROWS:
        result = real[row.label]
        offline_only = result.get("code") == "wrong_state"
        assert bool(row.in_call) == offline_only, (row.label, result)


def test_the_table_covers_every_sdk_call_of_the_backend() -> None:
    """Each CallClient method and SDK constructor the backend calls is in the table, or checked where named."""
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "gateway" / "backends" / "daily").glob("*.py"))
    called = set(re.findall(r"\bclient\.(\w+)\(", source)) | set(re.findall(r"\bsdk\.(\w+)\(", source))
    elsewhere = {
        "join": "test_daily_sdk_offline.py (unparsable and unreachable rooms; success needs Daily's servers)",
        "release": "test_daily_sdk_offline.py::test_pending_join_facts",
        "CustomAudioTrack": "Context.audio_track (every row's join settings)",
        "CustomVideoTrack": "Context.video_track",
        "CallClient": "every row",
        "EventHandler": "every row",
        "pinless_dialin_update": "not daily-python: the Daily REST client (test_daily_rest.py)",
    }
    tabled = {row.method for row in ROWS}
    missing = sorted(called - tabled - set(elsewhere))
    assert not missing, f"SDK calls of the backend without a row: {missing}"
    assert {"update_subscription_profiles", "update_remote_participants", "send_app_message"} <= called
