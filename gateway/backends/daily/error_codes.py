"""daily-python's error strings as typed protocol errors (PROTOCOL.md, section 10.2).

daily-python reports a failed request as a string handed to its completion (for example
``Recording(CallState(NotInACall))`` or ``JsonApiError { message: "... UUID parsing failed ..." }``).
Clients get a stable ``code`` instead, with Daily's text kept in ``details.daily_error`` so that
nothing is lost. Pure functions: tested with the strings the real SDK was observed to produce
(tests/fakes/daily.py).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from protocol.errors import CommandError, ErrorCode

# Checked in order; the first pattern found in the error text decides the code.
_RULES: tuple[tuple[re.Pattern[str], ErrorCode], ...] = (
    (re.compile(r"already been released", re.I), ErrorCode.NOT_JOINED),
    (re.compile(r"NotInACall|ChannelNotOpen|CallState\(", re.I), ErrorCode.WRONG_STATE),
    (re.compile(r"Failed to parse url|InvalidUrl|RelativeUrlWithoutBase", re.I), ErrorCode.BAD_ROOM_URL),
    (
        re.compile(
            r"UUID parsing failed|not a valid participant|Failed to parse participant|participant .*not found"
            r"|no such participant|unknown participant|NotFound",
            re.I,
        ),
        ErrorCode.NOT_FOUND,
    ),
    # daily-python's own argument checks (observed offline: tests/fakes/daily_checks.py). Before
    # NOT_ALLOWED: "Failed to deserialize permissions update JSON" is a shape error, not a refusal.
    (
        re.compile(
            r"settings (?:were|are) not valid|subscription overrides were not valid|Failed to deserialize"
            r"|UnknownProfiles|missing field|invalid type:|invalid value:",
            re.I,
        ),
        ErrorCode.INVALID_PARAMS,
    ),
    (
        re.compile(
            r"permission|not allowed|forbidden|unauthori[sz]ed|not an owner|owner only|must be an owner"
            r"|insufficient|\b403\b|\b401\b",
            re.I,
        ),
        ErrorCode.NOT_ALLOWED,
    ),
)


def command_error(method: str, error: Any) -> CommandError:
    """The typed error for daily-python's failure ``error`` of ``method`` (a CallClient method name)."""
    text = str(error)
    code = ErrorCode.BACKEND_ERROR
    for pattern, candidate in _RULES:
        if pattern.search(text):
            code = candidate
            break
    return CommandError(code, f"Daily {method} failed: {text}", details={"method": method, "daily_error": text})


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a UUID: the only participant ids Daily has (anything else may abort the SDK)."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def unknown_participant(participant_id: Any, field: str = "participant_id") -> CommandError:
    """``not_found`` for a participant id that is not in the room (or is not a Daily id at all)."""
    return CommandError(
        ErrorCode.NOT_FOUND,
        f"no participant {participant_id!r} in this room",
        details={"field": field, "participant_id": participant_id},
    )


__all__ = ["command_error", "is_uuid", "unknown_participant"]
