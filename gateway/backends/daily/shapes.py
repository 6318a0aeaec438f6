"""The protocol's Daily-facing settings in the shapes daily-python 0.36 takes (PROTOCOL.md 5.5, 5.7, 5.8, 8.5).

The protocol follows Daily's shapes and spells them the way daily-python does; where it also accepts
a convenience Daily's other SDKs know (``canSend: true``), this module rewrites it into what
daily-python accepts (``canSend: [every medium]``), because daily-python refuses the convenience
(``tests/unit/test_daily_differential.py`` runs these outputs through the real SDK). Pure functions:
no SDK object, no I/O.
"""

from __future__ import annotations

import copy
from typing import Any

MEDIA = ("camera", "microphone", "screenVideo", "screenAudio", "customVideo", "customAudio")
"""daily-python's media names in permissions (``canSend``, ``canReceive``)."""
ADMIN = ("participants", "streaming", "transcription")
"""Daily's ``canAdmin`` kinds."""
CUSTOM_MEDIA = ("customVideo", "customAudio")

TRANSCRIPTION_DEFAULTS: dict[str, Any] = {
    "language": "en",
    "model": "nova-2-general",
    "profanity_filter": True,
    "redact": False,
    "endpointing": True,
    "punctuate": True,
    "includeRawResponse": True,
    "extra": {"interim_results": True},
}
"""Pipecat's DailyTranscriptionSettings: with ``includeRawResponse`` clients get ``rawResponse.is_final``."""


def _custom(value: Any) -> Any:
    """``customVideo`` / ``customAudio``: the protocol's boolean is Daily's ``{"*": bool}`` (every custom track)."""
    return {"*": value} if isinstance(value, bool) else value


def _receive_level(value: Any, *, complete: bool) -> Any:
    """One ``canReceive`` level; ``complete``: fill the media left out as allowed (daily-python's base needs all)."""
    if not isinstance(value, dict):
        return value
    out = {key: (_custom(v) if key in CUSTOM_MEDIA else v) for key, v in value.items()}
    if complete:
        for key in MEDIA:
            out.setdefault(key, {"*": True} if key in CUSTOM_MEDIA else True)
    return out


def permissions(update: dict[str, Any]) -> dict[str, Any]:
    """A participant's ``permissions`` update as daily-python takes it.

    ``canSend`` / ``canAdmin`` ``true`` / ``false`` become the list of every medium or kind / the
    empty list; a ``canReceive`` ``base`` object gets the media it leaves out as allowed (the
    protocol's "unset: allowed"), and ``customVideo`` / ``customAudio`` booleans become ``{"*": bool}``.
    """
    out = copy.deepcopy(update)
    for key, every in (("canSend", MEDIA), ("canAdmin", ADMIN)):
        if isinstance(out.get(key), bool):
            out[key] = list(every) if out[key] else []
    receive = out.get("canReceive")
    if isinstance(receive, dict):
        if "base" in receive:
            receive["base"] = _receive_level(receive["base"], complete=True)
        for by in ("byUserId", "byParticipantId"):
            if isinstance(receive.get(by), dict):
                receive[by] = {k: _receive_level(v, complete=False) for k, v in receive[by].items()}
    return out


def remote_participants(updates: dict[str, Any]) -> dict[str, Any]:
    """``update-remote-participants.remote_participants`` for ``CallClient.update_remote_participants``."""
    out: dict[str, Any] = {}
    for pid, update in updates.items():
        update = dict(update)
        if isinstance(update.get("permissions"), dict):
            update["permissions"] = permissions(update["permissions"])
        out[pid] = update
    return out


def transcription_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Pipecat's defaults under the client's own settings (its keys win; ``extra`` merged one level)."""
    out = copy.deepcopy(TRANSCRIPTION_DEFAULTS)
    for key, value in (settings or {}).items():
        if key == "extra" and isinstance(value, dict):
            out["extra"] = {**out["extra"], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def camera_send_settings(video_out: dict[str, Any]) -> dict[str, Any] | None:
    """The published camera's ``sendSettings`` for ``join.video_out``, or None for Daily's own (adaptive).

    ``send_settings`` goes through unchanged; ``codec`` adds ``preferredCodec`` to it. Only a
    ``bitrate`` given without ``send_settings`` caps the camera to one encoding (with ``framerate``).
    """
    send = copy.deepcopy(video_out.get("send_settings")) if isinstance(video_out.get("send_settings"), dict) else None
    if send is None and video_out.get("bitrate"):
        encoding: dict[str, Any] = {"maxBitrate": int(video_out["bitrate"])}
        if video_out.get("framerate"):
            encoding["maxFramerate"] = video_out["framerate"]
        send = {"maxQuality": "low", "encodings": {"low": encoding}}
    codec = video_out.get("codec")
    if codec:
        send = {**(send or {}), "preferredCodec": codec}
    return send


__all__ = [
    "ADMIN",
    "MEDIA",
    "TRANSCRIPTION_DEFAULTS",
    "camera_send_settings",
    "permissions",
    "remote_participants",
    "transcription_settings",
]
