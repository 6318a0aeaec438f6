"""HTTP on the gateway's WebSocket port (PROTOCOL.md 1.3): /healthz, /metrics, the dashboard, the JS SDK, redirects.

The gateway speaks HTTP only through the handshake's ``process_request`` hook (GET only),
which is all it needs: :class:`HttpRoutes` checks the ``Host`` (DNS rebinding, PROTOCOL.md
15.5), answers ``/healthz``, serves the static files, sends a browser opening ``/`` to the
dashboard, serves ``/metrics`` (``gateway.metrics.endpoint``: an admin's credential when keys are set) and finished
local recordings (``gateway.recordings``: a credential of their room), and lets WebSocket upgrades of ``/`` and ``/v1``
through (``None``).

Static files: the dashboard (``/dashboard/``) and the built JS SDK (``/sdk/``), a few small
files read on request. Paths are percent-decoded, then every segment is checked and the
resolved file must lie inside its mount (symlinks included), so ``..``, encoded ``%2e%2e``,
backslashes and NUL bytes never reach outside the served folders.

The SDK (``/sdk/``) is also served to pages of the origins in ``allowed_origins`` (a Vite dev
server, an app on another host): its responses carry ``Access-Control-Allow-Origin`` for them,
the same origins the WebSocket endpoint admits. Its source maps carry their sources inline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from protocol import constants

from . import build_info, compiled
from .auth import check_host

if TYPE_CHECKING:
    from .server import Gateway

log = logging.getLogger("gateway.static")
server_log = logging.getLogger("gateway.server")

PACKAGED = Path(__file__).resolve().parent / "_web"
"""Where an installed wheel keeps the web files (setup.py copies them in)."""
CHECKOUT = Path(__file__).resolve().parent.parent / "clients"
"""Where a checkout (or an editable install) has them."""


def web_dir(packaged: str, *checkout: str) -> Path:
    """The packaged copy of a web folder when there is one, else the checkout's (never the working directory)."""
    inside = PACKAGED / packaged
    return inside if inside.is_dir() else CHECKOUT.joinpath(*checkout)


DASHBOARD_DIR = web_dir("dashboard", "dashboard")
"""The dashboard's files (plain HTML, CSS and ES modules; no build step)."""
SDK_DIR = web_dir("sdk", "js", "dist")
"""The JS SDK's build output (``make js-build``), imported by the dashboard as ``/sdk/index.js``."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".ts": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".wav": "audio/wav",
}
"""By suffix; anything else is served as application/octet-stream."""


class HttpRoutes:
    """The ``process_request`` hook: an HTTP response, or None to go on with the WebSocket upgrade."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.static = StaticFiles(cors_origins=gateway.config.allowed_origins)
        """The dashboard (/dashboard/) and the built JS SDK (/sdk/)."""

    def __call__(self, connection: Any, request: Request) -> Response | Awaitable[Response] | None:
        config = self.gateway.config
        headers = request.headers
        # The screen (gateway.net.handshake) already refused a second Host: get_all sees at most one.
        refused = check_host(next(iter(headers.get_all("Host")), None), config.allowed_hosts, self.gateway.auth.enabled)
        if refused:
            server_log.warning("= refused HTTP request from %s: 403 %s", connection.remote_address, refused)
            return json_response(HTTPStatus.FORBIDDEN, {"error": refused})
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return json_response(HTTPStatus.OK, health(self.gateway))
        if path == "/metrics":
            from .metrics.endpoint import protected_metrics

            return protected_metrics(self.gateway, connection, request)
        if path.startswith("/recordings/"):  # gateway.recordings (URL_PREFIX)
            from . import recordings

            return recordings.serve(self.gateway, connection, request)
        if self.static.handles(path):
            try:
                return self.static.respond(path, request.headers.get("Origin"))
            except OSError:  # a name the file system refuses (too long...): nothing there
                return json_response(HTTPStatus.NOT_FOUND, {"error": "not found"})
        upgrade = ", ".join(headers.get_all("Upgrade")).lower()
        if path in ("/", constants.WS_PATH):
            if path == "/" and "text/html" in ", ".join(headers.get_all("Accept")) and upgrade != "websocket":
                return redirect("/dashboard/")  # a browser opened the gateway's address
            if upgrade != "websocket":
                return json_response(
                    HTTPStatus.UPGRADE_REQUIRED,
                    {"error": f"this is a WebSocket endpoint; connect with subprotocol {constants.SUBPROTOCOL}"},
                )
            return None
        return json_response(HTTPStatus.NOT_FOUND, {"error": f"no route for {path[:200]}"})


def health(gateway: Gateway) -> dict[str, Any]:
    """``/healthz``: the build, the hot path, and how many sessions and rooms (``sessions`` counts detached ones)."""
    return {
        "status": "ok",
        "version": build_info.version(),
        "hot_path": compiled.summary(),
        "protocol": constants.SUBPROTOCOL,
        "uptime_s": round(time.time() - gateway.started, 1),
        "sessions": len(gateway.sessions),
        "joined": len(gateway.joined),
        "detached": sum(1 for s in gateway.sessions if s.detached),
        "backends": gateway.backends.names,
        "rooms": sum(len(b.rooms()) for b in gateway.backends),
    }


def json_response(status: HTTPStatus, body: dict[str, Any]) -> Response:
    payload = orjson.dumps(body)
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, payload)


class StaticFiles:
    """Maps URL prefixes to folders and answers GETs for the files in them."""

    def __init__(
        self,
        mounts: dict[str, Path] | None = None,
        *,
        cors_origins: Sequence[str] = (),
        cors_prefixes: Sequence[str] = ("/sdk",),
    ) -> None:
        self.mounts = dict(mounts if mounts is not None else {"/dashboard": DASHBOARD_DIR, "/sdk": SDK_DIR})
        """URL prefix (no trailing slash) -> folder."""
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}
        """Origins whose pages may load files under ``cors_prefixes`` (``*``: any): ``allowed_origins``."""
        self.cors_prefixes = tuple(cors_prefixes)
        """Mounts served across origins (the SDK; the dashboard is only for its own origin)."""

    def handles(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.mounts)

    def respond(self, path: str, origin: str | None = None) -> Response:
        """The response for a GET of ``path`` (query string already removed) from a page of ``origin``; call if :meth:`handles`."""
        for prefix, folder in self.mounts.items():
            if path == prefix:
                return _redirect(prefix + "/")
            if path.startswith(prefix + "/"):
                response = self._file(folder, path[len(prefix) + 1:], prefix)
                if origin is not None and prefix in self.cors_prefixes and self._cors_allowed(origin):
                    response.headers["Access-Control-Allow-Origin"] = origin
                    response.headers["Vary"] = "Origin"
                return response
        return _text(HTTPStatus.NOT_FOUND, f"no route for {path}\n")

    def _cors_allowed(self, origin: str) -> bool:
        return "*" in self.cors_origins or origin.rstrip("/").lower() in self.cors_origins

    def _file(self, folder: Path, relative: str, prefix: str) -> Response:
        try:
            name = unquote(relative, errors="strict")
        except UnicodeDecodeError:
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        segments = name.split("/")
        if "\x00" in name or "\\" in name or any(s in ("..", ".") or s.startswith(".") for s in segments if s):
            log.warning("refused static path %r", relative)
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        base = folder.resolve()
        target = (base / name).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(base) or not target.is_file():
            if prefix == "/sdk" and not base.is_dir():
                return _text(HTTPStatus.NOT_FOUND, "the JS SDK is not built: run `make js-build` (make serve does)\n")
            return _text(HTTPStatus.NOT_FOUND, "not found\n")
        body = target.read_bytes()
        content_type = CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream")
        return _response(HTTPStatus.OK, body, content_type)


def _response(status: HTTPStatus, body: bytes, content_type: str, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Connection", "close"),
            *(extra or []),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _text(status: HTTPStatus, text: str) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8")


def _redirect(location: str) -> Response:
    return _response(HTTPStatus.FOUND, b"", "text/plain; charset=utf-8", [("Location", location)])


def redirect(location: str) -> Response:
    """A 302 to ``location`` (the gateway sends browsers from ``/`` to the dashboard)."""
    return _redirect(location)
