"""docs/DAILY.md maps every item of the reference DailyTransport, and every row is true.

The table rows are ``| kind | item | protocol | tests |``. This test fails when an item of the
reference (the checked list below, taken from shared/seed/daily-transport-reference.txt) or a
daily-python ``EventHandler`` callback has no row, when a backticked protocol reference names no
request, event, field or media kind of ``protocol/schema``, or when a named test does not exist
(test node ids are collected by parsing the test files, not by importing them).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from protocol.constants import MediaKind
from protocol.schema import _resolve, event_names, load_schema, request_types

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "DAILY.md"

# The reference's surface, item by item (kind, name), in the order the reference lists them.
PARAMETERS = [
    "room_url", "token", "bot_name", "params",
    "params.api_url", "params.api_key",
    "params.audio_out_enabled", "params.audio_out_is_live", "params.audio_out_sample_rate",
    "params.audio_out_channels", "params.audio_out_bitrate",
    "params.audio_in_enabled", "params.audio_in_passthrough", "params.audio_in_sample_rate",
    "params.audio_in_channels", "params.audio_in_filter",
    "params.video_out_enabled", "params.video_out_is_live", "params.video_out_width",
    "params.video_out_height", "params.video_out_bitrate", "params.video_out_framerate",
    "params.video_out_color_format",
    "params.vad_analyzer", "params.dialin_settings",
    "params.transcription_enabled", "params.transcription_settings",
]  # fmt: skip
EVENTS = [
    "on_joined", "on_left", "on_first_participant_joined", "on_participant_joined",
    "on_participant_left", "on_participant_updated", "on_app_message", "on_call_state_updated",
    "on_dialin_ready", "on_dialin_connected", "on_dialin_stopped", "on_dialin_error", "on_dialin_warning",
    "on_dialout_answered", "on_dialout_connected", "on_dialout_stopped", "on_dialout_error",
    "on_dialout_warning", "on_transcription_message", "on_recording_started", "on_recording_stopped",
    "on_recording_error", "on_error",
]  # fmt: skip
FRAMES = ["InputAudioRawFrame", "UserImageRawFrame", "OutputAudioRawFrame", "OutputImageRawFrame"]
METHODS = [
    "send_message", "send_message.TransportMessageFrame", "send_message.TransportMessageUrgentFrame",
    "send_image", "send_audio",
    "capture_participant_video", "capture_participant_video.participant_id",
    "capture_participant_video.framerate", "capture_participant_video.video_source",
    "capture_participant_video.color_format", "UserImageRequestFrame",
    "capture_participant_transcription", "capture_participant_transcription.participant_id",
    "update_transcription", "update_transcription.participants", "update_transcription.instance_id",
    "start_recording", "start_recording.streaming_settings", "start_recording.stream_id",
    "start_recording.force_new",
    "stop_recording", "stop_recording.stream_id",
    "start_dialout", "start_dialout.settings",
    "stop_dialout", "stop_dialout.participant_id",
    "send_dtmf", "send_dtmf.settings",
    "update_subscriptions", "update_subscriptions.participant_settings",
    "update_subscriptions.profile_settings",
    "update_remote_participants", "update_remote_participants.remote_participants",
    "send_prebuilt_chat_message", "send_prebuilt_chat_message.message", "send_prebuilt_chat_message.user_name",
]  # fmt: skip
PROPERTIES = ["participant_id", "room_url"]
SEED: list[tuple[str, str]] = [
    *(("parameter", n) for n in PARAMETERS),
    *(("event", n) for n in EVENTS),
    *(("frame", n) for n in FRAMES),
    *(("method", n) for n in METHODS),
    *(("property", n) for n in PROPERTIES),
]
KINDS = {"parameter", "event", "frame", "method", "property", "callback", "client method", "rest"}
TICKED = re.compile(r"`([^`]+)`")
BINARY = re.compile(r"^binary:(\w+)$")


@cache
def rows() -> list[tuple[str, str, str, str]]:
    """(kind, item, protocol cell, tests cell) of every mapping row in docs/DAILY.md."""
    out = []
    for line in DOC.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 4 and cells[0] in KINDS:
            item = TICKED.fullmatch(cells[1])
            assert item, f"item cell {cells[1]!r} is not one `name`"
            out.append((cells[0], item.group(1), cells[2], cells[3]))
    return out


def keys() -> list[tuple[str, str]]:
    return [(kind, item) for kind, item, _, _ in rows()]


def test_every_reference_item_has_one_row():
    """Each item of the reference DailyTransport (parameters, events, frames, methods, properties) has exactly one row."""
    listed = keys()
    missing = [k for k in SEED if k not in listed]
    assert not missing, f"docs/DAILY.md has no row for {missing}"
    doubled = sorted({k for k in listed if listed.count(k) > 1})
    assert not doubled, f"listed twice: {doubled}"


def test_every_unsurfaced_sdk_callback_has_a_row():
    """Each daily-python EventHandler callback the reference does not surface has a `callback` row."""
    daily = pytest.importorskip("daily")
    callbacks = {n for n in dir(daily.EventHandler) if n.startswith("on_")}
    unsurfaced = sorted(callbacks - set(EVENTS))
    listed = {item for kind, item in keys() if kind == "callback"}
    assert not [c for c in unsurfaced if c not in listed], "add rows for " + ", ".join(
        c for c in unsurfaced if c not in listed
    )
    assert listed <= callbacks, f"callback rows that daily-python does not have: {sorted(listed - callbacks)}"


def _path_exists(schema: dict[str, Any], base: str, path: list[str]) -> bool:
    """True if the dotted ``path`` names a property of ``schema`` (following $ref, anyOf, oneOf, allOf)."""
    if not path:
        return True
    node, base = _resolve(schema, base)
    for key in ("anyOf", "oneOf", "allOf"):
        if any(_path_exists(alt, base, path) for alt in node.get(key, [])):
            return True
    child = node.get("properties", {}).get(path[0])
    if child is True:  # any JSON value: nothing below it to check
        return len(path) == 1
    return isinstance(child, dict) and _path_exists(child, base, path[1:])


def _check_reference(ref: str) -> str | None:
    """None if ``ref`` (``request.field.path``, ``event.field.path`` or ``binary:kind``) exists, else why not."""
    binary = BINARY.match(ref)
    if binary:
        return None if binary.group(1).upper() in MediaKind.__members__ else f"no media kind {binary.group(1)!r}"
    name, *path = ref.split(".")
    if name in request_types():
        file = f"requests/{name}.json"
    elif name in event_names():
        file = f"events/{name}.json"
    else:
        return f"{name!r} is neither a request nor an event of protocol/schema"
    if not _path_exists(load_schema(file), file, path):
        return f"{file} has no field {'.'.join(path)!r}"
    return None


def test_every_protocol_reference_exists_in_the_schema():
    """Every backticked reference in the protocol column is a request or event (and field) of protocol/schema, or a binary media kind."""
    problems = []
    for kind, item, protocol, _ in rows():
        refs = TICKED.findall(protocol)
        if not refs:
            problems.append(f"{kind} {item}: no protocol reference")
        problems += [f"{kind} {item}: {why}" for ref in refs if (why := _check_reference(ref))]
    assert not problems, "\n".join(problems)


@cache
def _defined_tests(path: str) -> frozenset[str]:
    """Names of the test functions in one test file (``test_x`` and ``TestY::test_x``), by parsing it."""
    tree = ast.parse((ROOT / path).read_text("utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names |= {
                f"{node.name}::{f.name}"
                for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and f.name.startswith("test")
            }
    return frozenset(names)


def test_every_named_test_exists():
    """Every row names at least one test node id (path::function[param]); the function exists and its file names the parameter."""
    problems = []
    for kind, item, _, tests in rows():
        ids = TICKED.findall(tests)
        if not ids:
            problems.append(f"{kind} {item}: no test named")
        for node_id in ids:
            path, _, function = node_id.partition("::")
            function, _, param = function.partition("[")
            if not (ROOT / path).is_file():
                problems.append(f"{kind} {item}: no file {path}")
            elif function not in _defined_tests(path):
                problems.append(f"{kind} {item}: {path} has no {function}")
            elif param and f'"{param.rstrip("]")}"' not in (ROOT / path).read_text("utf-8"):
                problems.append(f"{kind} {item}: {path} never names the parameter {param.rstrip(']')!r}")
    assert not problems, "\n".join(problems)


def test_the_doc_is_linked_from_readme_and_architecture():
    """README and docs/ARCHITECTURE.md link docs/DAILY.md, so people find the mapping."""
    assert "docs/DAILY.md" in (ROOT / "README.md").read_text("utf-8")
    assert "DAILY.md" in (ROOT / "docs" / "ARCHITECTURE.md").read_text("utf-8")
