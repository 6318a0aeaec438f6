"""Bad input gets the documented typed error and the session lives on; other sessions never notice."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
import websockets

from gateway_client import GatewayError
from protocol import SUBPROTOCOL, CloseCode
from protocol.media import encode_audio, encode_video
from tests.audio import collect_frames

AUDIO_HEADER = struct.Struct("<BBHIQIIBBH")


def audio_header(*, version=1, kind=1, track=1, seq=1, ts=0, length=0, rate=24000, channels=1, encoding=1) -> bytes:
    return AUDIO_HEADER.pack(version, kind, track, seq, ts, length, rate, channels, encoding, 0)


async def still_usable(client) -> None:
    """The session answers a request after the bad input."""
    assert "time_ms" in await client.request("ping")


# ---------------------------------------------------------------------- text frames


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_json"),
        ("", "bad_json"),
        ("[1, 2, 3]", "bad_message"),
        ('"a string"', "bad_message"),
        ("42", "bad_message"),
        ('{"id": "x"}', "bad_message"),
        ('{"type": 7, "id": "x"}', "bad_message"),
        ('{"type": "ping"}', "invalid_params"),
        ('{"type": "ping", "id": ""}', "invalid_params"),
        ('{"type": "ping", "id": {"nested": 1}}', "invalid_params"),
    ],
)
async def test_unreadable_text_frames_get_error_messages(connect, raw, code):
    """A text frame that is not a usable request gets an error message with its code; no id to echo."""
    client = await connect()
    await client.send_raw(raw)
    error = await client.next_protocol_error()
    assert error.code == code
    await still_usable(client)


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "invalid_params", "room_url"),
        ({"room_url": 5}, "invalid_params", "room_url"),
        ({"room_url": "local://a", "surprise": 1}, "invalid_params", "surprise"),
        ({"room_url": "local://a", "audio_in": {"sample_rate": 7999}}, "unsupported_format", "audio_in.sample_rate"),
        ({"room_url": "local://a", "audio_in": {"sample_rate": 96000}}, "unsupported_format", "audio_in.sample_rate"),
        ({"room_url": "local://a", "audio_out": {"channels": 3}}, "unsupported_format", "audio_out.channels"),
        ({"room_url": "local://a", "audio_in": {"frame_ms": 5}}, "unsupported_format", "audio_in.frame_ms"),
        ({"room_url": "local://a", "vad": {"aggressiveness": 9}}, "invalid_params", "vad.aggressiveness"),
        ({"room_url": "local://a", "audio_in": "loud"}, "invalid_params", "audio_in"),
    ],
)
async def test_bad_join_params_name_the_field(connect, params, code, field):
    """A join with a missing, mistyped, unknown or out-of-range field gets its code, the request id and the field."""
    client = await connect()
    with pytest.raises(GatewayError) as err:
        await client.request("join", params)
    assert err.value.code == code
    assert err.value.details.get("field") == field
    assert err.value.request_id is not None
    await still_usable(client)
    joined = await client.join(f"local://recovered-{id(client)}")  # the failed join left the session open
    assert joined["participant_id"]


EMOJI = "\U0001f600"
"""One code point, two UTF-16 code units, four UTF-8 bytes."""


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ({"type": "ping", "id": EMOJI * 128}, ("reply", EMOJI * 128, None)),
        ({"type": "ping", "id": EMOJI * 129}, ("error", None, "invalid_params")),
        ({"id": EMOJI * 128}, ("reply", EMOJI * 128, "bad_message")),
        ({"id": EMOJI * 129}, ("error", None, "bad_message")),
        ({"type": "", "id": ""}, ("error", None, "bad_message")),
        ({"type": 3, "id": 12}, ("reply", "12", "bad_message")),
        ({"type": "teleport", "id": True}, ("error", None, "invalid_params")),
    ],
    ids=["128-emoji", "129-emoji", "no-type-good-id", "no-type-bad-id", "empty-both", "type-3-int-id", "bool-id"],
)
async def test_envelope_rules_on_the_wire(gateway, frame, answer):
    """Ids count code points; a frame without a usable type is bad_message, a reply only if its id is valid (PROTOCOL.md 3.4)."""
    kind, rid, code = answer
    async with websockets.connect(gateway.url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        json.loads(await ws.recv())  # hello
        await ws.send(json.dumps(frame, ensure_ascii=False))
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == kind, message
    if kind == "reply":
        assert message["id"] == rid
        assert message["ok"] is (code is None) and (code is None or message["error"]["code"] == code), message
    else:
        assert "id" not in message and message["error"]["code"] == code, message
        if code == "invalid_params":
            assert message["error"]["details"] == {"field": "id"}


async def test_unknown_request_type(connect):
    """An unknown type gets unknown_type in a reply carrying the request id."""
    client = await connect()
    with pytest.raises(GatewayError) as err:
        await client.request("teleport", {"where": "mars"})
    assert err.value.code == "unknown_type" and err.value.request_id
    await still_usable(client)


@pytest.mark.parametrize("rtype", ["leave", "get-participants", "send-app-message"])
async def test_requests_before_join_are_not_joined(connect, rtype):
    """Requests that need a room answer not_joined before join."""
    client = await connect()
    params = {"message": "hi"} if rtype == "send-app-message" else None
    with pytest.raises(GatewayError) as err:
        await client.request(rtype, params)
    assert err.value.code == "not_joined"
    await still_usable(client)


async def test_joining_twice(connect, room):
    """A second join on a joined session answers already_joined and leaves the first join intact."""
    client = await connect()
    await client.join(room)
    with pytest.raises(GatewayError) as err:
        await client.join(room)
    assert err.value.code == "already_joined"
    assert client.participant_id in await client.participants()


async def test_join_after_leave_is_wrong_state(connect, room):
    """A session that left cannot join again (wrong_state): one room per session."""
    client = await connect()
    await client.join(room)
    await client.leave()
    with pytest.raises(GatewayError) as err:
        await client.join(room)
    assert err.value.code == "wrong_state"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/room", "unknown_backend"),
        ("no-scheme-at-all", "bad_room_url"),
        ("local://bad name!", "bad_room_url"),
        ("local://", "bad_room_url"),
        ("local://" + "x" * 80, "bad_room_url"),
    ],
)
async def test_bad_room_urls(connect, url, code):
    """Unknown schemes get unknown_backend; malformed local room URLs get bad_room_url."""
    client = await connect()
    with pytest.raises(GatewayError) as err:
        await client.join(url)
    assert err.value.code == code
    await still_usable(client)


async def test_unknown_backend_name(connect):
    """Naming a backend that is not enabled gets unknown_backend."""
    client = await connect()
    with pytest.raises(GatewayError) as err:
        await client.request("join", {"room_url": "local://x", "backend": "zoom"})
    assert err.value.code == "unknown_backend"
    await still_usable(client)


async def test_oversize_text_message_is_too_large(connect):
    """A text frame over max_message_bytes gets too_large and the session goes on."""
    client = await connect()
    limit = client.limits["max_message_bytes"]
    await client.send_raw('{"type": "ping", "id": "big", "pad": "' + "x" * limit + '"}')
    error = await client.next_protocol_error()
    assert error.code == "too_large"
    await still_usable(client)


async def test_oversize_app_message_is_too_large(connect, room):
    """An app message over max_app_message_bytes gets too_large in its reply."""
    client = await connect()
    await client.join(room)
    with pytest.raises(GatewayError) as err:
        await client.send_app_message({"blob": "y" * client.limits["max_app_message_bytes"]})
    assert err.value.code == "too_large"


# ---------------------------------------------------------------------- binary frames


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x01\x01\x01", "bad_frame"),
        (audio_header(version=9, seq=42), "bad_frame"),
        (audio_header(version=0, track=3, seq=42), "bad_frame"),
        (audio_header(kind=7, seq=42), "unknown_kind"),
        (audio_header(kind=0, track=2, seq=42, length=2) + b"\x00" * 2, "unknown_kind"),
        (audio_header(length=10, seq=42) + b"\x00" * 4, "bad_payload"),
        (audio_header(length=3, seq=42) + b"\x00" * 3, "bad_payload"),
        (audio_header(rate=4000, length=2, seq=42) + b"\x00" * 2, "unsupported_format"),
        (audio_header(channels=5, length=10, seq=42) + b"\x00" * 10, "unsupported_format"),
        (audio_header(encoding=2, length=2, seq=42) + b"\x00" * 2, "unsupported_format"),
        (audio_header(track=99, length=2, seq=42) + b"\x00" * 2, "unknown_track"),
    ],
    ids=[
        "short", "version-9", "version-0", "kind-7", "kind-0", "length-over", "odd-bytes",
        "rate-4000", "channels-5", "encoding-2", "track-99",
    ],
)
async def test_bad_binary_frames(connect, room, frame, code):
    """Malformed binary frames get error messages with their code and, from 28 bytes on, the header's track and seq."""
    client = await connect()
    await client.join(room)
    await client.send_raw(frame)
    error = await client.next_protocol_error()
    assert error.code == code, error.message
    if len(frame) >= AUDIO_HEADER.size:
        track, seq = struct.unpack_from("<HI", frame, 2)
        assert (error.details.get("track"), error.details.get("seq")) == (track, seq), error.details
    else:
        assert "track" not in error.details and "seq" not in error.details, error.details
    await still_usable(client)
    assert client.participant_id in await client.participants()


async def test_audio_before_join_is_not_joined(connect):
    """Audio sent before join gets not_joined with the frame's track and seq."""
    client = await connect()
    await client.send_raw(encode_audio(1, 7, 0, 24000, 1, b"\x00\x00" * 480))
    error = await client.next_protocol_error()
    assert error.code == "not_joined" and error.details == {"track": 1, "seq": 7}


async def test_audio_in_wrong_format_is_format_mismatch(connect, room):
    """A frame whose rate differs from the negotiated audio_out gets format_mismatch."""
    client = await connect()
    await client.join(room, audio_out={"sample_rate": 16000})
    await client.send_raw(encode_audio(1, 1, 0, 48000, 1, b"\x00\x00" * 480))
    error = await client.next_protocol_error()
    assert error.code == "format_mismatch"
    await still_usable(client)


async def test_audio_with_audio_out_disabled_is_wrong_state(connect, room):
    """Publishing audio after joining with audio_out disabled gets wrong_state."""
    client = await connect()
    await client.join(room, audio_out={"enabled": False})
    await client.send_raw(encode_audio(1, 1, 0, 24000, 1, b"\x00\x00" * 480))
    assert (await client.next_protocol_error()).code == "wrong_state"


async def test_oversize_binary_frame_is_too_large(connect, room):
    """A binary frame over max_frame_bytes (but under the hard cap) gets too_large with its track and seq; the session goes on."""
    client = await connect()
    await client.join(room)
    limit = client.limits["max_frame_bytes"]
    await client.send_raw(encode_audio(1, 9, 0, 24000, 1, b"\x00" * (limit + 2)))
    error = await client.next_protocol_error()
    assert error.code == "too_large" and error.details == {"track": 1, "seq": 9}, error.details
    await still_usable(client)


async def test_a_direct_clients_ping_shaped_as_a_nodes_oversize_notice_is_only_a_ping(connect, room):
    """Only a connection relayed by another cluster node acts on an oversize notice: a client's own ping carrying
    one is answered with a pong and nothing else (no too_large, no error)."""
    from gateway.cluster.bridge import oversize_notice

    client = await connect()
    await client.join(room)
    pong = await client.ws.ping(oversize_notice(False, 10**6, bytes(28)))
    await asyncio.wait_for(pong, 5)
    await still_usable(client)
    assert client.protocol_errors == []


async def test_frame_over_hard_cap_closes_1009(connect):
    """A frame over 4x max_frame_bytes cannot be read: the connection closes with 1009."""
    client = await connect()
    limit = client.limits["max_frame_bytes"]
    try:
        await client.send_raw(b"\x00" * (4 * limit + 1024))
    except websockets.ConnectionClosed:
        pass
    await asyncio.wait_for(client._reader, 10)
    assert client.close_code == CloseCode.MESSAGE_TOO_BIG


async def test_too_many_errors_in_a_row_closes_4002(connect):
    """After max_consecutive_errors bad messages in a row the gateway closes with 4002 and a reason."""
    client = await connect()
    for _ in range(client.limits["max_consecutive_errors"]):
        try:
            await client.send_raw("{nope")
        except websockets.ConnectionClosed:
            break
    await asyncio.wait_for(client._reader, 10)
    assert client.close_code == CloseCode.PROTOCOL_VIOLATION
    assert "protocol errors" in client.close_reason
    assert client.protocol_errors[-1].fatal and not any(e.fatal for e in client.protocol_errors[:-1])


async def test_a_good_message_resets_the_error_count(connect):
    """Errors separated by valid requests never trip the 4002 close."""
    client = await connect()
    for _ in range(client.limits["max_consecutive_errors"] + 5):
        await client.send_raw("{nope")
        await still_usable(client)
    assert not client.closed


async def test_wrong_subprotocol_closes_4000(gateway):
    """A client offering only another protocol version is closed with 4000 and told what to offer."""
    async with websockets.connect(gateway.url, subprotocols=["daily-gateway.v999"]) as ws:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == CloseCode.BAD_SUBPROTOCOL
        assert SUBPROTOCOL in (ws.close_reason or "")


async def test_no_subprotocol_is_served_as_v1(gateway):
    """A client that offers no subprotocol (simple tools) is served as v1: it gets the hello."""
    async with websockets.connect(gateway.url) as ws:
        hello = await asyncio.wait_for(ws.recv(), 5)
        assert '"type":"hello"' in hello


async def test_plain_http_to_ws_endpoint_is_426(gateway):
    """A plain HTTP GET to the WebSocket path answers 426 with a hint, not a crash."""
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(gateway.http_url + "/v1", timeout=5)
    assert err.value.code == 426


async def test_bad_input_never_disturbs_other_sessions(connect, room):
    """While one client floods bad frames and gets closed, another keeps receiving in-order audio."""
    from tests.audio import demo_speech

    talker, listener, vandal = await connect(), await connect(), await connect()
    await talker.join(room, audio_out={"sample_rate": 16000})
    await listener.join(room, audio_in={"sample_rate": 16000})
    await vandal.join(room)
    await talker.send_audio(demo_speech(16000, seconds=2.0))
    await listener.wait_for("track-started")

    async def vandalize() -> None:
        junk = [b"\x00", "{", "[]", audio_header(kind=3), encode_video(2, 1, 0, 3, 3, 7, b"")]
        try:
            for i in range(500):
                await vandal.send_raw(junk[i % len(junk)])
        except websockets.ConnectionClosed:
            pass

    frames, _ = await asyncio.gather(collect_frames(listener, 80), vandalize())
    seqs = [f.seq for f in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the listener lost or reordered frames"
    await still_usable(listener)
    await asyncio.wait_for(vandal._reader, 10)
    assert vandal.close_code == CloseCode.PROTOCOL_VIOLATION
