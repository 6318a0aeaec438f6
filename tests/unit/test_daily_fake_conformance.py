"""The daily-python fake matches the real SDK's API, and behaves like it where tests rely on it.

The real classes are native (PyO3) but carry ``__text_signature__``, so ``inspect.signature``
reads the runtime API; the shipped ``.pyi`` stubs are parsed with ``ast`` too, because they fill
in defaults the runtime cannot express (``log_level=...``) and because the backend is type-checked
against them. Where stubs and runtime disagree the runtime wins (it is what runs), and the known
disagreements are pinned so that a daily-python upgrade that changes either side fails here.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import threading
import time
import types
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import daily
import numpy as np
import pytest

from tests.fakes.daily import (
    EVENT_NAMES,
    NEVER_EMITTED,
    UNREACHABLE_EVENT_ERROR,
    UNREACHABLE_JOIN_ERROR,
    FakeSdk,
    FakeSdkAbort,
    make_participant,
)

STUB_PATH = Path(daily.__file__).with_name("__init__.pyi")
UNKNOWN = "<unknown>"  # a runtime default that __text_signature__ cannot express (shown as Ellipsis)


# ----------------------------------------------------------------------------- API description


@dataclass(frozen=True)
class Param:
    """One parameter: name, kind (POSITIONAL_ONLY ...), default as source text or None."""

    name: str
    kind: str
    default: str | None


@dataclass(frozen=True)
class Member:
    """A public member of a class: a method with its parameters (self dropped), or a property/attribute."""

    kind: str  # "method" | "property" | "attribute"
    params: tuple[Param, ...] = ()


Api = dict[str, dict[str, Member]]  # class name -> member name -> member


def _default_text(value: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    if value is Ellipsis:
        return UNKNOWN
    return repr(value)


def _params_from_signature(sig: inspect.Signature, drop_first: bool) -> tuple[Param, ...]:
    params = list(sig.parameters.values())[1 if drop_first else 0 :]
    return tuple(Param(p.name, p.kind.name, _default_text(p.default)) for p in params)


def runtime_members(cls: type) -> dict[str, Member]:
    """Public members of a live class (real or fake), read with inspect."""
    members: dict[str, Member] = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(cls, name)
        if isinstance(static, (property, types.GetSetDescriptorType, types.MemberDescriptorType)):
            members[name] = Member("property")
        elif isinstance(static, (staticmethod, classmethod)):
            members[name] = Member("method", _params_from_signature(inspect.signature(getattr(cls, name)), False))
        elif callable(static):
            members[name] = Member("method", _params_from_signature(inspect.signature(static), True))
        else:
            members[name] = Member("attribute")
    return members


def runtime_constructor(cls: type) -> tuple[Param, ...] | None:
    """The constructor's parameters, or None when the class cannot be built from Python."""
    try:
        return _params_from_signature(inspect.signature(cls), False)
    except ValueError:
        return None


def _stub_params(fn: ast.FunctionDef | ast.AsyncFunctionDef, drop_first: bool) -> tuple[Param, ...]:
    a = fn.args
    positional = [(x, "POSITIONAL_ONLY") for x in a.posonlyargs] + [(x, "POSITIONAL_OR_KEYWORD") for x in a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [
        Param(arg.arg, kind, None if d is None else ast.unparse(d))
        for (arg, kind), d in zip(positional, defaults, strict=True)
    ]
    if a.vararg:
        params.append(Param(a.vararg.arg, "VAR_POSITIONAL", None))
    params += [
        Param(arg.arg, "KEYWORD_ONLY", None if d is None else ast.unparse(d))
        for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
    ]
    if a.kwarg:
        params.append(Param(a.kwarg.arg, "VAR_KEYWORD", None))
    return tuple(params[1:] if drop_first else params)


def _decorators(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def stub_api(path: Path = STUB_PATH) -> tuple[Api, dict[str, tuple[Param, ...]]]:
    """Public members and constructors of every class in the stubs, parsed with ast."""
    api: Api = {}
    constructors: dict[str, tuple[Param, ...]] = {}
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.ClassDef):
            continue
        members: dict[str, Member] = {}
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = _decorators(item)
                if item.name == "__init__":
                    constructors[node.name] = _stub_params(item, True)
                elif item.name.startswith("_") or "overload" in decorators:
                    continue
                elif "property" in decorators:
                    members[item.name] = Member("property")
                else:
                    static = bool(decorators & {"staticmethod", "classmethod"})
                    members[item.name] = Member("method", _stub_params(item, not static))
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                members[item.target.id] = Member("attribute")
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name) and not target.id.startswith("_"):
                        members[target.id] = Member("attribute")
        api[node.name] = members
    return api, constructors


STUBS, STUB_CONSTRUCTORS = stub_api()
REAL_NAMES: tuple[str, ...] = tuple(daily.__all__)  # type: ignore[attr-defined]  # the stubs omit __all__


def _same_default(fake: str | None, real: str | None, stub: str | None) -> bool:
    if real == UNKNOWN:  # the runtime cannot show it: the stub's text is the reference
        return stub is None or fake == stub
    return fake == real


def compare(cls_name: str, real: dict[str, Member], fake: dict[str, Member]) -> list[str]:
    """Every way ``fake`` differs from ``real`` (names, member kinds, parameters, defaults)."""
    problems = []
    stub = STUBS.get(cls_name, {})
    for name, member in sorted(real.items()):
        got = fake.get(name)
        if got is None:
            problems.append(f"{cls_name}.{name}: missing from the fake")
            continue
        if got.kind != member.kind and not {got.kind, member.kind} <= {"property", "attribute"}:
            problems.append(f"{cls_name}.{name}: fake is a {got.kind}, real is a {member.kind}")
            continue
        if member.kind != "method":
            continue
        real_shape = [(p.name, p.kind) for p in member.params]
        fake_shape = [(p.name, p.kind) for p in got.params]
        if real_shape != fake_shape:
            problems.append(f"{cls_name}.{name}: parameters {fake_shape} != real {real_shape}")
            continue
        stub_params = {p.name: p.default for p in stub[name].params} if name in stub else {}
        for r, f in zip(member.params, got.params, strict=True):
            if not _same_default(f.default, r.default, stub_params.get(r.name)):
                problems.append(f"{cls_name}.{name}({r.name}): default {f.default} != real {r.default}")
    for name in sorted(set(fake) - set(real)):
        problems.append(f"{cls_name}.{name}: the fake has it, the real SDK does not")
    return problems


# The stubs shipped with daily-python 0.36.0 disagree with its runtime like this. The fake follows
# the runtime. If this set changes, daily-python changed: re-read the stubs and the runtime, update
# the fake, then this set.
KNOWN_STUB_DRIFT = frozenset(
    {
        "CallClient.add_live_streaming_endpoings: stubs only",
        "CallClient.remove_live_streaming_endpoings: stubs only",
        "CallClient.add_live_streaming_endpoints: runtime only",
        "CallClient.remove_live_streaming_endpoints: runtime only",
        "CallClient.send_app_message: stubs (message, participant_id, serialize_none, completion) "
        "!= runtime (message, participant_id, completion)",
        "CallClient.set_audio_renderer: stubs (participant_id, callback, audio_source, sample_rate, "
        "callback_interval_ms) != runtime (participant_id, callback, audio_source, sample_rate, "
        "callback_interval_ms, logging_interval_ms)",
        "CallClient.set_video_renderer: stubs (participant_id, callback, video_source, color_format) "
        "!= runtime (participant_id, callback, video_source, color_format, logging_interval_ms)",
        "CallClient.stop_dialout(participant_id): stubs default None != runtime no default",
        "CustomAudioSource.write_frames: stubs (frame, completion) != runtime (frames, completion)",
        "Daily.create_native_vad(reset_period_ms): stubs default 500 != runtime default 1000",
        "EventHandler.on_dialin_connected: runtime only",
        "EventHandler.on_dialin_error: runtime only",
        "EventHandler.on_dialin_stopped: runtime only",
        "EventHandler.on_dialin_warning: runtime only",
        "EventHandler.on_transcription_updated: runtime only",
        "EventHandler.on_live_stream_updated: stubs (state) != runtime (update)",
        "LogLevel.value: stubs only",
        "NativeVad.rest_period_ms: stubs only",
        "NativeVad.reset_period_ms: runtime only",
        "NativeVad.analyze_frames: stubs (frame) != runtime (frames)",
        "VirtualMicrophoneDevice.write_frames: stubs (frame, completion) != runtime (frames, completion)",
        "VirtualSpeakerDevice.read_frames: stubs (num_frame, completion) != runtime (num_frames, completion)",
    }
)


def stub_drift() -> set[str]:
    """How the stubs differ from the runtime, one line per difference."""
    drift = set()
    for cls_name in REAL_NAMES:
        real = runtime_members(getattr(daily, cls_name))
        stub = STUBS.get(cls_name, {})
        for name in set(stub) - set(real):
            drift.add(f"{cls_name}.{name}: stubs only")
        for name in set(real) - set(stub):
            drift.add(f"{cls_name}.{name}: runtime only")
        for name in set(real) & set(stub):
            if real[name].kind != "method" or stub[name].kind != "method":
                continue
            r_names = [p.name for p in real[name].params]
            s_names = [p.name for p in stub[name].params]
            if r_names != s_names:
                drift.add(f"{cls_name}.{name}: stubs ({', '.join(s_names)}) != runtime ({', '.join(r_names)})")
                continue
            for r, s in zip(real[name].params, stub[name].params, strict=True):
                if r.default != s.default and r.default != UNKNOWN:
                    rd = "no default" if r.default is None else f"default {r.default}"
                    drift.add(f"{cls_name}.{name}({r.name}): stubs default {s.default} != runtime {rd}")
    return drift


# ---------------------------------------------------------------------------------- API tests


@pytest.fixture
def sdk() -> Any:
    fake = FakeSdk(initialized=True)
    yield fake
    fake.close()


def test_fake_sdk_exports_every_name_of_the_daily_module(sdk: FakeSdk) -> None:
    """Everything ``daily.__all__`` exports exists on FakeSdk, so it can stand in for the module."""
    assert {"CallClient", "Daily", "EventHandler", "CustomAudioSource"} <= set(REAL_NAMES)
    missing = [name for name in REAL_NAMES if not hasattr(sdk, name)]
    assert missing == []


@pytest.mark.parametrize("cls_name", REAL_NAMES)
def test_fake_members_match_the_runtime_exactly(sdk: FakeSdk, cls_name: str) -> None:
    """Each fake class has the real class's public members, no others, with identical parameters."""
    real_cls, fake_cls = getattr(daily, cls_name), getattr(sdk, cls_name)
    real = runtime_members(real_cls)
    assert real, f"could not read daily.{cls_name}"
    assert compare(cls_name, real, runtime_members(fake_cls)) == []


@pytest.mark.parametrize("cls_name", REAL_NAMES)
def test_fake_constructors_match_the_runtime(sdk: FakeSdk, cls_name: str) -> None:
    """Classes the code under test constructs take the same constructor parameters in the fake."""
    real = runtime_constructor(getattr(daily, cls_name))
    if real is None:  # e.g. daily.AudioData: "cannot create 'daily.AudioData' instances"
        return
    fake = runtime_constructor(getattr(sdk, cls_name))
    assert fake == real


def test_fake_covers_every_stub_member_the_runtime_has(sdk: FakeSdk) -> None:
    """Every member in the .pyi stubs is in the fake, unless the runtime lacks it too (known drift)."""
    missing = []
    for cls_name, members in STUBS.items():
        if cls_name not in REAL_NAMES:
            continue
        fake = runtime_members(getattr(sdk, cls_name))
        real = runtime_members(getattr(daily, cls_name))
        missing += [f"{cls_name}.{n}" for n in members if n not in fake and n in real]
    assert missing == []


def test_stub_parser_reads_the_shapes_it_must() -> None:
    """The ast reader sees kinds and defaults: a wrong parser would make the comparisons vacuous."""
    join = STUBS["CallClient"]["join"]
    assert join.params[0] == Param("meeting_url", "POSITIONAL_OR_KEYWORD", None)
    assert join.params[-1] == Param("completion", "POSITIONAL_OR_KEYWORD", "None")
    assert STUBS["Daily"]["init"].params == (
        Param("worker_threads", "POSITIONAL_OR_KEYWORD", "2"),
        Param("log_level", "POSITIONAL_OR_KEYWORD", "LogLevel.Off"),
    )
    assert STUBS["AudioData"]["sample_rate"].kind == "property"
    assert STUBS["LogLevel"]["Off"].kind == "attribute"
    assert STUB_CONSTRUCTORS["CustomAudioSource"][-1] == Param("auto_silence", "POSITIONAL_OR_KEYWORD", "True")
    assert len(STUBS["CallClient"]) >= 45


def test_comparison_catches_a_wrong_fake() -> None:
    """compare() reports a missing method, a renamed parameter, a changed default and an extra method."""

    class Wrong:
        def join(self, meeting_url: str, token: str | None = None, client_settings: Any = None,
                 completion: Any = None) -> None: ...  # fmt: skip

        def leave(self, completion: Any = 1) -> None: ...

        def extra(self) -> None: ...

    real = {n: m for n, m in runtime_members(daily.CallClient).items() if n in ("join", "leave", "release")}
    problems = compare("CallClient", real, runtime_members(Wrong))
    joined = "\n".join(problems)
    assert "CallClient.release: missing" in joined
    assert "CallClient.join: parameters" in joined  # token instead of meeting_token
    assert "CallClient.leave(completion): default 1 != real None" in joined
    assert "CallClient.extra: the fake has it" in joined


def test_stubs_and_runtime_differ_only_as_known() -> None:
    """The stub/runtime disagreements are exactly the recorded ones (new drift means: re-check the fake)."""
    assert stub_drift() == set(KNOWN_STUB_DRIFT)


def test_runtime_rejects_the_stub_only_parameter() -> None:
    """Following the stubs would break at runtime: serialize_none is a TypeError, in both real and fake."""
    with pytest.raises(TypeError):
        daily.CallClient.send_app_message(None, {}, None, serialize_none=True)  # type: ignore[call-arg,arg-type]
    fake = FakeSdk(initialized=True)
    client = fake.CallClient()
    with pytest.raises(TypeError):
        client.send_app_message({}, None, serialize_none=True)  # type: ignore[call-arg]
    client.release()
    fake.close()


# ------------------------------------------------------------------------------------ events


def _dummy(param: inspect.Parameter) -> Any:
    return {"participant": {"id": "p"}, "reason": "leftCall", "stopped_by_error": False}.get(
        param.name, f"<{param.name}>"
    )


class Recorder(daily.EventHandler):
    """Records every event with the thread it arrived on."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, tuple[Any, ...], int]] = []


for _name in EVENT_NAMES:
    setattr(
        Recorder,
        _name,
        (lambda n: lambda self, *args: self.events.append((n, args, threading.get_ident())))(_name),
    )


def test_every_stub_and_runtime_event_can_be_emitted(sdk: FakeSdk) -> None:
    """Each EventHandler.on_* in the stubs and at runtime (but those never sent) reaches the handler, args intact, off the caller's thread."""
    events = sorted((set(STUBS["EventHandler"]) | set(EVENT_NAMES)) - NEVER_EMITTED)
    assert len(events) >= 38 and all(e.startswith("on_") for e in events)
    handler = Recorder()
    client = sdk.CallClient(handler)
    expected = []
    for event in events:
        params = list(inspect.signature(getattr(daily.EventHandler, event)).parameters.values())[1:]
        args = tuple(_dummy(p) for p in params)
        client.fake.emit(event, *args)
        expected.append((event, args))
    client.fake.drain()
    assert [(n, a) for n, a, _ in handler.events] == expected
    assert threading.get_ident() not in {t for _, _, t in handler.events}


def test_emit_rejects_unknown_events_and_wrong_arguments(sdk: FakeSdk) -> None:
    """A typo in a test script fails loudly instead of silently emitting nothing; so does an event daily-python never sends."""
    client = sdk.CallClient(Recorder())
    with pytest.raises(AttributeError):
        client.fake.emit("on_participant_joind", {})
    assert NEVER_EMITTED == {"on_network_connection_status_updated"} and NEVER_EMITTED <= set(EVENT_NAMES)
    with pytest.raises(ValueError, match="never calls it"):
        client.fake.emit("on_network_connection_status_updated", "connected")
    with pytest.raises(TypeError):
        client.fake.emit("on_participant_left", {"id": "x"})  # reason missing


# ---------------------------------------------------------------------------- fake behaviour


class Log(daily.EventHandler):
    """Keeps (what, args, thread name) for events and completions in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[Any, ...]] = []

    def add(self, *item: Any) -> None:
        self.items.append((*item, threading.current_thread().name))

    def done(self, name: str) -> Any:
        return lambda *args: self.add(name, *args)

    def on_call_state_updated(self, state: str) -> None:
        self.add("state", state)

    def on_error(self, message: str) -> None:
        self.add("on_error", message)

    def on_inputs_updated(self, input_settings: Any) -> None:
        self.add("inputs_updated")

    def on_participant_updated(self, participant: Any) -> None:
        self.add("participant_updated")

    def strip(self) -> list[tuple[Any, ...]]:
        return [item[:-1] for item in self.items]


async def test_callbacks_never_run_on_the_caller_or_the_event_loop_thread(sdk: FakeSdk) -> None:
    """Completions and events come from the fake's own threads, never the loop's, like the real SDK."""
    log = Log()
    client = sdk.CallClient(log)
    loop_thread = threading.current_thread().name
    client.join("https://fake.daily.co/room", completion=log.done("join"))
    client.update_inputs({"microphone": False}, completion=log.done("update_inputs"))
    client.send_app_message({"hi": 1}, completion=log.done("send_app_message"))
    client.leave(completion=log.done("leave"))
    await asyncio.get_running_loop().run_in_executor(None, client.fake.drain)
    threads = {item[-1] for item in log.items}
    assert len(log.items) >= 8
    assert loop_thread not in threads and "MainThread" not in threads
    assert threads == {client.fake._emitter.thread.name}
    assert all(d.thread.startswith("fake-daily-emitter-") for d in client.fake.delivered)


def test_join_success_sequence_and_join_data(sdk: FakeSdk) -> None:
    """A scripted successful join emits joining, joined, then completion(join_data, None)."""
    log = Log()
    alice = make_participant(user_name="alice")
    sdk.script.remote_participants = [alice]
    client = sdk.CallClient(log)
    client.join("https://fake.daily.co/room", "tok", {"inputs": {"camera": False}}, log.done("join"))
    client.fake.drain()
    (s1, s2, (what, data, error)) = log.strip()
    assert (s1, s2, what, error) == (("state", "joining"), ("state", "joined"), "join", None)
    assert set(data["participants"]) == {"local", alice["id"]} and "id" in data["meetingSession"]
    assert client.participant_counts()["present"] == 2
    assert client.fake.meeting_token == "tok" and client.inputs()["camera"] is False


@pytest.mark.parametrize("left_last", [False, True])
def test_unreachable_join_sequence_matches_the_real_orders(sdk: FakeSdk, left_last: bool) -> None:
    """fail_join_unreachable reproduces both observed orders: "left" before or after the failed completion."""
    log = Log()
    sdk.script.fail_join_unreachable(delay=0.05)
    sdk.script.left_after_completion = left_last
    client = sdk.CallClient(log)
    client.join("https://fake.daily.co/room", completion=log.done("join"))
    client.fake.drain()
    failed: list[tuple[Any, ...]] = [
        ("join", None, UNREACHABLE_JOIN_ERROR),
        ("on_error", f"Error handling join: {UNREACHABLE_JOIN_ERROR}"),
    ]
    left: list[tuple[Any, ...]] = [("state", "left")]
    assert log.strip() == [
        ("on_error", UNREACHABLE_EVENT_ERROR),
        ("state", "leaving"),
        *(failed + left if left_last else left + failed),
    ]


@pytest.mark.parametrize("left_last", [False, True])
def test_leave_sequence_in_both_real_orders(sdk: FakeSdk, left_last: bool) -> None:
    """leave emits leaving, then left and the completion in either of the two orders seen for real."""
    log = Log()
    sdk.script.left_after_completion = left_last
    client = sdk.CallClient(log)
    client.leave(completion=log.done("leave"))
    client.fake.drain()
    tail: list[tuple[Any, ...]] = [("state", "left"), ("leave", None)]
    assert log.strip() == [("state", "leaving"), *(tail[::-1] if left_last else tail)]


def test_join_with_unparsable_url_fails_at_once(sdk: FakeSdk) -> None:
    """A relative URL fails through the completion then on_error, with no state change, like the real one."""
    log = Log()
    client = sdk.CallClient(log)
    client.join("not a url", completion=log.done("join"))
    client.fake.drain()
    error = 'Failed to parse url: InvalidUrl("not a url", RelativeUrlWithoutBase)'
    assert log.strip() == [("join", None, error), ("on_error", f"Error handling join: {error}")]


def test_requests_outside_a_call_fail_with_the_real_errors(sdk: FakeSdk) -> None:
    """Before join: app messages and recordings fail (plus on_error), input updates succeed."""
    log = Log()
    client = sdk.CallClient(log)
    client.send_app_message({"x": 1}, completion=log.done("app"))
    client.start_recording(completion=log.done("rec"))
    client.update_inputs({"microphone": {"isEnabled": True}}, completion=log.done("inputs"))
    client.fake.drain()
    assert log.strip() == [
        ("app", "AppMessage(Signalling(ChannelNotOpen))"),
        ("on_error", "Error handling sendAppMessage: AppMessage(Signalling(ChannelNotOpen))"),
        ("rec", None, "Recording(CallState(NotInACall))"),
        ("on_error", "Error handling startRecording: Recording(CallState(NotInACall))"),
        ("inputs_updated",),
        ("participant_updated",),
        ("inputs", None),
    ]
    assert client.fake.app_messages == []


def test_scripted_errors_and_delays(sdk: FakeSdk) -> None:
    """script.errors makes one method fail with a given string; script.delays holds its completion back."""
    log = Log()
    client = sdk.CallClient(log)
    client.fake.script.errors["update_publishing"] = "boom"
    client.fake.script.delays["set_proxy_url"] = 0.3
    started = time.monotonic()
    client.set_proxy_url("http://127.0.0.1:9", completion=log.done("proxy"))
    client.update_publishing({"camera": {"isPublishing": False}}, completion=log.done("publishing"))
    client.fake.drain()
    assert time.monotonic() - started >= 0.29
    assert log.strip() == [
        ("proxy", None),
        ("publishing", "boom"),
        ("on_error", "Error handling updatePublishing: boom"),
    ]


def test_requests_queue_behind_a_slow_join_and_participants_blocks(sdk: FakeSdk) -> None:
    """A pending join delays later completions and blocks participants() (recorded as a stall: the real
    one freezes the process), while the other getters and the SDK's own refusals answer at once."""
    log = Log()
    sdk.script.join_delay = 0.4
    client = sdk.CallClient(log)
    started = time.monotonic()
    client.join("https://fake.daily.co/room", completion=log.done("join"))
    client.send_app_message({"after": "join"}, completion=log.done("app"))
    client.update_remote_participants({str(uuid.uuid4()): {"permissions": {"canSend": True}}}, completion=log.done("bad"))
    for getter in ("inputs", "publishing", "subscriptions", "subscription_profiles", "participant_counts",
                   "active_speaker", "get_network_stats"):  # fmt: skip
        getattr(client, getter)()
    assert time.monotonic() - started < 0.1, "join, the cached getters and a refusal must not block"
    assert "local" in client.participants()
    assert time.monotonic() - started >= 0.38, "participants() waits for the pending join"
    assert sdk.stalls and "GIL" in sdk.stalls[0]
    client.release()
    names = [i[0] for i in log.strip()]
    # The refusal came at once, ahead of the queue, before the join's own "joined" and completion.
    assert names.index("bad") < names.index("join") and names.index("bad") < len(names) - 3, names
    assert [n for n in names if n not in ("bad", "on_error")] == ["state", "state", "join", "app"], names
    assert client.fake.app_messages == [({"after": "join"}, None)]
    with pytest.raises(AssertionError, match="freeze"):
        sdk.assert_no_callback_errors()
    sdk.stalls.clear()


def test_release_drops_the_requests_queued_behind_a_pending_join(sdk: FakeSdk) -> None:
    """release() waits for the join in progress; a request queued behind it never gets its completion."""
    log = Log()
    sdk.script.join_delay = 0.3
    client = sdk.CallClient(log)
    client.join("https://fake.daily.co/room", completion=log.done("join"))
    client.update_inputs({"camera": {"isEnabled": True}}, completion=log.done("inputs"))
    started = time.monotonic()
    client.release()
    assert time.monotonic() - started >= 0.25
    names = [i[0] for i in log.strip()]
    assert "join" in names and "inputs" not in names


def test_set_user_name_emits_the_local_participant_only_on_a_change(sdk: FakeSdk) -> None:
    """set_user_name emits on_participant_updated(local) with the new name, once; the same name again emits nothing."""
    log = Log()
    client = sdk.CallClient(log)
    client.set_user_name("bot")
    client.set_user_name("bot")
    client.fake.drain()
    assert log.strip() == [("participant_updated",)]
    assert client.participants()["local"]["info"]["userName"] == "bot"


def test_updates_that_change_nothing_emit_nothing(sdk: FakeSdk) -> None:
    """update_inputs / update_publishing to the current values complete without any event."""
    log = Log()
    client = sdk.CallClient(log)
    client.update_inputs({"camera": {"isEnabled": False}}, completion=log.done("inputs"))
    client.update_publishing({"camera": {"isPublishing": True}}, completion=log.done("publishing"))
    client.fake.drain()
    assert log.strip() == [("inputs", None), ("publishing", None)]


@pytest.mark.parametrize("completion_first", [False, True])
def test_subscription_profiles_event_and_completion_in_both_real_orders(sdk: FakeSdk, completion_first: bool) -> None:
    """update_subscription_profiles: its event before its completion (usual), or after (Script.completion_before_event)."""
    order: list[str] = []

    class Profiles(daily.EventHandler):
        def on_subscription_profiles_updated(self, subscription_profiles: Any) -> None:
            order.append("event")

    sdk.script.completion_before_event = completion_first
    client = sdk.CallClient(Profiles())
    client.update_subscription_profiles({"base": {"camera": "unsubscribed"}}, completion=lambda e: order.append("done"))
    client.fake.drain()
    assert order == (["done", "event"] if completion_first else ["event", "done"])


def test_leave_makes_a_new_local_participant(sdk: FakeSdk) -> None:
    """After leave(), participants()["local"] has a new id (the real client is a new participant)."""
    client = sdk.CallClient(Log())
    before = client.participants()["local"]["id"]
    client.leave()
    client.fake.drain()
    after = client.participants()["local"]["id"]
    assert after != before and uuid.UUID(after)


def test_custom_audio_source_plays_whole_10ms_blocks(sdk: FakeSdk) -> None:
    """Like the real one, a write of 330 frames at 16 kHz takes 3 blocks (30 ms), not 20.6 ms."""
    source = sdk.CustomAudioSource(16000, 1)
    source.write_frames(b"\0\0" * 330)
    started = time.monotonic()
    for _ in range(5):
        source.write_frames(b"\0\0" * 330)
    assert time.monotonic() - started >= 0.145


def test_send_app_message_none_raises_like_the_real_one(sdk: FakeSdk) -> None:
    """send_app_message(None) raises ValueError at the call, with no completion (as daily-python 0.36)."""
    client = sdk.CallClient(Log())
    with pytest.raises(ValueError, match="invalid app message"):
        client.send_app_message(None)


def test_release_stops_every_thread_and_forbids_further_calls(sdk: FakeSdk) -> None:
    """After release() the fake's threads are gone and each method raises the real RuntimeError."""
    client = sdk.CallClient(Log())
    threads = client.fake.threads
    assert all(t.is_alive() for t in threads)
    client.release()
    assert not any(t.is_alive() for t in threads)
    for call in (client.release, client.participants, lambda: client.leave()):
        with pytest.raises(RuntimeError, match="already been released"):
            call()


def test_process_aborts_of_the_real_sdk_raise_fake_sdk_abort() -> None:
    """CallClient before init, a second init, and a non-UUID video renderer raise FakeSdkAbort."""
    with FakeSdk() as fake:
        with pytest.raises(FakeSdkAbort):
            fake.CallClient()
        fake.Daily.init()
        with pytest.raises(FakeSdkAbort):
            fake.Daily.init()
        client = fake.CallClient()
        with pytest.raises(FakeSdkAbort):
            client.set_video_renderer("local", lambda *a: None)
        assert not issubclass(FakeSdkAbort, Exception)
        assert len(fake.aborts) == 3


def test_callback_exceptions_are_recorded_not_raised(sdk: FakeSdk) -> None:
    """A raising completion is kept in callback_errors and later callbacks still run."""
    log = Log()
    client = sdk.CallClient(log)

    def bad(error: str | None) -> None:
        raise ValueError("handler bug")

    client.leave(completion=bad)
    client.leave(completion=log.done("second"))
    client.fake.drain()
    assert [type(e.error) for e in sdk.callback_errors] == [ValueError]
    assert ("second", None) in log.strip()
    with pytest.raises(AssertionError):
        sdk.assert_no_callback_errors()


def test_push_audio_feeds_the_renderer_at_real_rate_from_its_own_thread(sdk: FakeSdk) -> None:
    """300 ms pushed at 48 kHz reach a 16 kHz / 20 ms renderer as 15 chunks of 320 frames over ~300 ms."""
    client = sdk.CallClient(Log())
    pid = str(uuid.uuid4())
    chunks: list[tuple[str, int, int, str, str]] = []

    def on_audio(participant_id: str, audio: Any, source: str) -> None:
        chunks.append(
            (participant_id, audio.num_audio_frames, audio.sample_rate, source, threading.current_thread().name)
        )

    client.set_audio_renderer(pid, on_audio, sample_rate=16000, callback_interval_ms=20)
    tone = (np.sin(np.arange(14400) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16).tobytes()
    started = time.monotonic()
    handle = client.fake.push_audio(pid, tone, 48000)
    assert handle.wait(5)
    elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 0.6, elapsed
    assert len(chunks) == handle.chunks == 15
    assert {c[:4] for c in chunks} == {(pid, 320, 16000, "microphone")}
    assert {c[4] for c in chunks} == {client.fake._audio.thread.name}
    with pytest.raises(LookupError):
        client.fake.push_audio(str(uuid.uuid4()), tone, 48000)


def test_audio_renderer_with_a_bad_id_registers_nothing(sdk: FakeSdk) -> None:
    """Like the real SDK: no exception, an on_error, and no renderer."""
    log = Log()
    client = sdk.CallClient(log)
    client.set_audio_renderer("local", lambda *a: None)
    client.fake.drain()
    assert client.fake.audio_renderers == {}
    assert log.strip()[0][1].startswith("Error handling setParticipantAudioRenderer")


def test_custom_audio_source_paces_writes_at_real_time(sdk: FakeSdk) -> None:
    """write_frames returns the frame count; the completion comes ~100 ms later from a sender thread."""
    source = sdk.CustomAudioSource(16000, 1)
    track = sdk.CustomAudioTrack(source)
    uuid.UUID(track.id)
    done = threading.Event()
    seen: list[tuple[int, str]] = []
    started = time.monotonic()

    def on_written(count: int) -> None:
        seen.append((count, threading.current_thread().name))
        done.set()

    count = source.write_frames(b"\0" * 3200, completion=on_written)
    assert count == 1600 and time.monotonic() - started < 0.05
    assert done.wait(2)
    assert time.monotonic() - started >= 0.095
    assert seen[0][0] == 1600 and seen[0][1].startswith("fake-daily-audio-sender")
    started = time.monotonic()
    assert source.write_frames(b"\0" * 1600) == 800
    assert time.monotonic() - started >= 0.045  # blocking write: 50 ms of audio
    with pytest.raises(ValueError):
        source.write_frames(b"\0" * 3)
    assert bytes(source.fake.written) == b"\0" * 4800


def test_native_vad_fake_returns_floats(sdk: FakeSdk) -> None:
    """The fake VAD answers 0.0 for silence, more for a tone, and scripted values first."""
    vad = sdk.Daily.create_native_vad()
    assert vad.reset_period_ms == 1000 and vad.sample_rate == 16000
    tone = (np.sin(np.arange(160) * 0.2) * 8000).astype(np.int16).tobytes()
    assert vad.analyze_frames(b"\0" * 320) == 0.0
    assert vad.analyze_frames(tone) > 0.5
    vad.fake.confidences.append(0.25)
    assert vad.analyze_frames(b"\0" * 320) == 0.25
