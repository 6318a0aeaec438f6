"""The JSON Schemas: well-formed, defaults filled in, errors mapped to codes and fields, and PROTOCOL.md's examples valid."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

import protocol
from protocol import messages
from protocol.errors import InvalidParams, ProtocolError, UnknownType, UnsupportedFormat
from protocol.messages import Request
from protocol.schema import (
    BASE_URI,
    _load_all,
    _registry,
    _resolve,
    event_names,
    load_schema,
    request_types,
    validate_request,
    validate_server_message,
    validator,
)

SPEC = Path(protocol.__file__).resolve().parent / "PROTOCOL.md"
FENCE = re.compile(r"^```(json[^\n]*)\n(.*?)^```", re.M | re.S)


def spec_examples() -> list[tuple[str, str, int]]:
    """Every fenced ```json block of PROTOCOL.md: (info string, body, line number)."""
    text = SPEC.read_text("utf-8")
    return [(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema object in a document, with a JSON-pointer-ish path."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found.extend(_walk(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_walk(value, f"{path}/{i}"))
    return found


# ---------------------------------------------------------------------------- the schema files


@pytest.mark.parametrize("path", sorted(_load_all()))
def test_schema_file_is_valid_draft_2020_12(path: str) -> None:
    """Each schema file is a valid Draft 2020-12 schema whose $id is its own URL."""
    schema = load_schema(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + path
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", sorted(_load_all()))
def test_every_ref_resolves(path: str) -> None:
    """Every $ref in a schema file points at an existing schema (across files too)."""
    resolver = _registry().resolver(base_uri=BASE_URI + path)
    for where, node in _walk(load_schema(path)):
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"]).contents
            assert isinstance(resolved, dict), f"{path}{where}: {node['$ref']}"


@pytest.mark.parametrize("path", sorted(_load_all()))
def test_every_default_is_valid_for_its_field(path: str) -> None:
    """A default declared in a schema satisfies that field's own schema (else the gateway would fill in bad values)."""
    for where, node in _walk(load_schema(path)):
        if "default" not in node or where.endswith("/properties"):
            continue
        target, _ = _resolve({k: v for k, v in node.items() if k != "default"}, path)
        rules = {k: v for k, v in {**target, **node}.items() if k not in ("$ref", "default", "description")}
        Draft202012Validator(rules).validate(node["default"])


@pytest.mark.parametrize("rtype", request_types())
def test_request_schemas_share_the_envelope(rtype: str) -> None:
    """Each request schema requires type and id, pins its type, uses the common id and refuses unknown fields."""
    schema = load_schema(f"requests/{rtype}.json")
    assert schema["title"] == f"request {rtype}"
    assert {"type", "id"} <= set(schema["required"])
    assert schema["properties"]["type"] == {"const": rtype}
    assert schema["properties"]["id"] == {"$ref": "../common.json#/$defs/id"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", event_names())
def test_event_schemas_describe_an_object(name: str) -> None:
    """Each event schema describes the event's data object and is titled after the event."""
    schema = load_schema(f"events/{name}.json")
    assert schema["title"] == f"event {name} (data)"
    assert schema["type"] == "object"


def test_id_limits_match_the_codec() -> None:
    """The schema's id rule (1-128 characters) is the envelope decoder's rule."""
    rule = load_schema("common.json")["$defs"]["id"]
    assert (rule["minLength"], rule["maxLength"]) == (1, messages.MAX_ID_LENGTH)


# ---------------------------------------------------------------------------- defaults


def test_join_defaults_are_filled_in_nested_objects() -> None:
    """A join naming only room_url gets every default, inside audio_in, audio_out and vad too."""
    params = validate_request(Request("join", "1", {"room_url": "local://x"}))
    assert params["user_name"] == "gateway-bot" and params["levels_interval_ms"] == 0
    assert params["audio_in"] == {
        "enabled": True, "sample_rate": 16000, "channels": 1, "frame_ms": 20, "filter": {"type": "none"}, "mixed": False
    }
    assert params["audio_out"]["sample_rate"] == 24000 and params["audio_out"]["channels"] == 1
    assert params["audio_out"]["bitrate"] == 96000 and params["audio_out"]["is_live"] is False
    assert params["vad"] == {
        "enabled": True, "analyzer": "webrtc", "aggressiveness": 2, "confidence": 0.7,
        "start_ms": 200, "stop_ms": 800, "min_level": 0,
    }
    assert params["transcription"] == {"enabled": False} and params["video_in"] == {"enabled": True}
    assert params["video_out"]["enabled"] is False and params["video_out"]["color_format"] == "RGB"
    assert "token" not in params and "backend" not in params and "user_data" not in params


def test_given_values_are_kept_and_siblings_filled() -> None:
    """Fields the client gives win over defaults; the missing fields of a partly given object are filled."""
    params = validate_request(
        Request(
            "join",
            "1",
            {
                "room_url": "local://x",
                "audio_in": {"sample_rate": 48000, "enabled": False},
                "vad": {"stop_ms": 300},
                "user_name": "bot",
            },
        )
    )
    assert params["audio_in"] == {
        "enabled": False, "sample_rate": 48000, "channels": 1, "frame_ms": 20, "filter": {"type": "none"}, "mixed": False
    }
    assert params["vad"]["stop_ms"] == 300 and params["vad"]["start_ms"] == 200
    assert params["user_name"] == "bot"


def test_validation_copies() -> None:
    """Validation leaves the request untouched and never shares default objects between results."""
    request = Request("join", "1", {"room_url": "local://x", "audio_in": {"channels": 2}})
    before = copy.deepcopy(request.params)
    first = validate_request(request)
    assert request.params == before
    first["audio_in"]["sample_rate"] = 8000
    first["vad"]["enabled"] = False
    second = validate_request(request)
    assert second["audio_in"]["sample_rate"] == 16000 and second["vad"]["enabled"] is True


def test_defaults_of_other_requests() -> None:
    """Defaults are filled for every request that declares them, e.g. urgent and capture settings."""
    assert validate_request(Request("send-app-message", "1", {"message": 0})) == {"message": 0, "urgent": False}
    assert validate_request(Request("ping", "1", {})) == {}


def _default_table(heading: str) -> dict[str, str]:
    """Field -> Default cell of the first ``| Field | Default |`` table after a PROTOCOL.md heading."""
    text = SPEC.read_text("utf-8")
    section = text[text.index(heading) :]
    lines = section[section.index("| Field | Default |") :].splitlines()[2:]
    rows = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1]
    return rows


@pytest.mark.parametrize(
    ("heading", "field"),
    [("### 8.1 `join.audio_in`", "audio_in"), ("### 8.2 `join.audio_out`", "audio_out"), ("### 9.1 `join.vad`", "vad")],
)
def test_spec_default_tables_are_the_defaults_filled_in(heading: str, field: str) -> None:
    """Every default PROTOCOL.md's media tables promise is filled in by validation, with the value the table gives."""
    filled = validate_request(Request("join", "1", {"room_url": "local://x"}))[field]
    daily = _default_table("#### Join parameters of Daily's transport")
    table = {**_default_table(heading), **{k[len(field) + 1 :]: v for k, v in daily.items() if k.startswith(field + ".")}}
    assert set(table) == set(filled), "the table and the filled-in object name different fields"
    for name, cell in table.items():
        try:
            promised = json.loads(cell.strip("`"))
        except json.JSONDecodeError:
            continue  # a rule in words (8.2's derived defaults): checked by the test below
        assert filled[name] == promised, name


@pytest.mark.parametrize(
    ("limit", "audio_out", "expect"),
    [
        (120000, {}, (120000, 10000, 2000)),
        (3000, {}, (3000, 1500, 300)),
        (120000, {"max_buffer_ms": 1001}, (1001, 500, 100)),
        (120000, {"high_watermark_ms": 0}, (120000, 0, 0)),
        (120000, {"high_watermark_ms": 9999}, (120000, 9999, 1999)),
        (120000, {"low_watermark_ms": 50}, (120000, 10000, 50)),
        (100, {}, (100, 50, 10)),
    ],
)
def test_derived_defaults_follow_limits_and_given_fields(limit: int, audio_out: dict, expect: tuple) -> None:
    """audio_out's x-default rules give PROTOCOL.md 8.2's values, and the same ones the playout would derive itself."""
    from gateway.media.playout import PlayoutOptions

    request = Request("join", "1", {"room_url": "local://x", "audio_out": audio_out})
    filled = validate_request(request, limits={"max_playout_buffer_ms": limit})["audio_out"]
    assert (filled["max_buffer_ms"], filled["high_watermark_ms"], filled["low_watermark_ms"]) == expect
    own = PlayoutOptions.from_params(audio_out, limit)
    assert (own.max_buffer_ms, own.high_watermark_ms, own.low_watermark_ms) == expect


def test_objects_without_declared_defaults_are_not_created() -> None:
    """An absent object is created only when its schema declares a default inside: pass-through settings stay absent."""
    inputs = validate_request(Request("update-inputs", "1", {"input_settings": {"camera": {"isEnabled": True}}}))
    assert inputs == {"input_settings": {"camera": {"isEnabled": True}}}
    publishing = {"publishing_settings": {"microphone": {"isPublishing": False}}}
    assert validate_request(Request("update-publishing", "1", publishing)) == publishing
    join = validate_request(Request("join", "1", {"room_url": "local://x", "transcription": {"enabled": True}}))
    assert "dialin_settings" not in join and join["transcription"] == {"enabled": True}
    assert join["audio_in"]["filter"] == {"type": "none"}, "filter declares a default, so it is created"


@pytest.mark.parametrize("path", sorted(_load_all()))
def test_every_x_default_rule_is_well_formed(path: str) -> None:
    """Each x-default rule uses only the documented forms, names a hello limit or a sibling field, and has no default too."""
    from protocol.constants import DEFAULT_LIMITS

    def check(rule: Any, siblings: set[str]) -> None:
        if isinstance(rule, int):
            return
        assert isinstance(rule, dict) and len(set(rule) & {"limit", "field", "min"}) == 1, rule
        if "limit" in rule:
            assert rule["limit"] in DEFAULT_LIMITS, rule
        elif "field" in rule:
            assert rule["field"] in siblings and set(rule) <= {"field", "divide_by"}, rule
        else:
            for part in rule["min"]:
                check(part, siblings)

    for _, node in _walk(load_schema(path)):
        for name, prop in (node.get("properties") or {}).items() if isinstance(node.get("properties"), dict) else ():
            if isinstance(prop, dict) and "x-default" in prop:
                assert "default" not in prop, name
                check(prop["x-default"], set(node["properties"]) - {name})


# ---------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("rtype", "params", "error", "field"),
    [
        ("join", {}, InvalidParams, "room_url"),
        ("join", {"room_url": 1}, InvalidParams, "room_url"),
        ("join", {"room_url": "local://x", "surprise": 1}, InvalidParams, "surprise"),
        ("join", {"room_url": "local://x", "vad": {"loud": True}}, InvalidParams, "vad.loud"),
        ("join", {"room_url": "local://x", "audio_out": []}, InvalidParams, "audio_out"),
        (
            "join",
            {"room_url": "local://x", "audio_in": {"sample_rate": 7999}},
            UnsupportedFormat,
            "audio_in.sample_rate",
        ),
        (
            "join",
            {"room_url": "local://x", "audio_out": {"sample_rate": 48001}},
            UnsupportedFormat,
            "audio_out.sample_rate",
        ),
        ("join", {"room_url": "local://x", "audio_out": {"channels": 0}}, UnsupportedFormat, "audio_out.channels"),
        ("join", {"room_url": "local://x", "audio_in": {"frame_ms": 101}}, UnsupportedFormat, "audio_in.frame_ms"),
        (
            "join",
            {"room_url": "local://x", "audio_in": {"sample_rate": "16000"}},
            InvalidParams,
            "audio_in.sample_rate",
        ),
        ("join", {"room_url": "local://x", "vad": {"start_ms": 5}}, InvalidParams, "vad.start_ms"),
        ("join", {"room_url": "local://x", "vad": {"min_level": 2}}, InvalidParams, "vad.min_level"),
        ("join", {"room_url": "local://x", "levels_interval_ms": -1}, InvalidParams, "levels_interval_ms"),
        ("observe", {"room_url": "local://x", "audio": "all"}, InvalidParams, "audio"),
        ("observe", {"room_url": "local://x", "audio_in": {"channels": 3}}, UnsupportedFormat, "audio_in.channels"),
        (
            "capture-participant-video",
            {"participant_id": "p", "color_format": "NV12"},
            UnsupportedFormat,
            "color_format",
        ),
        ("capture-participant-video", {"participant_id": "p", "framerate": 61}, InvalidParams, "framerate"),
        ("send-app-message", {}, InvalidParams, "message"),
        ("send-app-message", {"message": None}, InvalidParams, "message"),
        ("join", {"room_url": "https://x.daily.co/r", "video_out": {"color_format": "BGR"}}, UnsupportedFormat, "video_out.color_format"),
        ("update-subscriptions", {"profile_settings": {"base": {"camera": "unsubscribed"}}}, InvalidParams, "profile_settings.base.media"),
        ("update-subscription-profiles", {"profile_settings": {}}, InvalidParams, "profile_settings"),
        ("update-transcription", {"participants": [""]}, InvalidParams, "participants.0"),
    ],
)
def test_violations_map_to_code_and_field(rtype: str, params: dict[str, Any], error: type, field: str) -> None:
    """Each kind of violation gets its code (format ranges: unsupported_format) and names the field, with the request id."""
    with pytest.raises(ProtocolError) as caught:
        validate_request(Request(rtype, "rid", params))
    assert type(caught.value) is error, caught.value
    assert caught.value.details == {"field": field}
    assert caught.value.request_id == "rid"
    assert caught.value.message.startswith(f"{rtype}: ")


def test_unknown_type_keeps_the_request_id() -> None:
    """An unknown request type is unknown_type with the request id (so it is answered with a reply)."""
    with pytest.raises(UnknownType) as caught:
        validate_request(Request("teleport", "t1", {}))
    assert caught.value.request_id == "t1"


def test_server_message_validation_checks_event_data() -> None:
    """validate_server_message checks the envelope and the event's data against its schema."""
    validate_server_message({"type": "event", "seq": 2, "event": "left", "data": {"reason": "left"}})
    with pytest.raises(ValidationError):
        validate_server_message({"type": "event", "seq": 2, "event": "left", "data": {"reason": "bored"}})
    with pytest.raises(ValidationError):
        validate_server_message({"type": "event", "seq": 2, "event": "no-such-event", "data": {}})
    with pytest.raises(ValidationError):
        validate_server_message(
            {"type": "reply", "seq": 2, "id": "1", "ok": True, "error": {"code": "internal", "message": "x"}}
        )
    with pytest.raises(ValidationError):
        validate_server_message({"type": "hello", "seq": 2})


@pytest.mark.parametrize(
    "message",
    [
        {"type": "reply", "seq": 2, "id": "1", "ok": True, "result": {}, "resutl": {}},
        {"type": "reply", "seq": 2, "id": "1", "ok": False, "error": {"code": "internal", "message": "x", "detials": {}}},
        {"type": "reply", "seq": 2, "id": "1", "ok": False, "error": {"code": "not_founds", "message": "x"}},
        {"type": "error", "seq": 2, "error": {"code": "bad_json", "message": "x"}, "fatal": True},
        {"type": "event", "seq": 2, "event": "left", "data": {"reason": "left"}, "dat": {}},
        {"type": "event", "seq": 2, "event": "error", "data": {"code": "internal", "message": "x", "detail": {}}},
        {"type": "event", "seq": 2, "event": "media-dropped", "data": {"dropped": 1, "total": 1, "reason": "slow", "x": 1}},
    ],
    ids=["reply-field", "error-object-field", "error-code", "error-envelope-field", "event-field", "error-event-field",
         "media-dropped-field"],
)
def test_strict_validation_catches_what_the_published_schema_lets_through(message: dict[str, Any]) -> None:
    """An undeclared field or error code is valid for clients (PROTOCOL.md 1.2) but fails the gateway's strict check."""
    validate_server_message(message, strict=False)
    with pytest.raises(ValidationError):
        validate_server_message(message)


def test_hello_requires_resume_token() -> None:
    """A hello without resume_token is invalid, strict or not: the gateway always sends one (sections 4 and 14)."""
    hello = next(v for v in json.loads((SPEC.parent / "vectors" / "json.json").read_text("utf-8"))["server_messages"]
                 if v["name"] == "hello")
    message = json.loads(hello["text"])
    validate_server_message(message)
    del message["resume_token"]
    for strict in (False, True):
        with pytest.raises(ValidationError):
            validate_server_message(message, strict=strict)


# ---------------------------------------------------------------------------- PROTOCOL.md examples


def test_spec_has_examples() -> None:
    """PROTOCOL.md has JSON examples to check (the parser below found them)."""
    kinds = [info for info, _, _ in spec_examples()]
    assert kinds.count("json") >= 40


@pytest.mark.parametrize(("info", "body", "line"), [pytest.param(*e, id=f"line-{e[2]}") for e in spec_examples()])
def test_spec_example_is_valid(info: str, body: str, line: int) -> None:
    """Each ```json block of PROTOCOL.md is a request or gateway message valid per the schemas (```json fragment: any
    JSON; ```json invalid: must be refused)."""
    value = json.loads(body)
    if info == "json fragment":
        return
    assert info in ("json", "json invalid"), f"line {line}: unknown info string {info!r}"
    if info == "json invalid":
        with pytest.raises((ProtocolError, ValidationError)):
            _check_example(value, line)
        return
    _check_example(value, line)


def _check_example(value: Any, line: int) -> None:
    assert isinstance(value, dict), f"line {line}: not an object; mark it ```json fragment"
    if "seq" in value:
        validate_server_message(value)
        return
    assert "type" in value and "id" in value, f"line {line}: neither a request nor a gateway message"
    assert value["type"] in request_types(), f"line {line}: no request type {value['type']!r}"
    validator(f"requests/{value['type']}.json").validate(value)
    validate_request(messages.decode_request(json.dumps(value)))
