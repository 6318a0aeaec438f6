"""The Python codec against the language-neutral vectors in protocol/vectors/ (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import protocol
from protocol import media, messages
from protocol.constants import ColorFormat
from protocol.errors import ProtocolError
from protocol.schema import validate_request, validate_server_message

VECTORS = Path(protocol.__file__).resolve().parent / "vectors"
JSON_VECTORS = json.loads((VECTORS / "json.json").read_text("utf-8"))
BINARY_VECTORS = json.loads((VECTORS / "binary.json").read_text("utf-8"))
HELLO_LIMITS = next(v for v in JSON_VECTORS["server_messages"] if v["name"] == "hello")["expect"]["limits"]
"""Request vectors are validated with the limits of the hello vector (derived defaults read them)."""


def _params(vectors: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(v, id=v["name"]) for v in vectors]


def test_vector_names_are_unique_and_each_expects_one_outcome():
    """Every vector list has unique names and every vector has exactly one of expect / error."""
    for vectors in (
        JSON_VECTORS["requests"],
        JSON_VECTORS["server_messages"],
        BINARY_VECTORS["decode"],
        BINARY_VECTORS["encode"],
    ):
        names = [v["name"] for v in vectors]
        assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    for vector in JSON_VECTORS["requests"] + JSON_VECTORS["server_messages"] + BINARY_VECTORS["decode"]:
        assert ("expect" in vector) != ("error" in vector), vector["name"]


# ---------------------------------------------------------------------------- requests


@pytest.mark.parametrize("vector", _params(JSON_VECTORS["requests"]))
def test_request_vector(vector: dict[str, Any]) -> None:
    """decode_request then validate_request give the vector's type, id and params, or its error."""
    error = vector.get("error")
    try:
        request = messages.decode_request(vector["text"], max_bytes=vector.get("max_bytes"))
    except ProtocolError as exc:
        assert error is not None and error["layer"] == "envelope", f"unexpected {exc!r}"
        _assert_error(exc, error)
        return
    assert error is None or error["layer"] == "schema", f"decoded {request} but expected an envelope error"
    if error is not None:
        assert request.id == error["request_id"]
        with pytest.raises(ProtocolError) as caught:
            validate_request(request, limits=HELLO_LIMITS)
        _assert_error(caught.value, error)
        return
    expect = vector["expect"]
    assert (request.type, request.id) == (expect["type"], expect["id"])
    assert request.params == {k: v for k, v in json.loads(vector["text"]).items() if k not in ("type", "id")}
    assert validate_request(request, limits=HELLO_LIMITS) == expect["params"]


def _assert_error(exc: ProtocolError, error: dict[str, Any]) -> None:
    assert exc.code.value == error["code"], exc
    assert exc.request_id == error["request_id"]
    if "field" in error:
        assert exc.details.get("field") == error["field"], exc


# ---------------------------------------------------------------------------- server messages

_KIND = {messages.Hello: "hello", messages.Reply: "reply", messages.Event: "event", messages.ErrorMessage: "error"}


@pytest.mark.parametrize("vector", _params(JSON_VECTORS["server_messages"]))
def test_server_message_vector(vector: dict[str, Any]) -> None:
    """decode_server_message gives the vector's kind and fields, or its error; schema_valid holds."""
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            messages.decode_server_message(vector["text"])
        assert caught.value.code.value == vector["error"]["code"]
        return
    decoded = messages.decode_server_message(vector["text"])
    expect = dict(vector["expect"])
    assert _KIND[type(decoded)] == expect.pop("kind")
    for key, value in expect.items():
        assert getattr(decoded, key) == value, key
    # schema_valid is about the published schema (what clients rely on), not the gateway's x-strict variant.
    if vector["schema_valid"]:
        validate_server_message(json.loads(vector["text"]), strict=False)
    else:
        with pytest.raises(jsonschema.ValidationError):
            validate_server_message(json.loads(vector["text"]), strict=False)


# ---------------------------------------------------------------------------- binary frames


def _fields(frame: media.AudioFrame | media.VideoFrame) -> dict[str, Any]:
    common = {
        "track": frame.track,
        "seq": frame.seq,
        "timestamp_us": frame.timestamp_us,
        "flags": frame.flags,
        "payload": bytes(frame.payload).hex(),
    }
    if isinstance(frame, media.AudioFrame):
        return {"kind": "audio", **common, "sample_rate": frame.sample_rate, "channels": frame.channels}
    return {
        "kind": "video",
        **common,
        "width": frame.width,
        "height": frame.height,
        "color_format": int(frame.color_format),
    }


@pytest.mark.parametrize("vector", _params(BINARY_VECTORS["decode"]))
def test_binary_decode_vector(vector: dict[str, Any]) -> None:
    """decode_frame gives the vector's fields and payload, or its error code and details (track and seq)."""
    data = bytes.fromhex(vector["hex"])
    if "error" in vector:
        with pytest.raises(ProtocolError) as caught:
            media.decode_frame(data)
        assert caught.value.code.value == vector["error"]["code"], caught.value
        assert caught.value.details == vector["error"]["details"], caught.value
        return
    assert _fields(media.decode_frame(data)) == vector["expect"]


@pytest.mark.parametrize("vector", _params(BINARY_VECTORS["encode"]))
def test_binary_encode_vector(vector: dict[str, Any]) -> None:
    """encode_audio / encode_video write exactly the vector's bytes."""
    f = vector["fields"]
    payload = bytes.fromhex(f["payload"])
    if f["kind"] == "audio":
        data = media.encode_audio(
            f["track"], f["seq"], f["timestamp_us"], f["sample_rate"], f["channels"], payload, f["flags"]
        )
    else:
        data = media.encode_video(
            f["track"],
            f["seq"],
            f["timestamp_us"],
            f["width"],
            f["height"],
            ColorFormat(f["color_format"]),
            payload,
            f["flags"],
        )
    assert data.hex() == vector["hex"]
