"""Property-based tests of the Python codecs: any input decodes or raises a documented ProtocolError; valid messages round-trip.

Bounded (``max_examples``) so the module runs in a few seconds; ``derandomize`` keeps runs
reproducible (a failure shows the example, and the next run sees the same one).
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import messages
from protocol.constants import CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, ColorFormat
from protocol.errors import ErrorCode, ProtocolError
from protocol.media import AudioFrame, VideoFrame, decode_frame, encode_audio, encode_video, video_frame_size
from protocol.schema import request_types as schema_request_types
from protocol.schema import validate_request
from tests.fuzz.mutation import mutate

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
JSON_VECTORS = json.loads((VECTORS / "json.json").read_text())
BINARY_VECTORS = json.loads((VECTORS / "binary.json").read_text())
VALID_FRAMES = [bytes.fromhex(v["hex"]) for v in BINARY_VECTORS["decode"] if "expect" in v]
REQUEST_TEXTS = [v["text"] for v in JSON_VECTORS["requests"]]
SERVER_TEXTS = [v["text"] for v in JSON_VECTORS["server_messages"]]
CODES = {c.value for c in ErrorCode}

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def check_error(exc: ProtocolError) -> None:
    """A raised error is one a client can be sent: a documented code, a message, JSON-able details."""
    assert exc.code.value in CODES
    assert isinstance(exc.message, str) and exc.message
    json.dumps(exc.to_dict())


def decode_and_validate(data: str | bytes) -> None:
    """What the session does with a text frame: decode the envelope, validate the parameters."""
    try:
        request = messages.decode_request(data, max_bytes=64 * 1024)
        validate_request(request)
    except ProtocolError as exc:
        check_error(exc)



json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
wire_values = st.recursive(  # what the protocol allows on the wire: 64-bit integers, finite numbers (3.1)
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
request_types = st.sampled_from(schema_request_types())


# ---------------------------------------------------------------------- text frames


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_text_frame_decodes_or_raises_a_protocol_error(data):
    """decode_request + validate_request on arbitrary text or bytes never raise anything but a documented ProtocolError."""
    decode_and_validate(data)


@FUZZ
@given(st.sampled_from(REQUEST_TEXTS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
       st.none() | st.integers(0, 300))
def test_mutated_request_vectors_decode_or_raise_a_protocol_error(text, edits, cut):
    """Request vectors with bytes overwritten or cut off decode or raise a documented ProtocolError."""
    decode_and_validate(mutate(text.encode(), edits, cut))


@FUZZ
@given(request_types, st.dictionaries(st.text(min_size=1, max_size=16), json_values, max_size=5),
       st.one_of(st.text(max_size=130), st.integers(), json_values))
def test_requests_with_random_params_validate_or_raise_a_protocol_error(rtype, params, rid):
    """Known request types with random parameters and ids are accepted or refused with a documented error."""
    params = {k: v for k, v in params.items() if k not in ("type", "id")}
    text = json.dumps({"type": rtype, "id": rid, **params})
    decode_and_validate(text)


@FUZZ
@given(request_types, st.text(min_size=1, max_size=128),
       st.dictionaries(st.text(min_size=1, max_size=16).filter(lambda k: k not in ("type", "id")), wire_values, max_size=4))
def test_request_round_trip(rtype, rid, params):
    """encode_request then decode_request gives back the type, id and parameters."""
    request = messages.decode_request(messages.encode_request(rtype, rid, params))
    assert (request.type, request.id, request.params) == (rtype, rid, params)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.builds(mutate, st.sampled_from(SERVER_TEXTS).map(str.encode),
                           st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
                           st.none() | st.integers(0, 400))))
def test_any_server_message_decodes_or_raises_a_protocol_error(data):
    """The client side: decode_server_message on arbitrary or mutated frames raises only a documented ProtocolError."""
    try:
        messages.decode_server_message(data)
    except ProtocolError as exc:
        check_error(exc)


@FUZZ
@given(st.integers(1, 2**53), st.text(min_size=1, max_size=40), st.dictionaries(st.text(max_size=10), wire_values, max_size=4))
def test_event_round_trip(seq, name, data):
    """encode_event then decode_server_message gives back the seq, name and data."""
    event = messages.decode_server_message(messages.encode_event(seq, name, data))
    assert isinstance(event, messages.Event)
    assert (event.seq, event.event, event.data) == (seq, name, json.loads(json.dumps(data)))


# ---------------------------------------------------------------------- binary frames


def decode_binary(data: bytes) -> None:
    try:
        decode_frame(data)
    except ProtocolError as exc:
        check_error(exc)


@FUZZ
@given(st.binary(max_size=120))
def test_any_binary_frame_decodes_or_raises_a_protocol_error(data):
    """decode_frame on arbitrary bytes returns a frame or raises a documented ProtocolError, never anything else."""
    decode_binary(data)


@FUZZ
@given(st.sampled_from(VALID_FRAMES), st.lists(st.tuples(st.integers(0, 27), st.integers(0, 255)), min_size=1, max_size=4),
       st.none() | st.integers(0, 2000))
def test_mutated_header_vectors_decode_or_raise_a_protocol_error(frame, edits, cut):
    """Valid frames with header bytes overwritten or the frame cut decode or raise a documented ProtocolError."""
    decode_binary(mutate(frame, edits, cut))


@FUZZ
@given(
    track=st.integers(0, 0xFFFF), seq=st.integers(0, 2**32 - 1), ts=st.integers(0, 2**64 - 1),
    rate=st.integers(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE), channels=st.sampled_from(CHANNELS),
    samples=st.integers(0, 200), flags=st.integers(0, 0xFFFF), fill=st.integers(0, 255),
)
def test_audio_frame_round_trip(track, seq, ts, rate, channels, samples, flags, fill):
    """encode_audio then decode_frame gives back every header field and the payload."""
    payload = bytes([fill]) * (samples * 2 * channels)
    frame = decode_frame(encode_audio(track, seq, ts, rate, channels, payload, flags))
    assert isinstance(frame, AudioFrame)
    assert (frame.track, frame.seq, frame.timestamp_us, frame.sample_rate, frame.channels, frame.flags) == (
        track, seq, ts, rate, channels, flags)
    assert bytes(frame.payload) == payload


@FUZZ
@given(
    track=st.integers(0, 0xFFFF), seq=st.integers(0, 2**32 - 1), ts=st.integers(0, 2**64 - 1),
    width=st.integers(1, 24), height=st.integers(1, 24), color=st.sampled_from(list(ColorFormat)),
    flags=st.integers(0, 0xFFFF),
)
def test_video_frame_round_trip(track, seq, ts, width, height, color, flags):
    """encode_video then decode_frame gives back every header field and the payload (I420 with even sizes)."""
    if color is ColorFormat.I420:
        width, height = width + width % 2, height + height % 2
    payload = bytes(range(256)) * (video_frame_size(width, height, color) // 256 + 1)
    payload = payload[: video_frame_size(width, height, color)]
    frame = decode_frame(encode_video(track, seq, ts, width, height, color, payload, flags))
    assert isinstance(frame, VideoFrame)
    assert (frame.track, frame.seq, frame.timestamp_us, frame.width, frame.height, frame.color_format, frame.flags) == (
        track, seq, ts, width, height, color, flags)
    assert bytes(frame.payload) == payload
