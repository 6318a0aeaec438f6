"""What daily-python 0.36 refuses before a request reaches Daily's servers: the fake's argument checks.

The real SDK validates most request arguments itself, offline, and answers a refusal at once (ahead
of a pending join) through the completion, followed by ``on_error("Error handling <request>: ...")``.
Each function here takes a request's arguments and returns the real SDK's error string for them, or
None when the real SDK lets them through. The strings and the lenient spots (for example a
``participant_settings`` value that is not an object, which the real SDK accepts) were observed
offline on daily-python 0.36.0; ``tests/unit/test_daily_differential.py`` runs the same arguments
through the real SDK and the fake and fails on any row where they disagree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

STATES = ("subscribed", "unsubscribed", "staged")
"""Daily's track subscription states."""
QUALITIES = ("low", "medium", "high")
CODECS = ("VP8", "VP9", "H264", "H265")
MEDIA = ("camera", "microphone", "screenVideo", "screenAudio", "customVideo", "customAudio")
"""daily-python's media type names (``canSend``, ``canReceive``): not daily-js's ``audio``/``video``."""
ADMIN = ("participants", "streaming", "transcription")
SUBSCRIPTION_KEYS = ("profile", "media")


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _json_error(message: str) -> str:
    return f"JsonApiError {{ message: {json.dumps(message)} }}"


def _serde(what: str, detail: str) -> str:
    """A serde deserialization failure as the real SDK words it."""
    return _json_error(f"Failed to deserialize {what} JSON: Error({json.dumps(detail)}, line: 0, column: 0)")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"integer `{value}`"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _one_of(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _unknown_keys(value: Mapping[str, Any], allowed: tuple[str, ...]) -> str | None:
    unknown = [k for k in value if k not in allowed]
    if not unknown:
        return None
    return (
        f"Object contains unknown keys: {json.dumps(unknown, separators=(',', ':'))}. "
        f"Allowed keys: {json.dumps(list(allowed), separators=(', ', ':'))}"
    )


# ------------------------------------------------------------------------------ inputs, publishing


def input_settings(settings: Any) -> str | None:
    """``update_inputs``: ``isEnabled`` must be a boolean; a bare boolean is shorthand for it."""
    if not isinstance(settings, Mapping):
        return f"Input settings were not valid: {_json_error('Input settings is not an object')}"
    for value in settings.values():
        if isinstance(value, Mapping) and "isEnabled" in value and not isinstance(value["isEnabled"], bool):
            return f"Input settings were not valid: {_json_error('isEnabled is not a boolean')}"
    return None


def publishing_settings(settings: Any) -> str | None:
    """``update_publishing``: boolean ``isPublishing``; ``sendSettings`` an object with a known codec and quality."""
    prefix = "Publishing settings were not valid "
    if not isinstance(settings, Mapping):
        return prefix + _json_error("Publishing settings is not an object")
    for source, value in settings.items():
        if not isinstance(value, Mapping):
            continue  # a bare boolean is shorthand for isPublishing; unknown sources are ignored
        if "isPublishing" in value and not isinstance(value["isPublishing"], bool):
            return prefix + _json_error("Could not treat `isPublishing` field as a boolean")
        send = value.get("sendSettings")
        if send is None:
            continue
        if not isinstance(send, Mapping):
            kind = {"screenVideo": "DailyScreenVideoSendSettings", "microphone": "DailyMicrophoneSendSettings"}
            name = kind.get(source, "DailyVideoSendSettings")
            return prefix + _json_error(f"`sendSettings` is not a valid object: {name} is not an object")
        codec = send.get("preferredCodec")
        if codec is not None and codec not in CODECS:
            return prefix + _json_error(
                f"`sendSettings` is not a valid object: Invalid codec to force "
                f"{_json_error(f'{json.dumps(codec)} is not one of {_one_of(CODECS)}')}, not one of {_one_of(CODECS)}"
            )
        quality = send.get("maxQuality")
        if quality is not None and quality not in QUALITIES:
            return prefix + _json_error(
                "`sendSettings` is not a valid object: Invalid max quality "
                + _json_error(f"{json.dumps(quality)} is not one of {_one_of(QUALITIES)}")
            )
        bitrate = send.get("bitrate")
        if bitrate is not None and (isinstance(bitrate, bool) or not isinstance(bitrate, int | float)):
            return prefix + _json_error("`sendSettings` is not a valid object: `bitrate` is not a string")
    return None


# ---------------------------------------------------------------------------------- subscriptions

_MEDIA_SHAPE = "Subscription media settings is not an object or a track subscription state shorthand"


def _media_settings(media: Any) -> str | None:
    """A ``media`` value of update_subscriptions: a state shorthand, or source -> state or settings."""
    if isinstance(media, str):
        return None if media in STATES else _MEDIA_SHAPE
    if not isinstance(media, Mapping):
        return _MEDIA_SHAPE
    for value in media.values():
        state = value.get("subscriptionState") if isinstance(value, Mapping) else value
        if isinstance(state, str) and state not in STATES:
            return f"Invalid subscription state: {state}"
    return None


def subscriptions(participant_settings: Any, profile_settings: Any, profiles: Mapping[str, Any]) -> str | None:
    """``update_subscriptions``: ``{profile?, media?}`` per participant and per existing profile name."""
    for pid, value in (participant_settings or {}).items():
        if not is_uuid(pid):
            return (
                "Participant subscription settings were not valid JsonApiError "
                f'{{ message: "{pid} is not a valid participant ID" }}'
            )
        if not isinstance(value, Mapping):
            continue  # the real SDK lets a non-object through (and ignores it)
        problem = _unknown_keys(value, SUBSCRIPTION_KEYS)
        if problem is None and "media" in value:
            problem = _media_settings(value["media"])
        if problem is not None:
            return f"Participant subscription settings were not valid {_json_error(problem)}"
    for value in (profile_settings or {}).values():
        problem = _unknown_keys(value, SUBSCRIPTION_KEYS) if isinstance(value, Mapping) else _MEDIA_SHAPE
        if problem is None and "media" in value:
            problem = _media_settings(value["media"])
        if problem is not None:
            return f"Profile subscription overrides were not valid {_json_error(problem)}"
    unknown = [
        str(value["profile"])
        for value in (participant_settings or {}).values()
        if isinstance(value, Mapping) and "profile" in value and value["profile"] not in profiles
    ]
    if unknown:
        names = ", ".join(f"ProfileName({json.dumps(n)})" for n in unknown)
        return f"Subscription(Settings(UnknownProfilesInParticipantSettings([{names}])))"
    unknown = [str(n) for n in (profile_settings or {}) if n not in profiles]
    unknown += [
        str(v["profile"])
        for v in (profile_settings or {}).values()
        if isinstance(v, Mapping) and "profile" in v and v["profile"] not in profiles
    ]
    if unknown:
        names = ", ".join(f"ProfileName({json.dumps(n)})" for n in unknown)
        return f"Subscription(Settings(UnknownProfilesInProfileSettings([{names}])))"
    return None


def subscription_profiles(settings: Any) -> str | None:
    """``update_subscription_profiles``: lenient, but states and ``receiveSettings.maxQuality`` must be known."""
    prefix = "Profile subscription settings were not valid "
    for media in (settings or {}).values():
        if not isinstance(media, Mapping):
            continue
        for value in media.values():
            state = value.get("subscriptionState") if isinstance(value, Mapping) else value
            if isinstance(state, str) and state not in STATES:
                return prefix + _json_error(f"Invalid subscription state: {state}")
            receive = value.get("receiveSettings") if isinstance(value, Mapping) else None
            quality = receive.get("maxQuality") if isinstance(receive, Mapping) else None
            if quality is not None and quality not in QUALITIES:
                return prefix + _json_error(f"{json.dumps(quality)} is not one of {_one_of(QUALITIES)}")
    return None


# ---------------------------------------------------------------------------------- permissions


def _names(value: Any, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, list):
        return f"invalid type: {_kind(value)}, expected a sequence"
    for item in value:
        if item not in allowed:
            return f"invalid value: {_kind(item)}, expected one of {_one_of(allowed)}"
    return None


def _receive_level(value: Any, level: str) -> str | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, Mapping):
        return f"invalid type: {_kind(value)}, expected a boolean or an object"
    for key, allowed in value.items():
        if key not in MEDIA:
            return f"invalid value: {_kind(key)}, expected a valid media type, one of: {_one_of(MEDIA)}"
        if key in ("customVideo", "customAudio"):
            if not isinstance(allowed, Mapping):
                return "invalid type: non-object value, expected an object"
        elif not isinstance(allowed, bool):
            return f"invalid type: {_kind(allowed)}, expected a boolean"
    if level == "base" and any(key not in value for key in MEDIA):
        return f"missing field `one or more of {', '.join(MEDIA)} (all required in canReceive 'base' permission)`"
    return None


def _permissions(permissions: Any, struct: str) -> str | None:
    if not isinstance(permissions, Mapping):
        return f"invalid type: {_kind(permissions)}, expected struct {struct}"
    if "hasPresence" in permissions and not isinstance(permissions["hasPresence"], bool):
        return f"invalid type: {_kind(permissions['hasPresence'])}, expected a boolean"
    if "canSend" in permissions:
        problem = _names(permissions["canSend"], MEDIA)
        if problem:
            return problem
    if "canAdmin" in permissions:
        problem = _names(permissions["canAdmin"], ADMIN)
        if problem:
            return problem
    receive = permissions.get("canReceive")
    if receive is not None:
        if not isinstance(receive, Mapping):
            return f"invalid type: {_kind(receive)}, expected struct CanReceivePermission"
        for key, value in receive.items():
            if key == "base":
                problem = _receive_level(value, "base")
            elif key in ("byUserId", "byParticipantId"):
                if not isinstance(value, Mapping):
                    return f"invalid type: {_kind(value)}, expected a map"
                problem = next((p for p in (_receive_level(v, key) for v in value.values()) if p), None)
            else:
                problem = f"invalid value: {_kind(key)}, expected one of base, byUserId, byParticipantId"
            if problem:
                return problem
    return None


def remote_participants(updates: Any) -> str | None:
    """``update_remote_participants``: UUID keys; Daily's permission shapes (lists, not booleans)."""
    if not isinstance(updates, Mapping):
        return _serde("remote participant updates", f"invalid type: {_kind(updates)}, expected a map")
    for pid, update in updates.items():
        if not is_uuid(pid):
            return _serde("remote participant updates", f"UUID parsing failed: invalid character in {pid!r}")
        if not isinstance(update, Mapping):
            return _serde(
                "remote participant updates", f"invalid type: {_kind(update)}, expected struct RemoteParticipantUpdate"
            )
        if "permissions" in update:
            problem = _permissions(update["permissions"], "ParticipantPermissionsUpdate")
            if problem:
                return _serde("remote participant updates", problem)
        for value in (update.get("inputsEnabled") or {}).values():
            if not isinstance(value, bool):
                return _serde("remote participant updates", f"invalid type: {_kind(value)}, expected a boolean")
    return None


def own_permissions(permissions: Any) -> str | None:
    """``update_permissions``: the same shapes for this participant's own permissions."""
    problem = _permissions(permissions, "ParticipantPermissionsUpdate")
    return _serde("permissions update", problem) if problem else None


def participant_ids(ids: Any, what: str) -> str | None:
    """A list of participant ids (eject, update_transcription): each must be a UUID."""
    for value in ids or []:
        if not is_uuid(value):
            return _serde(what, f"UUID parsing failed: invalid character in {value!r}")
    return None


# ------------------------------------------------------------------------------------- telephony


def dialout(settings: Any) -> str | None:
    """``start_dialout``: a string ``phoneNumber`` or ``sipUri`` (Daily's untagged enum of the two)."""
    if isinstance(settings, Mapping) and (
        isinstance(settings.get("phoneNumber"), str) or isinstance(settings.get("sipUri"), str)
    ):
        return None
    return "Dialout settings are not valid: " + _json_error(
        "data did not match any variant of untagged enum DailyStartDialoutProperties"
    )


def _required(settings: Any, fields: tuple[str, ...], what: str) -> str | None:
    for name in fields:
        if not isinstance(settings, Mapping) or name not in settings:
            return f"{what} settings are not valid: {_json_error(f'missing field `{name}`')}"
    return None


def dtmf(settings: Any) -> str | None:
    """``send_dtmf``: ``sessionId`` and ``tones`` are required."""
    return _required(settings, ("sessionId", "tones"), "Send DTMF")


def sip_transfer(settings: Any) -> str | None:
    """``sip_call_transfer``: ``sessionId`` and ``toEndPoint`` are required."""
    return _required(settings, ("sessionId", "toEndPoint"), "SIP call transfer")


def sip_refer(settings: Any) -> str | None:
    """``sip_refer``: ``sessionId`` and ``toEndPoint`` are required."""
    return _required(settings, ("sessionId", "toEndPoint"), "SIP refer")


def stop_dialout(participant_id: Any) -> str | None:
    if is_uuid(participant_id):
        return None
    first = str(participant_id)[:1] or "?"
    return f"Failed to parse participant ID: Error(ParseChar {{ character: {first!r}, index: 0 }})"


# ---------------------------------------------------------------------------------- app messages


def app_message(message: Any, participant_id: Any) -> BaseException | None:
    """``send_app_message`` raises (it does not complete) for ``None``, a bad id, or an unsupported type."""
    if message is None:
        return ValueError("invalid app message 'None'")
    if participant_id is not None and not is_uuid(participant_id):
        return ValueError(f"invalid participant ID {participant_id!r}")
    try:
        json.dumps(message, default=_no_default)
    except TypeError as exc:
        return exc
    return None


def _no_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)  # the real SDK sends a set as a list
    raise TypeError(f"unsupported type {type(value).__name__}")


# ------------------------------------------------------------------------- recording, transcription

PRESETS = (
    "default",
    "audio-only",
    "raw-tracks-audio-only",
    "single-participant",
    "active-participant",
    "portrait",
    "custom",
)
"""Daily's recording layout presets."""


def recording(settings: Any, *, update: bool = False) -> str | None:
    """``start_recording`` / ``update_recording``: an object; a known ``layout.preset`` (single-participant needs ``session_id``)."""
    prefix = "Failed to parse recording update settings: " if update else "Failed to parse recording settings: "
    if settings is None:
        return None
    if not isinstance(settings, Mapping):
        return prefix + f"invalid type: {_kind(settings)}, expected struct DailyStreamingSettings at line 1 column 1"
    layout = settings.get("layout")
    if isinstance(layout, Mapping) and "preset" in layout:
        preset = layout["preset"]
        if preset not in PRESETS:
            names = ", ".join(f"`{p}`" for p in PRESETS)
            return prefix + f"unknown variant `{preset}`, expected one of {names} at line 1 column 1"
        if preset == "single-participant" and "session_id" not in layout:
            return prefix + "missing field `session_id` at line 1 column 1"
    return None


_TRANSCRIPTION_TYPES: dict[str, tuple[type, ...]] = {
    "language": (str,),
    "model": (str,),
    "tier": (str,),
    "profanity_filter": (bool,),
    "punctuate": (bool,),
    "includeRawResponse": (bool,),
    "extra": (dict,),
}


def transcription(settings: Any) -> str | None:
    """``start_transcription``: Daily's TranscriptionSettings field types; ``participants`` are UUIDs."""
    prefix = "Transcription settings are not valid: "
    for key, value in (settings or {}).items():
        kinds = _TRANSCRIPTION_TYPES.get(key)
        if kinds is not None and (not isinstance(value, kinds) or (kinds != (bool,) and isinstance(value, bool))):
            expected = {str: "a string", bool: "a boolean", dict: "a map"}[kinds[0]]
            return prefix + _json_error(f"invalid type: {_kind(value)}, expected {expected}")
        if key == "endpointing" and not isinstance(value, bool | int | float):
            return prefix + _json_error("data did not match any variant of untagged enum TranscriptionEndpointing")
        if key == "redact" and not isinstance(value, bool | list):
            return prefix + _json_error("data did not match any variant of untagged enum TranscriptionRedact")
        if key == "participants":
            for pid in value or []:
                if not is_uuid(pid):
                    return prefix + _json_error("UUID parsing failed: invalid character")
    return None


__all__ = [
    "ADMIN",
    "CODECS",
    "MEDIA",
    "STATES",
    "app_message",
    "dialout",
    "dtmf",
    "input_settings",
    "is_uuid",
    "own_permissions",
    "participant_ids",
    "publishing_settings",
    "recording",
    "remote_participants",
    "sip_refer",
    "sip_transfer",
    "stop_dialout",
    "subscription_profiles",
    "subscriptions",
    "transcription",
]
