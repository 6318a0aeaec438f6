"""Validation of client requests against ``schema/client.schema.json``.

The JSON Schema is the one source of truth for message shapes: the gateway validates
every request against it, fills in the defaults it declares, and maps the first
violation to a typed error. Format fields (sample rate, channels, frame duration)
get ``unsupported_format``; anything else ``invalid_params``.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .errors import InvalidParams, UnknownType, UnsupportedFormat
from .messages import Request

_FORMAT_FIELDS = {"sample_rate", "channels", "frame_ms", "color_format"}


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Load ``client`` or ``server`` schema from the package data."""
    text = resources.files(__package__).joinpath("schema", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def request_types() -> list[str]:
    """Every request type this protocol version defines, in schema order."""
    schema = load_schema("client")
    return [ref["$ref"].rsplit("/", 1)[1] for ref in schema["oneOf"]]


@functools.cache
def _validator(kind: str, name: str) -> Draft202012Validator:
    schema = load_schema(kind)
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def _fill_defaults(node: dict[str, Any], value: dict[str, Any], defs: dict[str, Any]) -> None:
    for key, prop in node.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        if "default" in prop and key not in value:
            value[key] = copy.deepcopy(prop["default"])
            continue
        target = _resolve(prop, defs)
        if target.get("type") == "object" and "properties" in target:
            child = value.setdefault(key, {})
            if isinstance(child, dict):
                _fill_defaults(target, child, defs)


def validate_request(request: Request) -> dict[str, Any]:
    """Check ``request`` against its schema and return its params with defaults filled in.

    Raises:
        UnknownType: no such request in this version.
        UnsupportedFormat: a format field is out of range.
        InvalidParams: any other violation; ``details.field`` names the offending field.
    """
    schema = load_schema("client")
    if request.type not in schema["$defs"] or request.type not in request_types():
        raise UnknownType(f"unknown request type {request.type!r}", request_id=request.id)
    instance = {"type": request.type, "id": request.id, **request.params}
    error = _first_error(_validator("client", request.type), instance)
    if error is not None:
        raise _to_protocol_error(request, error)
    params = copy.deepcopy(request.params)
    _fill_defaults(schema["$defs"][request.type], params, schema["$defs"])
    return params


def validate_server_message(message: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if a gateway message breaks the schema (tests use this)."""
    _validator("server", "hello")  # warm the cache; the full schema is checked below
    Draft202012Validator(load_schema("server")).validate(message)


def _first_error(validator: Draft202012Validator, instance: dict[str, Any]) -> ValidationError | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), e.path))
    return errors[0] if errors else None


def _to_protocol_error(request: Request, error: ValidationError) -> InvalidParams | UnsupportedFormat:
    path = [str(p) for p in error.absolute_path]
    fieldname = ".".join(path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = f"{fieldname}." if fieldname else ""
        return InvalidParams(
            f"{request.type}: unknown field {where}{extra[0]}" if extra else f"{request.type}: {error.message}",
            details={"field": f"{where}{extra[0]}" if extra else fieldname},
            request_id=request.id,
        )
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        full = f"{fieldname}.{missing}" if fieldname else missing
        return InvalidParams(
            f"{request.type}: missing required field {full}", details={"field": full}, request_id=request.id
        )
    message = f"{request.type}: {fieldname or 'request'}: {error.message}"
    if path and path[-1] in _FORMAT_FIELDS and error.validator in ("minimum", "maximum", "enum"):
        return UnsupportedFormat(message, details={"field": fieldname}, request_id=request.id)
    return InvalidParams(message, details={"field": fieldname}, request_id=request.id)
