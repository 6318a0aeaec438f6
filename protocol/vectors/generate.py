"""Write ``json.json`` and ``binary.json``: the conformance vectors of daily-gateway.v1.

Run ``python protocol/vectors/generate.py`` after changing a vector here; commit both the
script and the JSON. The JSON files are the artifact every codec reads (README.md).

The expectations below are written by hand from PROTOCOL.md, and frames are packed with
``struct`` here: nothing is computed by the codec under test, so the vectors can catch it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

AUDIO = struct.Struct("<BBHIQIIBBH")
"""version, kind, track, seq, timestamp_us, payload_len, sample_rate, channels, encoding, flags."""
VIDEO = struct.Struct("<BBHIQIHHBBH")
"""version, kind, track, seq, timestamp_us, payload_len, width, height, color_format, reserved, flags."""

TS = 1_700_000_000_000_000
"""A timestamp (µs since the Unix epoch, 2023-11-14) that needs all of its bytes but fits in 2**53."""


def pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def audio(
    track: int,
    seq: int,
    ts: int,
    rate: int,
    channels: int,
    payload: bytes,
    *,
    flags: int = 0,
    version: int = 1,
    kind: int = 1,
    encoding: int = 1,
    length: int | None = None,
) -> bytes:
    n = len(payload) if length is None else length
    return AUDIO.pack(version, kind, track, seq, ts, n, rate, channels, encoding, flags) + payload


def video(
    track: int,
    seq: int,
    ts: int,
    width: int,
    height: int,
    color: int,
    payload: bytes,
    *,
    flags: int = 0,
    reserved: int = 0,
    length: int | None = None,
) -> bytes:
    n = len(payload) if length is None else length
    return VIDEO.pack(1, 2, track, seq, ts, n, width, height, color, reserved, flags) + payload


def audio_fields(
    track: int, seq: int, ts: int, rate: int, channels: int, payload: bytes, flags: int = 0
) -> dict[str, Any]:
    return {
        "kind": "audio",
        "track": track,
        "seq": seq,
        "timestamp_us": ts,
        "sample_rate": rate,
        "channels": channels,
        "flags": flags,
        "payload": payload.hex(),
    }


def video_fields(
    track: int, seq: int, ts: int, width: int, height: int, color: int, payload: bytes, flags: int = 0
) -> dict[str, Any]:
    return {
        "kind": "video",
        "track": track,
        "seq": seq,
        "timestamp_us": ts,
        "width": width,
        "height": height,
        "color_format": color,
        "flags": flags,
        "payload": payload.hex(),
    }


# ---------------------------------------------------------------------------- binary

RAMP_16K_20MS = pcm([i - 160 for i in range(320)])
"""20 ms of 16 kHz mono: 320 samples from -160 to 159 (negative samples catch sign and byte-order bugs)."""
STEREO_48K_10MS = pcm([v for i in range(480) for v in (i, -i)])
"""10 ms of 48 kHz stereo: 480 frames, left = i, right = -i (catches channel-order bugs)."""
RGB_2X2 = bytes(range(1, 13))
I420_4X2 = bytes(range(8)) + bytes([0x80, 0x81]) + bytes([0x90, 0x91])
"""4x2 I420: 8 luma bytes, then 2x1 U, then 2x1 V."""


def binary_vectors() -> dict[str, Any]:
    decode: list[dict[str, Any]] = []

    def ok(name: str, frame: bytes, expect: dict[str, Any], note: str = "") -> None:
        decode.append({"name": name, **({"note": note} if note else {}), "hex": frame.hex(), "expect": expect})

    def bad(name: str, frame: bytes, code: str, note: str = "") -> None:
        # PROTOCOL.md 10.3: from 28 bytes on, every error quotes the header's track (bytes 2-3) and seq (4-7).
        details = dict(zip(("track", "seq"), struct.unpack_from("<HI", frame, 2), strict=True)) if len(frame) >= 28 else {}
        error = {"code": code, "details": details}
        decode.append({"name": name, **({"note": note} if note else {}), "hex": frame.hex(), "error": error})

    ok(
        "audio-mono-16k-20ms",
        audio(1, 1, TS, 16000, 1, RAMP_16K_20MS),
        audio_fields(1, 1, TS, 16000, 1, RAMP_16K_20MS),
        "the common case: 28 + 640 bytes",
    )
    ok(
        "audio-stereo-48k-10ms",
        audio(16, 4294967295, TS + 10_000, 48000, 2, STEREO_48K_10MS),
        audio_fields(16, 4294967295, TS + 10_000, 48000, 2, STEREO_48K_10MS),
        "a gateway track id, the largest seq, interleaved L R L R",
    )
    ok(
        "audio-empty-payload",
        audio(1, 7, 0, 24000, 1, b""),
        audio_fields(1, 7, 0, 24000, 1, b""),
        "no samples is a valid frame; the gateway ignores it",
    )
    ok(
        "audio-one-sample",
        audio(1, 2, 0, 8000, 1, pcm([-2])),
        audio_fields(1, 2, 0, 8000, 1, pcm([-2])),
        "any whole number of samples is valid, not only full frame durations",
    )
    ok("audio-rate-bounds-8000", audio(1, 3, 0, 8000, 2, pcm([1, 2])), audio_fields(1, 3, 0, 8000, 2, pcm([1, 2])))
    ok("audio-rate-bounds-48000", audio(1, 3, 0, 48000, 1, pcm([1])), audio_fields(1, 3, 0, 48000, 1, pcm([1])))
    ok(
        "audio-odd-rate-22050",
        audio(1, 3, 0, 22050, 1, pcm([5])),
        audio_fields(1, 3, 0, 22050, 1, pcm([5])),
        "any integer rate from 8000 to 48000",
    )
    ok(
        "audio-flags-passed-through",
        audio(1, 9, 0, 16000, 1, pcm([0]), flags=0x8001),
        audio_fields(1, 9, 0, 16000, 1, pcm([0]), flags=0x8001),
        "v1 defines no flag: senders write 0, receivers ignore them (do not reject)",
    )
    ok(
        "video-rgb-2x2",
        video(2, 1, TS, 2, 2, 1, RGB_2X2),
        video_fields(2, 1, TS, 2, 2, 1, RGB_2X2),
        "RGB: 3 bytes per pixel, rows top to bottom, no padding",
    )
    ok(
        "video-i420-4x2",
        video(17, 5, TS, 4, 2, 7, I420_4X2),
        video_fields(17, 5, TS, 4, 2, 7, I420_4X2),
        "I420: Y plane, then U and V planes of (w/2)x(h/2)",
    )
    ok(
        "video-rgba-1x1",
        video(3, 1, 0, 1, 1, 2, bytes([1, 2, 3, 4])),
        video_fields(3, 1, 0, 1, 1, 2, bytes([1, 2, 3, 4])),
    )
    ok(
        "video-reserved-byte-ignored",
        video(2, 1, 0, 1, 1, 6, bytes([9, 8, 7]), reserved=0xAA),
        video_fields(2, 1, 0, 1, 1, 6, bytes([9, 8, 7])),
        "byte 25 of a video header is reserved: ignore it",
    )

    bad("empty", b"", "bad_frame")
    bad(
        "shorter-than-header",
        audio(1, 1, 0, 16000, 1, b"")[:27],
        "bad_frame",
        "27 bytes: no track or seq in details, even though bytes 2-7 are there",
    )
    bad(
        "wrong-version",
        audio(1, 77, 0, 16000, 1, pcm([0]), version=2),
        "bad_frame",
        "a full header: details still carry track and seq",
    )
    bad("version-zero", audio(3, 0x01020304, 0, 16000, 1, pcm([0]), version=0), "bad_frame")
    bad(
        "unknown-kind-0",
        audio(1, 78, 0, 16000, 1, pcm([0]), kind=0),
        "unknown_kind",
        "a full header: details still carry track and seq",
    )
    bad("unknown-kind-3", audio(4, 65536, 0, 16000, 1, pcm([0]), kind=3), "unknown_kind")
    bad(
        "audio-length-over-payload",
        audio(1, 1, 0, 16000, 1, pcm([0]), length=4),
        "bad_payload",
        "header says 4 bytes, 2 follow",
    )
    bad(
        "audio-length-under-payload",
        audio(1, 1, 0, 16000, 1, pcm([0, 0]), length=2),
        "bad_payload",
        "header says 2 bytes, 4 follow",
    )
    bad("audio-odd-pcm-bytes", audio(1, 1, 0, 16000, 1, b"\x00\x00\x00"), "bad_payload", "3 bytes of mono PCM16")
    bad(
        "audio-stereo-half-frame",
        audio(1, 1, 0, 16000, 2, pcm([0])),
        "bad_payload",
        "2 bytes is one sample, not one stereo frame",
    )
    bad("audio-rate-7999", audio(16, 12, 0, 7999, 1, pcm([0])), "unsupported_format")
    bad("audio-rate-48001", audio(1, 1, 0, 48001, 1, pcm([0])), "unsupported_format")
    bad("audio-rate-0", audio(1, 1, 0, 0, 1, pcm([0])), "unsupported_format")
    bad("audio-channels-3", audio(1, 1, 0, 16000, 3, pcm([0, 0, 0])), "unsupported_format")
    bad("audio-channels-0", audio(1, 1, 0, 16000, 0, pcm([0])), "unsupported_format")
    bad("audio-encoding-2", audio(1, 1, 0, 16000, 1, pcm([0]), encoding=2), "unsupported_format")
    bad("audio-encoding-0", audio(1, 1, 0, 16000, 1, pcm([0]), encoding=0), "unsupported_format")
    bad("video-color-format-0", video(2, 1, 0, 1, 1, 0, bytes(3)), "unsupported_format")
    bad("video-color-format-8", video(3, 300, 0, 1, 1, 8, bytes(4)), "unsupported_format")
    bad(
        "video-i420-odd-width",
        video(2, 1, 0, 3, 2, 7, bytes(10)),
        "unsupported_format",
        "I420 needs even width and height",
    )
    bad("video-i420-odd-height", video(2, 1, 0, 2, 3, 7, bytes(10)), "unsupported_format")
    bad("video-rgb-size-mismatch", video(2, 1, 0, 2, 2, 1, bytes(11)), "bad_payload", "RGB 2x2 needs 12 bytes")
    bad("video-bgra-size-mismatch", video(2, 1, 0, 2, 2, 3, bytes(12)), "bad_payload", "BGRA 2x2 needs 16 bytes")
    bad("video-i420-size-mismatch", video(2, 1, 0, 4, 2, 7, bytes(8)), "bad_payload", "I420 4x2 needs 12 bytes")
    bad("video-zero-width", video(2, 1, 0, 0, 2, 1, b""), "bad_payload")
    bad("video-zero-height", video(2, 1, 0, 2, 0, 4, b""), "bad_payload")
    bad("video-length-mismatch", video(2, 1, 0, 1, 1, 1, bytes(3), length=4), "bad_payload")

    encode: list[dict[str, Any]] = []

    def enc(name: str, fields: dict[str, Any], frame: bytes, note: str = "") -> None:
        encode.append({"name": name, **({"note": note} if note else {}), "fields": fields, "hex": frame.hex()})

    enc(
        "audio-mono-16k-20ms", audio_fields(1, 1, TS, 16000, 1, RAMP_16K_20MS), audio(1, 1, TS, 16000, 1, RAMP_16K_20MS)
    )
    enc(
        "audio-stereo-48k-10ms",
        audio_fields(16, 4294967295, TS + 10_000, 48000, 2, STEREO_48K_10MS),
        audio(16, 4294967295, TS + 10_000, 48000, 2, STEREO_48K_10MS),
    )
    enc("audio-empty", audio_fields(1, 0, 0, 24000, 1, b""), audio(1, 0, 0, 24000, 1, b""))
    enc(
        "audio-seq-wraps",
        audio_fields(1, 4294967296 + 5, 0, 16000, 1, pcm([1])),
        audio(1, 5, 0, 16000, 1, pcm([1])),
        "sequence numbers are written modulo 2**32",
    )
    enc("video-rgb-2x2", video_fields(2, 1, TS, 2, 2, 1, RGB_2X2), video(2, 1, TS, 2, 2, 1, RGB_2X2))
    enc("video-i420-4x2", video_fields(17, 5, TS, 4, 2, 7, I420_4X2), video(17, 5, TS, 4, 2, 7, I420_4X2))
    enc(
        "video-seq-wraps",
        video_fields(3, 4294967296, 1, 1, 1, 2, bytes(4)),
        video(3, 0, 1, 1, 1, 2, bytes(4)),
        "sequence numbers are written modulo 2**32",
    )

    return {
        "version": 1,
        "description": "daily-gateway.v1 binary media frames; see README.md and PROTOCOL.md section 7.",
        "decode": decode,
        "encode": encode,
    }


# ---------------------------------------------------------------------------- JSON

VAD_DEFAULTS = {
    "enabled": True,
    "analyzer": "webrtc",
    "aggressiveness": 2,
    "confidence": 0.7,
    "start_ms": 200,
    "stop_ms": 800,
    "min_level": 0,
}
AUDIO_IN_DEFAULTS = {
    "enabled": True, "sample_rate": 16000, "channels": 1, "frame_ms": 20, "filter": {"type": "none"}, "mixed": False,
}
AUDIO_OUT_DEFAULTS = {
    "enabled": True,
    "sample_rate": 24000,
    "channels": 1,
    "idle_grace_ms": 200,
    "prebuffer_ms": 0,
    "bitrate": 96000,
    "is_live": False,
    "auto_silence": True,
    "max_buffer_ms": 120000,
    "high_watermark_ms": 10000,
    "low_watermark_ms": 2000,
}
"""The last three are ``x-default`` rules (PROTOCOL.md 3.6), here with the default limits of the hello
vector: ``max_buffer_ms`` = limits.max_playout_buffer_ms, high = min(10000, max / 2), low = min(2000, high / 5)."""
JOIN_MEDIA_DEFAULTS = {
    "video_in": {"enabled": True},
    "video_out": {
        "enabled": False,
        "is_live": False,
        "width": 1024,
        "height": 768,
        "framerate": 30,
        "color_format": "RGB",
    },
    "transcription": {"enabled": False},
}
"""The join fields of Daily's transport (video in/out, transcription at join), all defaulted."""
JOIN_DEFAULTS = {
    "user_name": "gateway-bot",
    "audio_in": AUDIO_IN_DEFAULTS,
    "audio_out": AUDIO_OUT_DEFAULTS,
    "vad": VAD_DEFAULTS,
    "levels_interval_ms": 0,
    **JOIN_MEDIA_DEFAULTS,
}


def text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def request_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def ok(name: str, raw: str, rtype: str, rid: str, params: dict[str, Any], note: str = "", **extra: Any) -> None:
        out.append(
            {
                "name": name,
                **({"note": note} if note else {}),
                "text": raw,
                **extra,
                "expect": {"type": rtype, "id": rid, "params": params},
            }
        )

    def bad(
        name: str,
        raw: str,
        layer: str,
        code: str,
        request_id: str | None,
        field: str | None = None,
        note: str = "",
        **extra: Any,
    ) -> None:
        error: dict[str, Any] = {"layer": layer, "code": code, "request_id": request_id}
        if field is not None:
            error["field"] = field
        out.append({"name": name, **({"note": note} if note else {}), "text": raw, **extra, "error": error})

    # Valid requests: params are what validation returns, defaults filled in.
    ok("ping", '{"type":"ping","id":"1"}', "ping", "1", {})
    ok("ping-integer-id", '{"type":"ping","id":42}', "ping", "42", {}, "integer ids are accepted and echoed as strings")
    ok("ping-negative-integer-id", '{"id":-7,"type":"ping"}', "ping", "-7", {}, "any key order")
    ok("ping-id-128-chars", text({"type": "ping", "id": "i" * 128}), "ping", "i" * 128, {}, "the longest id")
    ok(
        "ping-id-128-astral-chars",
        text({"type": "ping", "id": "\U0001F600" * 128}),
        "ping",
        "\U0001F600" * 128,
        {},
        "lengths count code points: 128 emoji are 256 UTF-16 units (JavaScript's .length) and 512 UTF-8 bytes",
    )
    ok(
        "ping-id-128-escaped-surrogate-pairs",
        '{"type":"ping","id":"' + "\\ud83d\\ude00" * 128 + '"}',
        "ping",
        "\U0001F600" * 128,
        {},
        "a JSON escaped surrogate pair is one code point",
    )
    ok(
        "ping-unicode-id",
        ' {"type" : "ping", "id" : "é✓"} \n',
        "ping",
        "é✓",
        {},
        "whitespace around tokens; ids are any Unicode text",
    )
    ok(
        "join-defaults",
        '{"type":"join","id":"j1","room_url":"local://demo"}',
        "join",
        "j1",
        {"room_url": "local://demo", **JOIN_DEFAULTS},
        "every default filled in, nested objects included",
    )
    ok(
        "join-partial-nested",
        text(
            {
                "type": "join",
                "id": "j2",
                "room_url": "https://example.daily.co/room",
                "user_name": "Bot",
                "user_data": {"role": "agent"},
                "audio_in": {"sample_rate": 48000, "channels": 2},
                "audio_out": {"sample_rate": 8000, "high_watermark_ms": 0},
                "vad": {"enabled": False},
                "levels_interval_ms": 100,
            }
        ),
        "join",
        "j2",
        {
            "room_url": "https://example.daily.co/room",
            "user_name": "Bot",
            "user_data": {"role": "agent"},
            "audio_in": {**AUDIO_IN_DEFAULTS, "sample_rate": 48000, "channels": 2},
            "audio_out": {**AUDIO_OUT_DEFAULTS, "sample_rate": 8000, "high_watermark_ms": 0, "low_watermark_ms": 0},
            "vad": {**VAD_DEFAULTS, "enabled": False},
            "levels_interval_ms": 100,
            **JOIN_MEDIA_DEFAULTS,
        },
        "given fields kept, missing ones filled, also inside partly given objects",
    )
    ok(
        "join-format-bounds",
        text(
            {
                "type": "join",
                "id": "j3",
                "room_url": "local://x",
                "token": "t",
                "audio_in": {"sample_rate": 8000, "frame_ms": 100},
                "audio_out": {"sample_rate": 48000, "channels": 2},
            }
        ),
        "join",
        "j3",
        {
            "room_url": "local://x",
            "token": "t",
            "user_name": "gateway-bot",
            "vad": VAD_DEFAULTS,
            "levels_interval_ms": 0,
            "audio_in": {**AUDIO_IN_DEFAULTS, "sample_rate": 8000, "frame_ms": 100},
            "audio_out": {**AUDIO_OUT_DEFAULTS, "sample_rate": 48000, "channels": 2},
            **JOIN_MEDIA_DEFAULTS,
        },
    )
    ok(
        "join-user-name-128-astral-chars",
        text({"type": "join", "id": "j7", "room_url": "local://x", "user_name": "\U0001F600" * 128}),
        "join",
        "j7",
        {"room_url": "local://x", **JOIN_DEFAULTS, "user_name": "\U0001F600" * 128},
        "maxLength 128 counts code points, not the 256 UTF-16 units",
    )
    ok(
        "join-derived-defaults-small-buffer",
        '{"type":"join","id":"j4","room_url":"local://x","audio_out":{"max_buffer_ms":1000}}',
        "join",
        "j4",
        {
            "room_url": "local://x",
            **JOIN_DEFAULTS,
            "audio_out": {**AUDIO_OUT_DEFAULTS, "max_buffer_ms": 1000, "high_watermark_ms": 500, "low_watermark_ms": 100},
        },
        "x-default rules read the fields given: high = min(10000, 1000 / 2), low = min(2000, 500 / 5)",
    )
    ok(
        "join-derived-low-from-given-high",
        '{"type":"join","id":"j5","room_url":"local://x","audio_out":{"high_watermark_ms":3001}}',
        "join",
        "j5",
        {
            "room_url": "local://x",
            **JOIN_DEFAULTS,
            "audio_out": {**AUDIO_OUT_DEFAULTS, "high_watermark_ms": 3001, "low_watermark_ms": 600},
        },
        "divisions round down: 3001 / 5 is 600",
    )
    ok(
        "join-free-form-objects-not-created",
        text(
            {
                "type": "join",
                "id": "j6",
                "room_url": "local://x",
                "audio_in": {"filter": {"type": "noisereduce"}},
                "transcription": {"enabled": True},
            }
        ),
        "join",
        "j6",
        {
            "room_url": "local://x",
            **JOIN_DEFAULTS,
            "audio_in": {**AUDIO_IN_DEFAULTS, "filter": {"type": "noisereduce"}},
            "transcription": {"enabled": True},
        },
        "objects that declare no default inside (filter.options, transcription.settings, dialin_settings) stay absent",
    )
    ok(
        "send-dtmf-default-inside-given-object",
        '{"type":"send-dtmf","id":"d","settings":{"tones":"12#"}}',
        "send-dtmf",
        "d",
        {"settings": {"tones": "12#", "digitDurationMs": 500}},
        "a given object is completed with the defaults declared inside it",
    )
    ok(
        "update-inputs-absent-input-not-created",
        '{"type":"update-inputs","id":"u","input_settings":{"microphone":{"isEnabled":false}}}',
        "update-inputs",
        "u",
        {"input_settings": {"microphone": {"isEnabled": False}}},
        "camera declares no default: absent means leave it as it is, so no empty object is added",
    )
    ok(
        "create-room-object-default",
        '{"type":"create-room","id":"cr"}',
        "create-room",
        "cr",
        {"privacy": "public", "properties": {}, "timeout_ms": 10000},
        "a declared default may be an object",
    )
    ok(
        "send-app-message-broadcast",
        '{"type":"send-app-message","id":"m1","message":{"text":"hi"}}',
        "send-app-message",
        "m1",
        {"message": {"text": "hi"}, "urgent": False},
    )
    ok(
        "send-app-message-targeted-zero",
        '{"type":"send-app-message","id":"m2","message":0,"participant_id":"p-1","urgent":true}',
        "send-app-message",
        "m2",
        {"message": 0, "participant_id": "p-1", "urgent": True},
        "message may be any JSON value but null: a falsy one included",
    )
    ok("mark-audio", '{"type":"mark-audio","id":"k","name":"sentence-1"}', "mark-audio", "k", {"name": "sentence-1"})
    ok(
        "capture-participant-video-defaults",
        '{"type":"capture-participant-video","id":"v","participant_id":"p"}',
        "capture-participant-video",
        "v",
        {"participant_id": "p", "framerate": 30, "video_source": "camera", "color_format": "RGBA"},
    )
    ok(
        "observe-defaults",
        '{"type":"observe","id":"o","room_url":"local://demo"}',
        "observe",
        "o",
        {
            "room_url": "local://demo",
            "audio": "analysis",
            "audio_in": {"sample_rate": 16000, "channels": 1, "frame_ms": 20},
            "vad": VAD_DEFAULTS,
            "levels_interval_ms": 200,
        },
    )
    ok(
        "at-max-bytes",
        '{"type":"ping","id":"é"}',
        "ping",
        "é",
        {},
        "25 UTF-8 bytes: exactly the limit is allowed",
        max_bytes=25,
    )

    # Envelope errors: the frame is not a usable request (decode_request).
    bad("bad-json-truncated", '{"type":"ping","id":"1"', "envelope", "bad_json", None)
    bad("bad-json-not-json", "ping", "envelope", "bad_json", None)
    bad("bad-json-empty", "", "envelope", "bad_json", None)
    bad("bad-json-single-quotes", "{'type':'ping','id':'1'}", "envelope", "bad_json", None)
    bad("not-an-object-array", '[{"type":"ping","id":"1"}]', "envelope", "bad_message", None)
    bad("not-an-object-string", '"ping"', "envelope", "bad_message", None)
    bad("not-an-object-number", "42", "envelope", "bad_message", None)
    bad("not-an-object-null", "null", "envelope", "bad_message", None)
    bad("missing-type", '{"id":"a"}', "envelope", "bad_message", "a", note="the id is valid, so the error is a reply")
    bad("missing-type-integer-id", '{"id":7}', "envelope", "bad_message", "7")
    bad("type-not-string", '{"type":1,"id":"q"}', "envelope", "bad_message", "q")
    bad("type-empty", '{"type":"","id":"q"}', "envelope", "bad_message", "q")
    bad(
        "missing-type-and-bad-id",
        text({"id": "x" * 129}),
        "envelope",
        "bad_message",
        None,
        note="an invalid id is never echoed",
    )
    bad("empty-object", "{}", "envelope", "bad_message", None, note="no type and no id: bad_message as an error message")
    bad(
        "type-empty-and-id-empty",
        '{"type":"","id":""}',
        "envelope",
        "bad_message",
        None,
        note="type is checked before id (PROTOCOL.md 3.4): bad_message, not invalid_params",
    )
    bad("type-null-and-id-true", '{"type":null,"id":true}', "envelope", "bad_message", None)
    bad(
        "type-number-integer-id",
        '{"type":3,"id":12}',
        "envelope",
        "bad_message",
        "12",
        note="the id is valid, so bad_message is a reply with the id as a string",
    )
    bad("missing-id", '{"type":"ping"}', "envelope", "invalid_params", None, "id")
    bad("id-empty", '{"type":"ping","id":""}', "envelope", "invalid_params", None, "id")
    bad("id-129-chars", text({"type": "ping", "id": "i" * 129}), "envelope", "invalid_params", None, "id")
    bad(
        "id-129-astral-chars",
        text({"type": "ping", "id": "\U0001F600" * 129}),
        "envelope",
        "invalid_params",
        None,
        "id",
        note="129 code points: too long, however they are encoded",
    )
    bad(
        "id-true",
        '{"type":"ping","id":true}',
        "envelope",
        "invalid_params",
        None,
        "id",
        note="booleans are not integers",
    )
    bad("id-float", '{"type":"ping","id":1.5}', "envelope", "invalid_params", None, "id")
    bad("id-null", '{"type":"ping","id":null}', "envelope", "invalid_params", None, "id")
    bad("id-object", '{"type":"ping","id":{"n":1}}', "envelope", "invalid_params", None, "id")
    bad(
        "too-large",
        '{"type":"ping","id":"1","pad":"xxxxxxxxxx"}',
        "envelope",
        "too_large",
        None,
        max_bytes=16,
        note="checked before parsing: even valid JSON is refused",
    )
    bad(
        "too-large-counts-utf8-bytes",
        '{"type":"ping","id":"éé"}',
        "envelope",
        "too_large",
        None,
        max_bytes=25,
        note="25 characters but 27 UTF-8 bytes",
    )
    bad("too-large-not-json", "x" * 17, "envelope", "too_large", None, max_bytes=16, note="size is checked before JSON")

    # Schema errors: the envelope is fine, the request is not (validate_request).
    bad("unknown-type", '{"type":"teleport","id":"x"}', "schema", "unknown_type", "x")
    bad("missing-required-field", '{"type":"join","id":"j"}', "schema", "invalid_params", "j", "room_url")
    bad("wrong-type", '{"type":"join","id":"j","room_url":5}', "schema", "invalid_params", "j", "room_url")
    bad("empty-string", '{"type":"join","id":"j","room_url":""}', "schema", "invalid_params", "j", "room_url")
    bad("unknown-field", '{"type":"ping","id":"p","extra":1}', "schema", "invalid_params", "p", "extra")
    bad(
        "unknown-nested-field",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":{"rate":16000}}',
        "schema",
        "invalid_params",
        "j",
        "audio_in.rate",
    )
    bad(
        "nested-not-object",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":"loud"}',
        "schema",
        "invalid_params",
        "j",
        "audio_in",
    )
    bad(
        "sample-rate-7999",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":{"sample_rate":7999}}',
        "schema",
        "unsupported_format",
        "j",
        "audio_in.sample_rate",
    )
    bad(
        "sample-rate-48001",
        '{"type":"join","id":"j","room_url":"local://a","audio_out":{"sample_rate":48001}}',
        "schema",
        "unsupported_format",
        "j",
        "audio_out.sample_rate",
    )
    bad(
        "channels-3",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":{"channels":3}}',
        "schema",
        "unsupported_format",
        "j",
        "audio_in.channels",
    )
    bad(
        "channels-string",
        '{"type":"join","id":"j","room_url":"local://a","audio_out":{"channels":"1"}}',
        "schema",
        "invalid_params",
        "j",
        "audio_out.channels",
        note="a format field of the wrong JSON type is invalid_params, not unsupported_format",
    )
    bad(
        "frame-ms-5",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":{"frame_ms":5}}',
        "schema",
        "unsupported_format",
        "j",
        "audio_in.frame_ms",
    )
    bad(
        "frame-ms-fraction",
        '{"type":"join","id":"j","room_url":"local://a","audio_in":{"frame_ms":20.5}}',
        "schema",
        "invalid_params",
        "j",
        "audio_in.frame_ms",
    )
    bad(
        "vad-aggressiveness-4",
        '{"type":"join","id":"j","room_url":"local://a","vad":{"aggressiveness":4}}',
        "schema",
        "invalid_params",
        "j",
        "vad.aggressiveness",
        note="range errors of other fields are invalid_params",
    )
    bad(
        "user-name-129",
        text({"type": "join", "id": "j", "room_url": "local://a", "user_name": "u" * 129}),
        "schema",
        "invalid_params",
        "j",
        "user_name",
    )
    bad(
        "user-name-129-astral-chars",
        text({"type": "join", "id": "j", "room_url": "local://a", "user_name": "\U0001F600" * 129}),
        "schema",
        "invalid_params",
        "j",
        "user_name",
        note="maxLength counts code points",
    )
    bad(
        "app-message-missing-message",
        '{"type":"send-app-message","id":"m"}',
        "schema",
        "invalid_params",
        "m",
        "message",
    )
    bad(
        "app-message-null",
        '{"type":"send-app-message","id":"m","message":null}',
        "schema",
        "invalid_params",
        "m",
        "message",
    )
    bad(
        "app-message-urgent-string",
        '{"type":"send-app-message","id":"m","message":1,"urgent":"yes"}',
        "schema",
        "invalid_params",
        "m",
        "urgent",
    )
    bad(
        "color-format-unknown",
        '{"type":"capture-participant-video","id":"v","participant_id":"p","color_format":"YUY2"}',
        "schema",
        "unsupported_format",
        "v",
        "color_format",
    )
    bad("mark-name-empty", '{"type":"mark-audio","id":"k","name":""}', "schema", "invalid_params", "k", "name")
    return out


HELLO = {
    "type": "hello",
    "seq": 1,
    "protocol": "daily-gateway.v1",
    "version": 1,
    "session_id": "5d0b7b1e-8a0c-4a43-9d5e-0c2f5e9a1b11",
    "resume_token": "5d0b7b1e-8a0c-4a43-9d5e-0c2f5e9a1b11.x3KOQ0yWbh2VvRkqLhHq6u1x2R2bqJpV4Vt7s3fJ0ZA",
    "server": {"name": "daily-ws-gateway", "version": "0.1.0"},
    "limits": {
        "max_message_bytes": 262144,
        "max_frame_bytes": 8388608,
        "max_app_message_bytes": 4096,
        "max_consecutive_errors": 50,
        "max_requests_per_second": 100,
        "max_playout_buffer_ms": 120000,
        "idle_timeout_ms": 60000,
        "ping_interval_ms": 20000,
        "max_sessions_per_key": 100,
        "max_rooms": 1000,
        "resume_grace_ms": 30000,
        "replay_buffer_events": 1024,
        "replay_buffer_bytes": 1048576,
        "max_pending_events": 256,
    },
    "capabilities": {
        "backends": ["local"],
        "requests": ["join", "leave", "ping"],
        "events": ["joined", "left"],
        "audio": {
            "encodings": ["pcm16"],
            "sample_rate": {"min": 8000, "max": 48000},
            "channels": [1, 2],
            "frame_ms": {"min": 10, "max": 100},
        },
    },
}


def server_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def ok(
        name: str,
        msg: Any,
        expect: dict[str, Any],
        *,
        schema_valid: bool = True,
        note: str = "",
        raw: str | None = None,
    ) -> None:
        out.append(
            {
                "name": name,
                **({"note": note} if note else {}),
                "text": raw if raw is not None else text(msg),
                "expect": expect,
                "schema_valid": schema_valid,
            }
        )

    def bad(name: str, raw: str, code: str, note: str = "") -> None:
        out.append({"name": name, **({"note": note} if note else {}), "text": raw, "error": {"code": code}})

    fields = {k: v for k, v in HELLO.items() if k != "type"}
    ok("hello", HELLO, {"kind": "hello", **fields, "extra": {}})
    ok(
        "hello-unknown-field",
        {**HELLO, "future_field": "r"},
        {"kind": "hello", **fields, "extra": {"future_field": "r"}},
        note="fields a client does not know are kept (forward compatibility), never an error",
    )
    no_token = {k: v for k, v in HELLO.items() if k != "resume_token"}
    ok(
        "hello-without-resume-token",
        no_token,
        {"kind": "hello", **fields, "resume_token": "", "extra": {}},
        schema_valid=False,
        note="resume_token is required (section 4); a decoder still reads the rest, with an empty token",
    )
    ok(
        "reply-ok",
        {"type": "reply", "seq": 2, "id": "1", "ok": True, "result": {"time_ms": 1700000000000}},
        {"kind": "reply", "seq": 2, "id": "1", "ok": True, "result": {"time_ms": 1700000000000}},
    )
    ok(
        "reply-ok-empty-result",
        {"type": "reply", "seq": 3, "id": "l", "ok": True, "result": {}},
        {"kind": "reply", "seq": 3, "id": "l", "ok": True, "result": {}},
    )
    err = {
        "code": "unsupported_format",
        "message": "join: audio_in.sample_rate: 7999 is less than the minimum of 8000",
        "details": {"field": "audio_in.sample_rate"},
    }
    ok(
        "reply-error",
        {"type": "reply", "seq": 4, "id": "j", "ok": False, "error": err},
        {"kind": "reply", "seq": 4, "id": "j", "ok": False, "error": err},
    )
    ok(
        "event",
        {"type": "event", "seq": 5, "event": "app-message", "data": {"message": {"hi": 1}, "sender": "p-1"}},
        {"kind": "event", "seq": 5, "event": "app-message", "data": {"message": {"hi": 1}, "sender": "p-1"}},
    )
    ok(
        "event-speech-started",
        {
            "type": "event",
            "seq": 6,
            "event": "speech-started",
            "data": {"participant_id": "p-1", "track": 16, "offset_ms": 250},
        },
        {
            "kind": "event",
            "seq": 6,
            "event": "speech-started",
            "data": {"participant_id": "p-1", "track": 16, "offset_ms": 250},
        },
    )
    turn = {"kind": "response", "participant_id": "p-2", "previous_participant_id": "p-1", "at": 1795504130.412, "gap_ms": 810}
    ok(
        "event-turn",
        {"type": "event", "seq": 7, "event": "turn", "data": turn},
        {"kind": "event", "seq": 7, "event": "turn", "data": turn},
    )
    ok(
        "event-unknown-name",
        {"type": "event", "seq": 7, "event": "from-the-future", "data": {"x": 1}},
        {"kind": "event", "seq": 7, "event": "from-the-future", "data": {"x": 1}},
        schema_valid=False,
        note="decodes: a client ignores events it does not know",
    )
    ok(
        "event-large-seq",
        {"type": "event", "seq": 9007199254740991, "event": "left", "data": {"reason": "left"}},
        {"kind": "event", "seq": 9007199254740991, "event": "left", "data": {"reason": "left"}},
        note="seq never wraps; 2**53 - 1 is the largest a JSON number carries exactly",
    )
    ok(
        "reply-unknown-fields",
        {"type": "reply", "seq": 10, "id": "f", "ok": True, "result": {"time_ms": 1, "later": True}, "trace": "t-1"},
        {"kind": "reply", "seq": 10, "id": "f", "ok": True, "result": {"time_ms": 1, "later": True}},
        note="a field a later gateway adds, in the envelope or the result: valid, and ignored",
    )
    ok(
        "event-unknown-envelope-field",
        {"type": "event", "seq": 11, "event": "left", "data": {"reason": "left"}, "room": "local://x"},
        {"kind": "event", "seq": 11, "event": "left", "data": {"reason": "left"}},
        note="clients MUST ignore unknown fields (section 1.2), so the schema accepts them",
    )
    future_err = {"code": "quota_exceeded", "message": "a later code", "retry_after_ms": 500}
    ok(
        "reply-error-unknown-code-and-field",
        {"type": "reply", "seq": 12, "id": "q", "ok": False, "error": future_err},
        {"kind": "reply", "seq": 12, "id": "q", "ok": False, "error": future_err},
        note="an unknown error code is a generic failure, not a broken frame; unknown error fields are kept",
    )
    ok(
        "error-unknown-envelope-field",
        {"type": "error", "seq": 13, "error": {"code": "bad_json", "message": "x"}, "hint": "y"},
        {"kind": "error", "seq": 13, "error": {"code": "bad_json", "message": "x"}},
    )
    frame_err = {"code": "bad_frame", "message": "binary frame of 3 bytes is shorter than the 28-byte header"}
    ok("error", {"type": "error", "seq": 8, "error": frame_err}, {"kind": "error", "seq": 8, "error": frame_err})
    full_err = {
        "code": "buffer_full",
        "message": "playout buffer is full",
        "details": {"buffered_ms": 120000.0, "max_buffer_ms": 120000, "track": 1, "seq": 99},
        "fatal": False,
    }
    ok("error-details", {"type": "error", "seq": 9, "error": full_err}, {"kind": "error", "seq": 9, "error": full_err})

    bad("no-seq", '{"type":"event","event":"left","data":{}}', "bad_message")
    bad("seq-string", '{"type":"event","seq":"5","event":"left","data":{}}', "bad_message")
    bad("seq-true", '{"type":"event","seq":true,"event":"left","data":{}}', "bad_message")
    bad("seq-fraction", '{"type":"event","seq":1.5,"event":"left","data":{}}', "bad_message")
    bad(
        "unknown-type",
        '{"type":"pong","seq":3}',
        "bad_message",
        note="a message type this version does not know: log it and go on",
    )
    bad("no-type", '{"seq":3,"ok":true}', "bad_message")
    bad("reply-without-ok", '{"type":"reply","seq":3,"id":"1","result":{}}', "bad_message")
    bad("event-without-name", '{"type":"event","seq":3,"data":{}}', "bad_message")
    bad("error-without-object", '{"type":"error","seq":3,"error":"oops"}', "bad_message")
    bad("not-json", "{seq:1}", "bad_json")
    bad("not-an-object", "[1]", "bad_message")
    return out


def main() -> None:
    binary = binary_vectors()
    json_vectors = {
        "version": 1,
        "description": "daily-gateway.v1 JSON text frames; see README.md and PROTOCOL.md sections 3 and 5.",
        "requests": request_vectors(),
        "server_messages": server_vectors(),
    }
    for name, doc in (("binary.json", binary), ("json.json", json_vectors)):
        (HERE / name).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
