"""JSON nesting limit where requests are read (PROTOCOL.md 15.2): every free-form field, at the limit and above."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from protocol import messages
from protocol.errors import InvalidParams, ProtocolError
from protocol.schema import load_schema, request_types, validate_request

DEPTH = 64
"""The documented limit (``protocol.constants.MAX_JSON_DEPTH``), written out so the test pins the number."""


def nested(levels: int) -> Any:
    """A value whose arrays and objects nest ``levels`` deep (alternating, as an attacker would mix them)."""
    value: Any = "leaf"
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def set_path(request: dict[str, Any], path: list[str], value: Any) -> int:
    """Put ``value`` at ``path`` in ``request`` (creating objects); returns the level ``value`` starts at (request = 1)."""
    target = request
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return len(path) + 1


def free_form_fields() -> list[tuple[str, list[str]]]:
    """(request type, path) of every request field whose schema accepts any JSON value or any object."""
    found: list[tuple[str, list[str]]] = []
    common = load_schema("common.json")["$defs"]

    def walk(schema: dict[str, Any], path: list[str], rtype: str) -> None:
        ref = schema.get("$ref", "")
        if ref.startswith("../common.json#/$defs/"):
            schema = common[ref.rsplit("/", 1)[1]]
        kind = schema.get("type")
        if kind is None and not any(k in schema for k in ("enum", "const", "$ref", "oneOf", "anyOf", "allOf")):
            found.append((rtype, path))
            return
        kinds = kind if isinstance(kind, list) else [kind]
        if "object" in kinds:
            if schema.get("additionalProperties", True) is not False:
                found.append((rtype, path))
                return
            for key, sub in schema.get("properties", {}).items():
                walk(sub, [*path, key], rtype)
        for key in ("oneOf", "anyOf"):
            for sub in schema.get(key, []):
                if sub.get("type") == "object" or "type" not in sub:
                    walk(sub, path, rtype)

    for rtype in request_types():
        schema = load_schema(f"requests/{rtype}.json")
        for key, sub in schema.get("properties", {}).items():
            if key not in ("type", "id"):
                walk(sub, [key], rtype)
    return sorted({(t, tuple(p)) for t, p in found}, key=str)  # type: ignore[arg-type,return-value]


FREE_FORM = free_form_fields()


def test_the_free_form_fields_are_found():
    """The schema walk finds the fields the hostile review poisoned (user_data, app messages, settings, layouts)."""
    paths = {(t, ".".join(p)) for t, p in FREE_FORM}
    for expected in [("join", "user_data"), ("send-app-message", "message"), ("start-recording", "streaming_settings"),
                     ("start-transcription", "settings"), ("update-recording", "update_settings"),
                     ("join", "transcription.settings")]:
        assert expected in paths


@pytest.mark.parametrize(("rtype", "path"), FREE_FORM, ids=[f"{t}:{'.'.join(p)}" for t, p in FREE_FORM])
def test_every_free_form_field_is_accepted_at_the_limit_and_refused_above(rtype: str, path: tuple[str, ...]):
    """A value nesting to exactly the limit decodes and re-encodes in an event; one level more is invalid_params naming the field."""
    base = {"type": rtype, "id": "r1"}
    for accepted in (True, False):
        request = dict(base)
        start = set_path(request, list(path), None)
        levels = DEPTH - start + 1 + (0 if accepted else 1)
        set_path(request, list(path), nested(levels))
        text = orjson.dumps(request)
        assert _depth(json.loads(text)) == DEPTH + (0 if accepted else 1)
        if accepted:
            decoded = messages.decode_request(text)
            # What the gateway accepts it can encode again, wrapped in an event and a reply.
            messages.encode_event(7, "app-message", {"data": {"participant": decoded.params}})
            messages.encode_result(7, "r1", {"rooms": [{"participants": [{"info": decoded.params}]}]})
            continue
        with pytest.raises(InvalidParams) as refused:
            messages.decode_request(text)
        assert refused.value.details == {"field": path[0], "max_depth": DEPTH}
        assert refused.value.request_id == "r1"  # answered as a reply to the request


def test_depth_error_without_a_valid_id_is_still_typed():
    """A too-deep frame whose id is unusable is an invalid_params error message (no id), never a crash."""
    with pytest.raises(InvalidParams) as refused:
        messages.decode_request(json.dumps({"type": "ping", "id": nested(300)}))
    assert refused.value.request_id is None and refused.value.details["field"] == "id"


def test_the_issues_payload_is_refused_before_validation():
    """The hostile review's join (user_data ~300 deep, past the encoder's 254) is refused with invalid_params, not internal."""
    text = json.dumps({"type": "join", "id": "j", "room_url": "local://x", "user_data": nested(300)})  # orjson would refuse
    with pytest.raises(ProtocolError) as refused:
        validate_request(messages.decode_request(text))
    assert refused.value.code == "invalid_params" and refused.value.details["field"] == "user_data"


def test_deep_text_without_enough_brackets_costs_no_walk():
    """A request with fewer brackets than the limit is accepted without walking it (the cheap pre-check)."""
    wide = {"type": "send-app-message", "id": "a", "message": {f"k{i}": [i] for i in range(20)}}
    assert messages.decode_request(orjson.dumps(wide)).params["message"]["k3"] == [3]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0
