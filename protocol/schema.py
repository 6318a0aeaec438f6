"""Validation against the JSON Schemas in ``schema/``.

The schemas are the one source of truth for message shapes: one file per request
(``schema/requests/<type>.json``), one per event's data (``schema/events/<name>.json``),
the server envelopes (``schema/server.json``) and shared definitions
(``schema/common.json``). Adding a request or event means adding its file.

The gateway validates every request, fills in the defaults the schema declares
(PROTOCOL.md, "Defaults": ``default`` values, ``x-default`` rules, and absent
objects that declare a default inside), and maps the first violation to a typed
error: format fields (sample rate, channels, frame duration, color format) get
``unsupported_format``, anything else ``invalid_params`` with ``details.field``
naming the field.

Gateway messages are checked only in tests, against the schemas with their
``x-strict`` keywords applied (:func:`validate_server_message`): stricter than
what the published schemas promise clients, so a misspelled field still fails.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from .constants import DEFAULT_LIMITS
from .errors import InvalidParams, UnknownType, UnsupportedFormat
from .messages import Request

BASE_URI = "https://daily-ws-gateway.dev/schema/v1/"
_FORMAT_FIELDS = {"sample_rate", "channels", "frame_ms", "color_format"}


def _schema_dir():  # type: ignore[no-untyped-def]
    return resources.files(__package__).joinpath("schema")


@functools.cache
def _load_all() -> dict[str, dict[str, Any]]:
    """Every schema file by its path relative to ``schema/`` (``requests/join.json``...)."""
    out: dict[str, dict[str, Any]] = {}
    root = _schema_dir()
    for entry in root.iterdir():
        if entry.is_dir():
            for file in entry.iterdir():
                if file.name.endswith(".json"):
                    out[f"{entry.name}/{file.name}"] = json.loads(file.read_text("utf-8"))
        elif entry.name.endswith(".json"):
            out[entry.name] = json.loads(entry.read_text("utf-8"))
    return out


def _strict(node: Any) -> Any:
    """A copy of a schema with every ``x-strict`` overlay merged into the object that carries it.

    The published schemas leave envelopes and error objects open, as PROTOCOL.md 1.2 promises
    clients; ``x-strict`` holds the keywords that close them (no undeclared field, no undefined
    error code), for checking the gateway's own output.
    """
    if isinstance(node, dict):
        out = {key: _strict(value) for key, value in node.items() if key != "x-strict"}
        overlay = node.get("x-strict")
        if isinstance(overlay, dict):
            out.update(_strict(overlay))
        return out
    if isinstance(node, list):
        return [_strict(value) for value in node]
    return node


@functools.cache
def _registry(strict: bool = False) -> Registry:
    return Registry().with_resources(
        (BASE_URI + path, Resource.from_contents(_strict(schema) if strict else schema))
        for path, schema in _load_all().items()
    )


def load_schema(path: str) -> dict[str, Any]:
    """A schema by path: ``common.json``, ``server.json``, ``requests/join.json``, ``events/joined.json``."""
    return _load_all()[path]


def request_types() -> list[str]:
    """Every request type this protocol version defines, sorted."""
    return sorted(p[len("requests/"):-5] for p in _load_all() if p.startswith("requests/"))


def event_names() -> list[str]:
    """Every event this protocol version defines, sorted."""
    return sorted(p[len("events/"):-5] for p in _load_all() if p.startswith("events/"))


@functools.cache
def validator(path: str, strict: bool = False) -> Draft202012Validator:
    """A validator for one schema file, resolving references across files (``strict``: with ``x-strict`` applied)."""
    return Draft202012Validator({"$ref": BASE_URI + path}, registry=_registry(strict))


def _resolve(node: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
    """Follow ``$ref`` (relative to ``base``) until a concrete schema."""
    while "$ref" in node:
        ref = node["$ref"]
        file_part, _, pointer = ref.partition("#")
        target = _join(base, file_part) if file_part else base
        doc = load_schema(target)
        for part in [p for p in pointer.split("/") if p]:
            doc = doc[part]
        node, base = doc, target
    return node, base


def _join(base: str, relative: str) -> str:
    parts = base.split("/")[:-1]
    for piece in relative.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _fill_defaults(node: dict[str, Any], value: dict[str, Any], base: str, limits: Mapping[str, int]) -> None:
    """Complete ``value`` in place by the one rule of PROTOCOL.md, "Defaults".

    An absent field gets its ``default``; an absent field with an ``x-default`` rule gets the
    rule's value (after every other field of the same object, in declaration order, so a rule
    may read a sibling); an absent object is created only if its schema declares a default
    somewhere inside, and is then filled the same way. Objects given are filled inside too.
    """
    derived: list[tuple[str, Any]] = []
    for key, prop in node.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        target, target_base = _resolve(prop, base)
        if key in value:
            child = value[key]
            if isinstance(child, dict) and target.get("type") == "object":
                _fill_defaults(target, child, target_base, limits)
        elif "default" in prop or "default" in target:
            value[key] = copy.deepcopy(prop["default"] if "default" in prop else target["default"])
        elif "x-default" in prop or "x-default" in target:
            derived.append((key, prop.get("x-default", target.get("x-default"))))
        elif target.get("type") == "object" and _declares_defaults(target, target_base):
            child = value[key] = {}
            _fill_defaults(target, child, target_base, limits)
    for key, rule in derived:
        value[key] = _derived_default(rule, value, limits)


def _declares_defaults(node: dict[str, Any], base: str) -> bool:
    """Whether an object schema declares a default (``default`` or ``x-default``) for any field, at any depth."""
    found = _DECLARES.get(id(node))
    if found is None:
        found = False
        for prop in node.get("properties", {}).values():
            if not isinstance(prop, dict):
                continue
            target, target_base = _resolve(prop, base)
            if any(k in prop or k in target for k in ("default", "x-default")) or (
                target.get("type") == "object" and _declares_defaults(target, target_base)
            ):
                found = True
                break
        _DECLARES[id(node)] = found
    return found


_DECLARES: dict[int, bool] = {}
"""``_declares_defaults`` by schema node (the schemas are loaded once and never change)."""


def _derived_default(rule: Any, siblings: dict[str, Any], limits: Mapping[str, int]) -> int:
    """Evaluate an ``x-default`` rule: an integer, ``{"limit": <hello.limits key>}``,
    ``{"field": <sibling>, "divide_by": n}`` (rounded down) or ``{"min": [rules]}``."""
    if isinstance(rule, int):
        return rule
    if "limit" in rule:
        return int(limits[rule["limit"]])
    if "field" in rule:
        return int(siblings[rule["field"]]) // int(rule.get("divide_by", 1))
    if "min" in rule:
        return min(_derived_default(r, siblings, limits) for r in rule["min"])
    raise ValueError(f"unknown x-default rule {rule!r}")


def validate_request(request: Request, *, limits: Mapping[str, int] = DEFAULT_LIMITS) -> dict[str, Any]:
    """Check ``request`` against its schema and return its params with defaults filled in.

    ``limits`` are the gateway's (``hello.limits``): defaults derived from them
    (``audio_out.max_buffer_ms``) use these values.

    Raises:
        UnknownType: no such request in this version.
        UnsupportedFormat: a format field is out of range.
        InvalidParams: any other violation; ``details.field`` names the offending field.
    """
    path = f"requests/{request.type}.json"
    if path not in _load_all():
        raise UnknownType(f"unknown request type {request.type!r}", request_id=request.id)
    instance = {"type": request.type, "id": request.id, **request.params}
    error = _first_error(validator(path), instance)
    if error is not None:
        raise _to_protocol_error(request, error)
    params = copy.deepcopy(request.params)
    _fill_defaults(load_schema(path), params, path, limits)
    return params


def validate_server_message(message: dict[str, Any], *, strict: bool = True) -> None:
    """Raise ``ValidationError`` if a gateway text frame breaks the schema (envelope and event data).

    ``strict`` (the default, for the gateway's tests) also applies the ``x-strict`` keywords: a
    field the schema does not declare (a misspelling) or an error code this version does not
    define is an error. ``strict=False`` checks what a client may rely on: the published schema,
    which lets both through (PROTOCOL.md 1.2).
    """
    validator("server.json", strict).validate(message)
    if message.get("type") == "event":
        path = f"events/{message['event']}.json"
        if path not in _load_all():
            raise ValidationError(f"event {message['event']!r} has no schema ({path})")
        validator(path, strict).validate(message["data"])


def _first_error(v: Draft202012Validator, instance: dict[str, Any]) -> ValidationError | None:
    errors = sorted(v.iter_errors(instance), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    return errors[0] if errors else None


def _to_protocol_error(request: Request, error: ValidationError) -> InvalidParams | UnsupportedFormat:
    path = [str(p) for p in error.absolute_path]
    fieldname = ".".join(path)
    where = f"{fieldname}." if fieldname else ""
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = f"{where}{extra[0]}" if extra else fieldname
        return InvalidParams(f"{request.type}: unknown field {name}", details={"field": name}, request_id=request.id)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        name = f"{where}{missing}"
        return InvalidParams(
            f"{request.type}: missing required field {name}", details={"field": name}, request_id=request.id
        )
    if error.validator == "dependentRequired":
        # {"api_url": ["api_key"]}: name the missing field, not the object that holds it.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        name = f"{where}{missing}"
        return InvalidParams(f"{request.type}: {error.message}", details={"field": name}, request_id=request.id)
    alternatives = error.validator_value if error.validator in ("oneOf", "anyOf") else None
    if isinstance(alternatives, list) and all(isinstance(a, dict) and set(a) == {"required"} for a in alternatives):
        # {"oneOf": [{"required": ["room_url"]}, {"required": ["session_id"]}]}: say which fields, not the schemas.
        names = [name for a in alternatives for name in a["required"]]
        given = [name for name in names if isinstance(error.instance, dict) and name in error.instance]
        which = "exactly one" if error.validator == "oneOf" else "at least one"
        name = f"{where}{given[-1] if given else names[0]}"
        return InvalidParams(f"{request.type}: {fieldname or 'request'} takes {which} of {', '.join(names)}",
                             details={"field": name}, request_id=request.id)
    message = f"{request.type}: {fieldname or 'request'}: {error.message}"
    if path and path[-1] in _FORMAT_FIELDS and error.validator in ("minimum", "maximum", "enum"):
        return UnsupportedFormat(message, details={"field": fieldname}, request_id=request.id)
    return InvalidParams(message, details={"field": fieldname}, request_id=request.id)
