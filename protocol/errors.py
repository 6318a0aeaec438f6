"""Typed protocol errors, one stable code each.

Every error a client can see carries a ``code`` from :class:`ErrorCode`; the codes
are documented once in ``PROTOCOL.md`` ("Error codes") and mirrored by every client.

Exception tree::

    ProtocolError                 base: code, message, details, request_id, fatal
    ├── DecodeError               the bytes could not be read as a message
    │   ├── MalformedJSON         (bad_json)
    │   ├── NotAnObject           (bad_message)
    │   └── BadFrame              (bad_frame, bad_payload, unknown_kind)
    ├── UnknownType               (unknown_type)
    ├── InvalidParams             (invalid_params)
    ├── UnsupportedFormat         (unsupported_format)
    ├── TooLarge                  (too_large)
    └── CommandError              any other code raised while running a request
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """Stable error codes. Values are the wire strings; never rename one."""

    BAD_JSON = "bad_json"
    """A text frame was not valid UTF-8 JSON."""
    BAD_MESSAGE = "bad_message"
    """The JSON was valid but not an object with a string ``type``."""
    UNKNOWN_TYPE = "unknown_type"
    """The ``type`` names no request of this protocol version."""
    INVALID_PARAMS = "invalid_params"
    """A field is missing, has the wrong type, or an out-of-range value."""
    UNSUPPORTED_FORMAT = "unsupported_format"
    """An audio or video format (sample rate, channels, frame duration, color format) is not supported."""
    TOO_LARGE = "too_large"
    """A message, frame or app message is bigger than the advertised limit."""
    BAD_FRAME = "bad_frame"
    """A binary frame is shorter than the header or has a wrong version."""
    BAD_PAYLOAD = "bad_payload"
    """A binary frame's payload does not match its header (length, odd PCM16 byte count)."""
    UNKNOWN_KIND = "unknown_kind"
    """A binary frame names a media kind this version does not know."""
    UNKNOWN_TRACK = "unknown_track"
    """A binary frame names a track that is not open for sending."""
    FORMAT_MISMATCH = "format_mismatch"
    """A binary frame's format fields differ from the format negotiated at join."""
    NOT_JOINED = "not_joined"
    """The request needs a room and the session has not joined one (or has left)."""
    ALREADY_JOINED = "already_joined"
    """``join`` on a session that is already in (or joining) a room."""
    WRONG_STATE = "wrong_state"
    """The request is not valid in the session's current state (e.g. join after leave; a second join while joining is ``already_joined``)."""
    UNKNOWN_BACKEND = "unknown_backend"
    """The room URL's scheme or the ``backend`` field names no enabled backend."""
    BAD_ROOM_URL = "bad_room_url"
    """The room URL cannot be parsed for its backend."""
    NOT_FOUND = "not_found"
    """A participant, room, track or recording named in the request does not exist."""
    NOT_ALLOWED = "not_allowed"
    """The session's role or the participant's permissions forbid the request."""
    NOT_SUPPORTED = "not_supported"
    """The backend does not implement this request."""
    UNAUTHORIZED = "unauthorized"
    """Missing, invalid, expired or out-of-scope credentials."""
    RATE_LIMITED = "rate_limited"
    """Too many requests or frames per second."""
    LIMIT_REACHED = "limit_reached"
    """A gateway capacity limit is reached (``limits.max_rooms``); try later or elsewhere."""
    RESUME_FAILED = "resume_failed"
    """A ``resume`` cannot continue the session (``details.reason``); the connection is a fresh session: join again."""
    UNAVAILABLE = "unavailable"
    """A cluster node cannot place the room or session now (its directory unreachable or settling, every node
    draining or full); nothing was changed: try again after a delay."""
    BUFFER_FULL = "buffer_full"
    """Published audio would exceed the maximum playout buffer; the frame was refused, not dropped silently."""
    TIMEOUT = "timeout"
    """The backend did not complete the request in time."""
    BACKEND_ERROR = "backend_error"
    """The room backend (Daily or local) reported an error; ``details`` carries its text."""
    INTERNAL = "internal"
    """A bug in the gateway. The session goes on; please report it."""


class ProtocolError(Exception):
    """Base of every error that reaches a client as an ``error`` object.

    Args:
        message: human-readable text (never contains secrets).
        code: overrides the class default code.
        details: optional structured context (e.g. ``{"field": "audio_in.sample_rate"}``).
        request_id: the id of the request that caused it, when known.
        fatal: True when the session cannot go on and will be closed.
    """

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id
        self.fatal = fatal

    def to_dict(self) -> dict[str, Any]:
        """The wire form of the error object (see PROTOCOL.md, "Errors")."""
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            out["details"] = self.details
        if self.fatal:
            out["fatal"] = True
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"


class DecodeError(ProtocolError):
    """The bytes could not be read as a protocol message."""


class MalformedJSON(DecodeError):
    code = ErrorCode.BAD_JSON


class NotAnObject(DecodeError):
    code = ErrorCode.BAD_MESSAGE


class BadFrame(DecodeError):
    code = ErrorCode.BAD_FRAME


class UnknownType(ProtocolError):
    code = ErrorCode.UNKNOWN_TYPE


class InvalidParams(ProtocolError):
    code = ErrorCode.INVALID_PARAMS


class UnsupportedFormat(ProtocolError):
    code = ErrorCode.UNSUPPORTED_FORMAT


class TooLarge(ProtocolError):
    code = ErrorCode.TOO_LARGE


class CommandError(ProtocolError):
    """Raised by request handlers; pass the code explicitly."""

    def __init__(self, code: ErrorCode, message: str, **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)
