"""daily-gateway protocol v1, sans-I/O: message types, JSON and binary codecs, validation.

Shared by the gateway and the Python client. No sockets here: bytes in, objects out.
The spec is ``PROTOCOL.md`` beside this file; the schemas are in ``schema/`` and the
test vectors every codec must pass are in ``vectors/``.
"""

# The gateway's compiled build of protocol.media (its hot path, gateway.compiled) lives outside the
# sources in a checkout (build/hotpath); its import hook must be in place before protocol.media loads,
# whichever package is imported first. Without the gateway (a copy of protocol alone) nothing changes.
try:
    import gateway.compiled  # noqa: F401
except ImportError:
    pass

from .constants import (
    PROTOCOL_VERSION,
    SUBPROTOCOL,
    WS_PATH,
    AudioEncoding,
    CloseCode,
    ColorFormat,
    MediaKind,
    OutboundTrack,
    Source,
)
from .errors import (
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
from .media import HEADER_SIZE, AudioFrame, VideoFrame, decode_frame, encode_audio, encode_video
from .messages import (
    ErrorMessage,
    Event,
    Hello,
    Reply,
    Request,
    ServerMessage,
    decode_request,
    decode_server_message,
    encode_request,
)
from .schema import event_names, request_types, validate_request

__all__ = [
    "PROTOCOL_VERSION",
    "SUBPROTOCOL",
    "WS_PATH",
    "HEADER_SIZE",
    "AudioEncoding",
    "AudioFrame",
    "BadFrame",
    "CloseCode",
    "ColorFormat",
    "CommandError",
    "DecodeError",
    "ErrorCode",
    "ErrorMessage",
    "Event",
    "Hello",
    "InvalidParams",
    "MalformedJSON",
    "MediaKind",
    "NotAnObject",
    "OutboundTrack",
    "ProtocolError",
    "Reply",
    "Request",
    "ServerMessage",
    "Source",
    "TooLarge",
    "UnknownType",
    "UnsupportedFormat",
    "VideoFrame",
    "decode_frame",
    "decode_request",
    "decode_server_message",
    "encode_audio",
    "encode_request",
    "encode_video",
    "event_names",
    "request_types",
    "validate_request",
]
