"""``GET /recordings/<room>/<recording>/<file>``: a finished local-room recording, to play or download (PROTOCOL.md 5.4).

The files the local backend wrote under ``recordings_dir`` (``mix.wav``, ``<participant id>.wav``,
``recording.json``), served on the WebSocket port to whoever may observe the recording's room:

- a gateway with keys wants a credential, as the WebSocket does (``Authorization: Bearer``, or
  ``?token=`` for an ``<audio src>`` or a link, which cannot set headers): 401 without a valid one;
  a credential whose rooms do not cover the recording's gets 404, exactly as a file that does not
  exist, so it learns nothing; an open gateway (loopback only) serves anyone;
- the path is exactly three segments, each checked (no ``..``, ``.``-names, backslashes, NUL,
  nothing percent-encoded into them), and the resolved file must lie in its recording's folder
  inside ``recordings_dir`` (symlinks included); only ``.wav`` files and ``recording.json``;
- a recording still being written is 409 (its WAV header is not final yet);
- the file is read off the event loop; files over :data:`MAX_BYTES` are 413.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .auth import Denied, credential
from .backends.local.recording import URL_PREFIX as PREFIX
from .http import json_response

if TYPE_CHECKING:
    from .server import Gateway

log = logging.getLogger("gateway.recordings")

MANIFEST = "recording.json"
MAX_BYTES = 512 * 1024 * 1024
"""Largest file served (about 45 minutes of 48 kHz stereo PCM16, 90 of the mono mix)."""


def handles(path: str) -> bool:
    return path.startswith(PREFIX)


async def serve(gateway: Gateway, connection: Any, request: Request) -> Response:
    """The response to a GET under ``/recordings/`` (module docstring: who, which files, when)."""
    principal = None
    if gateway.auth.enabled:
        try:
            principal = gateway.auth.authenticate(credential(request.headers.get("Authorization"), request.path, []))
        except Denied as exc:
            gateway.metrics.auth_refused(exc.kind)
            log.warning("= refused %s from %s: 401 %s", PREFIX, connection.remote_address, exc.reason)
            response = json_response(HTTPStatus.UNAUTHORIZED, {"error": f"unauthorized: {exc.reason}"})
            response.headers["WWW-Authenticate"] = 'Bearer realm="daily-gateway recordings"'
            return response
    found = _locate(Path(gateway.config.recordings_dir), request.path.split("?", 1)[0][len(PREFIX):])
    if found is None:
        return _not_found()
    folder, target = found
    try:
        manifest = await asyncio.to_thread(_read_manifest, folder)
    except (OSError, ValueError):
        return _not_found()
    room_url = manifest.get("room_url")
    if principal is not None and not (isinstance(room_url, str) and principal.scope.allows_room(room_url)):
        gateway.metrics.auth_refused("scope_room")
        log.warning("= refused a recording of another room to %s: 404", principal.name)
        return _not_found()
    if manifest.get("stopped_at") is None:
        return json_response(HTTPStatus.CONFLICT, {"error": "the recording is still running: its files are final once it stops"})
    try:
        size = target.stat().st_size
        if size > MAX_BYTES:
            return json_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                 {"error": f"{size} bytes: larger than the {MAX_BYTES} this gateway serves; "
                                           "read it from recordings_dir"})
        body = await asyncio.to_thread(target.read_bytes)
    except OSError:
        return _not_found()
    content_type = "application/json" if target.name == MANIFEST else "audio/wav"
    headers = Headers([
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Content-Disposition", f'inline; filename="{target.name}"'),
        ("Cache-Control", "private, no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Connection", "close"),
    ])
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)


def _locate(base: Path, relative: str) -> tuple[Path, Path] | None:
    """(the recording's folder, the file) for a request path under ``/recordings/``, or None if it is not a safe one."""
    try:
        name = unquote(relative, errors="strict")
    except UnicodeDecodeError:
        return None
    segments = name.split("/")
    if len(segments) != 3 or any(
        not s or s in (".", "..") or s.startswith(".") or "\\" in s or "\x00" in s or "%" in s for s in segments
    ):
        log.warning("refused recording path %r", relative[:200])
        return None
    if not (segments[2].endswith(".wav") or segments[2] == MANIFEST):
        return None
    try:  # a name the file system refuses (too long...) is nothing there
        root = base.resolve()
        folder = (root / segments[0] / segments[1]).resolve()
        target = (folder / segments[2]).resolve()
        if not folder.is_relative_to(root) or target.parent != folder or not target.is_file():
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    return folder, target


def _read_manifest(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("recording.json is not an object")
    return manifest


def _not_found() -> Response:
    return json_response(HTTPStatus.NOT_FOUND, {"error": "no such recording file"})
