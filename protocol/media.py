"""Binary media frames: a fixed 28-byte little-endian header, then raw payload.

Layout (PROTOCOL.md, "Binary media frames")::

    offset size  audio                     video
    0      u8    version (=1)              version (=1)
    1      u8    kind (1 = audio)          kind (2 = video)
    2      u16   track                     track
    4      u32   seq                       seq
    8      u64   timestamp_us              timestamp_us
    16     u32   payload_len               payload_len
    20     u32   sample_rate               u16 width, u16 height
    24     u8    channels                  color format
    25     u8    encoding (1 = PCM16)      0
    26     u16   flags (0)                 flags (0)
    28     ...   PCM16 LE interleaved      pixels

No JSON and no base64 per frame: a 20 ms mono 16 kHz frame is 28 + 640 bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .constants import (
    CHANNELS,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    AudioEncoding,
    ColorFormat,
    MediaKind,
)
from .errors import BadFrame, ErrorCode, UnsupportedFormat

FRAME_VERSION = 1
HEADER_SIZE = 28

_AUDIO = struct.Struct("<BBHIQIIBBH")
_VIDEO = struct.Struct("<BBHIQIHHBBH")
_POSITION = struct.Struct("<HI")
"""``track`` (bytes 2-3) and ``seq`` (bytes 4-7): the same in every version-1 header, whatever its kind."""
assert _AUDIO.size == _VIDEO.size == HEADER_SIZE


@dataclass(slots=True)
class AudioFrame:
    """One chunk of PCM16 audio on a track."""

    track: int
    seq: int
    timestamp_us: int
    sample_rate: int
    channels: int
    payload: bytes | memoryview
    flags: int = 0

    @property
    def samples_per_channel(self) -> int:
        return len(self.payload) // (2 * self.channels)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * self.samples_per_channel / self.sample_rate

    def __bytes__(self) -> bytes:
        return encode_audio(
            self.track, self.seq, self.timestamp_us, self.sample_rate, self.channels, self.payload, self.flags
        )


@dataclass(slots=True)
class VideoFrame:
    """One raw video frame on a track."""

    track: int
    seq: int
    timestamp_us: int
    width: int
    height: int
    color_format: ColorFormat
    payload: bytes | memoryview
    flags: int = 0

    def __bytes__(self) -> bytes:
        return encode_video(
            self.track,
            self.seq,
            self.timestamp_us,
            self.width,
            self.height,
            self.color_format,
            self.payload,
            self.flags,
        )


def video_frame_size(width: int, height: int, color_format: ColorFormat) -> int:
    """Bytes of one frame; I420 needs even dimensions (4:2:0 chroma)."""
    if color_format is ColorFormat.I420:
        return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    if color_format in (ColorFormat.RGB, ColorFormat.BGR):
        return width * height * 3
    return width * height * 4


def encode_audio(
    track: int,
    seq: int,
    timestamp_us: int,
    sample_rate: int,
    channels: int,
    payload: bytes | bytearray | memoryview,
    flags: int = 0,
) -> bytes:
    """Serialize an audio frame. Sequence numbers wrap at 2**32."""
    header = _AUDIO.pack(
        FRAME_VERSION,
        MediaKind.AUDIO,
        track,
        seq & 0xFFFFFFFF,
        timestamp_us,
        len(payload),
        sample_rate,
        channels,
        AudioEncoding.PCM16,
        flags,
    )
    return header + payload


def encode_video(
    track: int,
    seq: int,
    timestamp_us: int,
    width: int,
    height: int,
    color_format: ColorFormat | int,
    payload: bytes | bytearray | memoryview,
    flags: int = 0,
) -> bytes:
    """Serialize a video frame."""
    header = _VIDEO.pack(
        FRAME_VERSION,
        MediaKind.VIDEO,
        track,
        seq & 0xFFFFFFFF,
        timestamp_us,
        len(payload),
        width,
        height,
        int(color_format),
        0,
        flags,
    )
    return header + payload


def decode_frame(data: bytes | bytearray | memoryview) -> AudioFrame | VideoFrame:
    """Parse a binary frame. The payload is a zero-copy memoryview of ``data``.

    Raises:
        BadFrame: shorter than the header or wrong version (``bad_frame``), unknown
            kind (``unknown_kind``), payload length or alignment wrong (``bad_payload``).
        UnsupportedFormat: sample rate, channels, encoding or color format not supported.

    Every error but that of a frame shorter than the header carries ``details.track`` and
    ``details.seq`` (:func:`frame_position`).
    """
    view = memoryview(data)
    if len(view) < HEADER_SIZE:
        raise BadFrame(f"binary frame of {len(view)} bytes is shorter than the {HEADER_SIZE}-byte header")
    version, kind = view[0], view[1]
    if version != FRAME_VERSION:
        raise BadFrame(
            f"binary frame version {version} is not supported (expected {FRAME_VERSION})", details=frame_position(view)
        )
    payload = view[HEADER_SIZE:]
    if kind == MediaKind.AUDIO:
        _, _, track, seq, ts, length, rate, channels, encoding, flags = _AUDIO.unpack_from(view)
        _check_length(length, len(payload), track, seq)
        if encoding != AudioEncoding.PCM16:
            raise UnsupportedFormat(f"audio encoding {encoding} is not supported (1 = PCM16)", details=_where(track, seq))
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise UnsupportedFormat(
                f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE}", details=_where(track, seq)
            )
        if channels not in CHANNELS:
            raise UnsupportedFormat(f"{channels} channels is not supported (1 or 2)", details=_where(track, seq))
        if length % (2 * channels):
            raise BadFrame(
                f"PCM16 payload of {length} bytes is not a whole number of {channels}-channel samples",
                code=ErrorCode.BAD_PAYLOAD,
                details=_where(track, seq),
            )
        return AudioFrame(track, seq, ts, rate, channels, payload, flags)
    if kind == MediaKind.VIDEO:
        _, _, track, seq, ts, length, width, height, fmt, _, flags = _VIDEO.unpack_from(view)
        _check_length(length, len(payload), track, seq)
        try:
            color = ColorFormat(fmt)
        except ValueError:
            raise UnsupportedFormat(f"color format {fmt} is not supported", details=_where(track, seq)) from None
        if width == 0 or height == 0:
            raise BadFrame("video frame has zero width or height", code=ErrorCode.BAD_PAYLOAD, details=_where(track, seq))
        if color is ColorFormat.I420 and (width % 2 or height % 2):
            raise UnsupportedFormat("I420 frames need even width and height", details=_where(track, seq))
        expected = video_frame_size(width, height, color)
        if length != expected:
            raise BadFrame(
                f"{color.name} {width}x{height} needs {expected} payload bytes, got {length}",
                code=ErrorCode.BAD_PAYLOAD,
                details=_where(track, seq),
            )
        return VideoFrame(track, seq, ts, width, height, color, payload, flags)
    raise BadFrame(
        f"media kind {kind} is not known (1 = audio, 2 = video)",
        code=ErrorCode.UNKNOWN_KIND,
        details=frame_position(view),
    )


def frame_position(data: bytes | bytearray | memoryview) -> dict[str, int]:
    """``{"track", "seq"}`` of a binary frame for its error's ``details``; empty if shorter than the header.

    Every error about a frame of at least :data:`HEADER_SIZE` bytes quotes them, read from bytes
    2-7 whatever the frame's version, kind or size (PROTOCOL.md, "Bad input").
    """
    if len(data) < HEADER_SIZE:
        return {}
    track, seq = _POSITION.unpack_from(data, 2)
    return {"track": track, "seq": seq}


def _check_length(declared: int, actual: int, track: int, seq: int) -> None:
    if declared != actual:
        raise BadFrame(
            f"header says {declared} payload bytes but the frame carries {actual}",
            code=ErrorCode.BAD_PAYLOAD,
            details=_where(track, seq),
        )


def _where(track: int, seq: int) -> dict[str, int]:
    return {"track": track, "seq": seq}
