"""The Python codec beyond the vectors: round trips, zero-copy payloads, error objects, every server message kind."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import orjson
import pytest
from jsonschema import ValidationError

from protocol import media, messages
from protocol.constants import CHANNELS, ColorFormat
from protocol.errors import (
    BadFrame,
    CommandError,
    DecodeError,
    ErrorCode,
    InvalidParams,
    MalformedJSON,
    NotAnObject,
    ProtocolError,
    TooLarge,
    UnknownType,
    UnsupportedFormat,
)
from protocol.schema import validate_server_message

# ---------------------------------------------------------------------------- binary frames


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 24000, 44100, 48000])
@pytest.mark.parametrize("channels", CHANNELS)
def test_audio_round_trip(rate: int, channels: int) -> None:
    """encode_audio then decode_frame gives back every field and the payload, for each rate and channel count."""
    samples = np.arange(-(rate // 100) * channels, (rate // 100) * channels, dtype="<i2")
    payload = samples.tobytes()
    data = media.encode_audio(17, 123456, 1_700_000_000_123_456, rate, channels, payload, 0)
    assert len(data) == media.HEADER_SIZE + len(payload)
    frame = media.decode_frame(data)
    assert isinstance(frame, media.AudioFrame)
    assert (frame.track, frame.seq, frame.timestamp_us, frame.sample_rate, frame.channels, frame.flags) == (
        17,
        123456,
        1_700_000_000_123_456,
        rate,
        channels,
        0,
    )
    assert bytes(frame.payload) == payload
    assert frame.samples_per_channel == len(samples) // channels
    assert frame.duration_ms == pytest.approx(1000 * len(samples) / channels / rate)
    assert bytes(frame) == data


@pytest.mark.parametrize(
    ("sent", "received"), [(0, 0), (2**32 - 1, 2**32 - 1), (2**32, 0), (2**32 + 7, 7), (3 * 2**32 + 1, 1)]
)
def test_seq_wraps_at_2_32(sent: int, received: int) -> None:
    """Sequence numbers are written modulo 2**32, for audio and video alike."""
    assert media.decode_frame(media.encode_audio(1, sent, 0, 16000, 1, b"\0\0")).seq == received
    assert media.decode_frame(media.encode_video(2, sent, 0, 1, 1, ColorFormat.RGB, b"\0\0\0")).seq == received


def test_timestamp_uses_all_64_bits() -> None:
    """timestamp_us is an unsigned 64-bit field: the largest value survives a round trip."""
    frame = media.decode_frame(media.encode_audio(1, 1, 2**64 - 1, 16000, 1, b""))
    assert frame.timestamp_us == 2**64 - 1


@pytest.mark.parametrize("color", list(ColorFormat))
def test_video_round_trip_every_color_format(color: ColorFormat) -> None:
    """encode_video then decode_frame gives back every field, for each color format at its exact payload size."""
    width, height = 6, 4
    size = media.video_frame_size(width, height, color)
    payload = bytes(i % 251 for i in range(size))
    data = media.encode_video(3, 9, 42, width, height, color, payload, 0)
    frame = media.decode_frame(data)
    assert isinstance(frame, media.VideoFrame)
    assert (frame.track, frame.seq, frame.timestamp_us, frame.width, frame.height, frame.color_format) == (
        3,
        9,
        42,
        width,
        height,
        color,
    )
    assert frame.color_format is color
    assert bytes(frame.payload) == payload
    assert bytes(frame) == data


@pytest.mark.parametrize(
    ("color", "size"),
    [
        (ColorFormat.RGB, 72),
        (ColorFormat.BGR, 72),
        (ColorFormat.RGBA, 96),
        (ColorFormat.BGRA, 96),
        (ColorFormat.ARGB, 96),
        (ColorFormat.ABGR, 96),
        (ColorFormat.I420, 36),
    ],
)
def test_video_frame_size(color: ColorFormat, size: int) -> None:
    """Payload sizes of a 6x4 frame: 3 bytes per pixel (RGB, BGR), 4 (alpha formats), 1.5 (I420)."""
    assert media.video_frame_size(6, 4, color) == size


def test_header_layout() -> None:
    """The header is 28 bytes, little-endian, fields at the offsets PROTOCOL.md section 7.1 gives."""
    data = media.encode_audio(0x0102, 0x03040506, 0x0708090A0B0C0D0E, 0x0F101112, 2, b"\xaa\xbb\xcc\xdd", 0x1314)
    assert media.HEADER_SIZE == 28
    assert struct.unpack_from("<BBHIQIIBBH", data) == (
        1,
        1,
        0x0102,
        0x03040506,
        0x0708090A0B0C0D0E,
        4,
        0x0F101112,
        2,
        1,
        0x1314,
    )
    video = media.encode_video(5, 6, 7, 0x0201, 0x0403, ColorFormat.I420, bytes(0x0201 * 0x0403 * 3 // 2))
    assert video[20:26] == bytes([0x01, 0x02, 0x03, 0x04, 7, 0])


def test_decoded_payload_is_a_zero_copy_view() -> None:
    """decode_frame's payload is a memoryview into the received buffer, not a copy."""
    buffer = bytearray(media.encode_audio(1, 1, 0, 16000, 1, b"\x01\x00\x02\x00"))
    frame = media.decode_frame(buffer)
    assert isinstance(frame.payload, memoryview)
    buffer[media.HEADER_SIZE] = 0x7F
    assert bytes(frame.payload) == b"\x7f\x00\x02\x00"
    payload = media.decode_frame(memoryview(buffer)).payload
    assert isinstance(payload, memoryview) and payload.obj is buffer


def test_encoders_take_memoryview_payloads() -> None:
    """encode_audio and encode_video accept a memoryview (e.g. a slice of a larger buffer) without copying it first."""
    pcm = memoryview(bytes(range(10)))[2:8]
    assert media.encode_audio(1, 1, 0, 16000, 1, pcm)[media.HEADER_SIZE :] == bytes(range(2, 8))
    pixels = memoryview(bytearray(range(20)))[1:13]
    assert media.encode_video(2, 1, 0, 2, 2, ColorFormat.RGB, pixels)[media.HEADER_SIZE :] == bytes(range(1, 13))


def test_frame_errors_carry_track_and_seq() -> None:
    """Errors about a frame whose header was read name its track and seq in details."""
    with pytest.raises(UnsupportedFormat) as caught:
        media.decode_frame(media.encode_audio(9, 77, 0, 7000, 1, b"\0\0"))
    assert caught.value.details == {"track": 9, "seq": 77}
    with pytest.raises(BadFrame) as caught_payload:
        media.decode_frame(media.encode_video(3, 5, 0, 2, 2, ColorFormat.RGB, bytes(11)))
    assert caught_payload.value.code is ErrorCode.BAD_PAYLOAD
    assert caught_payload.value.details == {"track": 3, "seq": 5}


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("error", "code", "base"),
    [
        (MalformedJSON("m"), ErrorCode.BAD_JSON, DecodeError),
        (NotAnObject("m"), ErrorCode.BAD_MESSAGE, DecodeError),
        (BadFrame("m"), ErrorCode.BAD_FRAME, DecodeError),
        (BadFrame("m", code=ErrorCode.UNKNOWN_KIND), ErrorCode.UNKNOWN_KIND, DecodeError),
        (UnknownType("m"), ErrorCode.UNKNOWN_TYPE, ProtocolError),
        (InvalidParams("m"), ErrorCode.INVALID_PARAMS, ProtocolError),
        (UnsupportedFormat("m"), ErrorCode.UNSUPPORTED_FORMAT, ProtocolError),
        (TooLarge("m"), ErrorCode.TOO_LARGE, ProtocolError),
        (CommandError(ErrorCode.NOT_FOUND, "m"), ErrorCode.NOT_FOUND, ProtocolError),
        (ProtocolError("m"), ErrorCode.INTERNAL, ProtocolError),
    ],
)
def test_error_classes_have_their_codes(error: ProtocolError, code: ErrorCode, base: type) -> None:
    """Each ProtocolError subclass carries its documented code and sits where the exception tree says."""
    assert error.code is code
    assert isinstance(error, base)


@pytest.mark.parametrize(
    ("error", "wire"),
    [
        (InvalidParams("bad"), {"code": "invalid_params", "message": "bad"}),
        (
            InvalidParams("bad", details={"field": "id"}),
            {"code": "invalid_params", "message": "bad", "details": {"field": "id"}},
        ),
        (CommandError(ErrorCode.INTERNAL, "boom", fatal=True), {"code": "internal", "message": "boom", "fatal": True}),
        (
            CommandError(ErrorCode.BUFFER_FULL, "full", details={"buffered_ms": 1.5}, fatal=True, request_id="r"),
            {"code": "buffer_full", "message": "full", "details": {"buffered_ms": 1.5}, "fatal": True},
        ),
        (TooLarge("big", fatal=False, details={}), {"code": "too_large", "message": "big"}),
    ],
)
def test_to_dict_shapes(error: ProtocolError, wire: dict) -> None:
    """to_dict is {code, message}, plus details only when non-empty and fatal only when true; never the request id."""
    assert error.to_dict() == wire
    _error_object().validate(wire)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_makes_a_valid_error_object(code: ErrorCode) -> None:
    """Every ErrorCode, raised through CommandError, serializes to an error object the schema accepts."""
    wire = CommandError(code, "text", details={"k": 1}).to_dict()
    assert wire["code"] == code.value
    _error_object().validate(wire)


def _error_object():  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator

    from protocol.schema import BASE_URI, _registry

    return Draft202012Validator({"$ref": BASE_URI + "common.json#/$defs/error_object"}, registry=_registry(strict=True))


# ---------------------------------------------------------------------------- text frames


def test_request_round_trip() -> None:
    """encode_request then decode_request gives the type, id and params back; id and type are not params."""
    data = messages.encode_request("send-app-message", "r1", {"message": {"a": [1, 2]}, "urgent": True})
    request = messages.decode_request(data)
    assert (request.type, request.id, request.params) == (
        "send-app-message",
        "r1",
        {"message": {"a": [1, 2]}, "urgent": True},
    )
    assert messages.decode_request(messages.encode_request("ping", "2")).params == {}


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type":"ping","id":"1"}',
        bytearray(b'{"type":"ping","id":"1"}'),
        memoryview(b'{"type":"ping","id":"1"}'),
        '{"type":"ping","id":"1"}',
    ],
)
def test_decode_request_takes_str_and_bytes(frame: object) -> None:
    """A request decodes from str (what WebSocket libraries give for text) and from bytes-like objects."""
    assert messages.decode_request(frame, max_bytes=24) == messages.Request("ping", "1", {})  # type: ignore[arg-type]


def test_max_bytes_counts_utf8_bytes_of_str() -> None:
    """max_bytes limits the UTF-8 size of a str frame, not its number of characters."""
    frame = '{"type":"ping","id":"' + "€" * 10 + '"}'  # 33 characters, 53 bytes
    with pytest.raises(TooLarge):
        messages.decode_request(frame, max_bytes=52)
    assert messages.decode_request(frame, max_bytes=53).id == "€" * 10


def _roundtrip(data: bytes, *, strict: bool = True) -> messages.ServerMessage:
    validate_server_message(json.loads(data), strict=strict)
    return messages.decode_server_message(data)


def test_hello_round_trip() -> None:
    """encode_hello writes a schema-valid hello that decodes to the same fields, unknown fields kept aside in extra."""
    fields: dict[str, Any] = {
        "protocol": "daily-gateway.v1",
        "version": 1,
        "session_id": "s-1",
        "resume_token": "s-1.secret",
        "server": {"name": "daily-ws-gateway", "version": "0"},
        "limits": {
            "max_message_bytes": 1,
            "max_frame_bytes": 2,
            "max_app_message_bytes": 3,
            "max_consecutive_errors": 4,
            "max_requests_per_second": 5,
            "max_playout_buffer_ms": 6,
            "idle_timeout_ms": 7,
            "ping_interval_ms": 8,
            "max_sessions_per_key": 9,
            "max_rooms": 10,
            "resume_grace_ms": 11,
            "replay_buffer_events": 12,
            "replay_buffer_bytes": 13,
            "max_pending_events": 14,
        },
        "capabilities": {"backends": ["local"], "requests": ["ping"], "events": ["left"], "audio": {}},
    }
    assert _roundtrip(messages.encode_hello(1, **fields)) == messages.Hello(1, **fields)
    hello = _roundtrip(messages.encode_hello(1, **fields, resume="r"), strict=False)
    assert isinstance(hello, messages.Hello)
    assert hello.seq == 1 and hello.extra == {"resume": "r"}
    assert {k: getattr(hello, k) for k in fields} == fields
    with pytest.raises(ValidationError):
        validate_server_message(json.loads(messages.encode_hello(1, **fields, resume="r")))


def test_result_round_trip() -> None:
    """encode_result writes an ok reply (empty result by default) that decodes to the same id and result."""
    reply = _roundtrip(messages.encode_result(2, "r1", {"time_ms": 5}))
    assert reply == messages.Reply(2, "r1", True, {"time_ms": 5}, None)
    assert _roundtrip(messages.encode_result(3, "r2")) == messages.Reply(3, "r2", True, {}, None)


def test_failure_round_trip() -> None:
    """encode_failure writes an error reply carrying the error object; a reply without a known id has id null."""
    error = InvalidParams("join: missing required field room_url", details={"field": "room_url"})
    reply = _roundtrip(messages.encode_failure(4, "j", error))
    assert reply == messages.Reply(4, "j", False, None, error.to_dict())
    anonymous = _roundtrip(messages.encode_failure(5, None, error))
    assert isinstance(anonymous, messages.Reply) and anonymous.id is None


def test_event_round_trip() -> None:
    """encode_event writes an event (empty data by default) that decodes to the same name and data."""
    data = {"participant_id": "p", "track": 16, "offset_ms": 200}
    assert _roundtrip(messages.encode_event(6, "speech-started", data)) == messages.Event(6, "speech-started", data)
    assert messages.decode_server_message(messages.encode_event(7, "left")) == messages.Event(7, "left", {})


def test_event_serializes_numpy_values() -> None:
    """Event data may carry numpy scalars and arrays (levels computed with numpy): they become JSON numbers."""
    data = orjson.loads(
        messages.encode_event(
            8, "x", {"level": np.float32(0.5), "n": np.int64(3), "a": np.array([1, 2], dtype=np.int16)}
        )
    )["data"]
    assert data == {"level": 0.5, "n": 3, "a": [1, 2]}


def test_error_message_round_trip() -> None:
    """encode_error writes an error message that decodes to the same error object."""
    error = BadFrame("short", details={"track": 1, "seq": 2})
    assert _roundtrip(messages.encode_error(9, error)) == messages.ErrorMessage(9, error.to_dict())


def test_server_message_data_that_is_not_an_object_reads_as_empty() -> None:
    """An event whose data is not an object decodes with empty data rather than failing the client."""
    event = messages.decode_server_message('{"type":"event","seq":3,"event":"left","data":[1]}')
    assert isinstance(event, messages.Event) and event.data == {}
