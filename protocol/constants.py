"""Protocol constants: version, subprotocol, close codes, limits, enumerations.

Each value here is documented in ``PROTOCOL.md``; change both together.
"""

from __future__ import annotations

import enum

PROTOCOL_VERSION = 1
"""The wire version. Breaking changes bump it and the subprotocol name."""

SUBPROTOCOL = f"daily-gateway.v{PROTOCOL_VERSION}"
"""WebSocket subprotocol the client must offer (``Sec-WebSocket-Protocol``)."""

WS_PATH = "/v1"
"""Path of the WebSocket endpoint (``/`` is accepted too)."""


class CloseCode(enum.IntEnum):
    """WebSocket close codes the gateway sends (RFC 6455 reserves 4000-4999 for applications)."""

    NORMAL = 1000
    """The client asked to close, or left and closed."""
    GOING_AWAY = 1001
    """The gateway is shutting down; the room session was left."""
    PROTOCOL_ERROR = 1002
    """A framing violation (unmasked or reserved-bit frame, bad opcode or continuation), closed by the WebSocket layer."""
    INVALID_DATA = 1007
    """A text frame was not valid UTF-8 (closed by the WebSocket layer, RFC 6455 section 8.1); nothing is answered."""
    MESSAGE_TOO_BIG = 1009
    """A frame over the hard size limit (``limits.max_frame_bytes`` x 4), or more held from one connection than its
    receive budget (a fragmented message); cannot be read, so cannot be answered."""
    INTERNAL_ERROR = 1011
    """Unexpected server failure; reconnect."""
    SERVICE_RESTART = 1012
    """A cluster node is draining or being recycled: resume now, on any node (PROTOCOL.md, "Clusters: many gateway nodes")."""
    TRY_AGAIN_LATER = 1013
    """The gateway-wide receive budget is spent (many large frames arriving at once): this connection's frame was not read."""
    BAD_SUBPROTOCOL = 4000
    """The client offered no supported subprotocol (version mismatch)."""
    UNAUTHORIZED = 4001
    """Authentication failed or was missing where required."""
    PROTOCOL_VIOLATION = 4002
    """Too many consecutive protocol errors (``limits.max_consecutive_errors``); the client is broken."""
    FORBIDDEN_ORIGIN = 4003
    """The browser ``Origin`` is not on the allow-list."""
    SESSION_EXPIRED = 4008
    """The session's credentials expired."""
    IDLE_TIMEOUT = 4009
    """No message and no pong for ``limits.idle_timeout_ms``."""
    SLOW_CONSUMER = 4010
    """The client did not read its events fast enough; it may resume."""
    REPLACED = 4011
    """The session was resumed on another connection."""
    ROOM_CLOSED = 4012
    """The room session ended on the backend (ejected, room deleted) and the client did not leave itself."""
    RATE_LIMITED = 4029
    """A connection over ``limits.max_sessions_per_key`` for its key (refused at the handshake)."""
    REDIRECT = 4307
    """A cluster node sends a client that opted in (``?redirect=1``) to the node hosting its room or session; the
    reason is ``redirect <url>`` (PROTOCOL.md, "Clusters: many gateway nodes")."""


class MediaKind(enum.IntEnum):
    """``kind`` byte of the binary frame header."""

    AUDIO = 1
    VIDEO = 2


class AudioEncoding(enum.IntEnum):
    """``encoding`` byte of an audio frame header."""

    PCM16 = 1
    """Signed 16-bit little-endian PCM, interleaved channels."""


class ColorFormat(enum.IntEnum):
    """``format`` byte of a video frame header. Names follow Daily's color formats."""

    RGB = 1
    RGBA = 2
    BGRA = 3
    ARGB = 4
    ABGR = 5
    BGR = 6
    I420 = 7


class Source(enum.StrEnum):
    """Where a track comes from in the room (Daily's track names)."""

    MICROPHONE = "microphone"
    CAMERA = "camera"
    SCREEN_VIDEO = "screenVideo"
    SCREEN_AUDIO = "screenAudio"


class OutboundTrack(enum.IntEnum):
    """Fixed track ids a client uses for the media it publishes (client -> gateway frames)."""

    MICROPHONE = 1
    CAMERA = 2
    SCREEN_VIDEO = 3
    SCREEN_AUDIO = 4


OUTBOUND_TRACK_SOURCE = {
    OutboundTrack.MICROPHONE: Source.MICROPHONE,
    OutboundTrack.CAMERA: Source.CAMERA,
    OutboundTrack.SCREEN_VIDEO: Source.SCREEN_VIDEO,
    OutboundTrack.SCREEN_AUDIO: Source.SCREEN_AUDIO,
}

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a request (the request object is level 1), advertised as
``hello.limits.max_json_depth``. Far below the JSON encoder's own limit (254) so that whatever the
gateway accepts it can send again, wrapped in events and replies."""

MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 48000
CHANNELS = (1, 2)
MIN_FRAME_MS = 10
MAX_FRAME_MS = 100

DEFAULT_LIMITS = {
    "max_message_bytes": 256 * 1024,
    "max_frame_bytes": 4 * 1024 * 1024,
    "max_app_message_bytes": 4096,
    "max_consecutive_errors": 50,
    "max_requests_per_second": 100,
    "max_playout_buffer_ms": 120_000,
    "idle_timeout_ms": 60_000,
    "ping_interval_ms": 20_000,
    "max_sessions_per_key": 100,
    "max_rooms": 1000,
    "resume_grace_ms": 30_000,
    "replay_buffer_events": 1024,
    "replay_buffer_bytes": 1024 * 1024,
    "max_pending_events": 256,
}
"""Defaults advertised in ``hello.limits``; the gateway's config may change them."""
