"""The gateway process: WebSocket + HTTP on one port, sessions, backends, shutdown.

Life cycle (read top to bottom): :meth:`Gateway.start` starts backends, the
listener and the demo talker; :meth:`Gateway.serve_forever` waits for a stop
request; :meth:`Gateway.shutdown` stops accepting, closes every session with
1001 going-away (each leaves its room first), waits ``shutdown_timeout`` and
cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from protocol import constants
from protocol.constants import CloseCode
from protocol.errors import CommandError, ErrorCode
from protocol.schema import event_names, request_types

from . import build_info, compiled
from .auth import Authenticator, Denied, Principal, admin_requests, check_exposure, check_origin, credential
from .backends import Backend, BackendRegistry
from .backends.local import LocalBackend
from .config import Config
from .demo import DemoTalker
from .handlers import HANDLERS
from .limits import KeySessions, check_new_room
from .net.connection import GatewayConnection
from .net.listener import Listener, serve
from .session import Session
from .static import StaticFiles, redirect

log = logging.getLogger("gateway.server")

SHUTDOWN_REASON = "gateway shutting down"
"""The reason of the 1001 close every client gets on shutdown."""
SHUTDOWN_STEP_S = 1.0
"""Bound of each shutdown step after the sessions' ``shutdown_timeout`` (closing stuck connections, handlers)."""


def build_backends(config: Config) -> list[Backend]:
    """The backends named in ``config.backends`` that this build provides."""
    out: list[Backend] = []
    for name in config.backends:
        if name == "local":
            out.append(
                LocalBackend(recordings_dir=config.recordings_dir, transcription_workers=config.transcription_workers)
            )
        elif name == "daily":
            try:
                from .backends.daily import DailyBackend
            except ImportError:
                log.warning("daily backend is not available in this build; continuing without it")
                continue
            out.append(DailyBackend(config))
        else:
            raise ValueError(f"unknown backend {name!r} in config.backends")
    return out


class Gateway:
    """One gateway process."""

    def __init__(self, config: Config, backends: list[Backend] | None = None) -> None:
        self.config = config
        # Credentials and TLS first: a gateway that must not start fails before building anything.
        self.auth = Authenticator.from_config(config.api_keys, config.api_keys_file, config.token_secret)
        """API keys and tokens (PROTOCOL.md, "Authentication"); open when none are configured."""
        check_exposure(config.host, self.auth)
        self.tls = self._tls()
        """The server TLS context (``tls_cert``)."""
        self.backends = BackendRegistry(backends if backends is not None else build_backends(config))
        self.sessions: set[Session] = set()
        self.joined: set[Session] = set()
        self.started = time.time()
        self._server: Listener | None = None
        self._stop = asyncio.Event()
        self._demo: DemoTalker | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.static = StaticFiles()
        """The dashboard (/dashboard/) and the built JS SDK (/sdk/) over HTTP."""
        self.admin_requests = admin_requests(HANDLERS)
        """Request types only the admin role may send."""
        self.key_sessions = KeySessions(config.max_sessions_per_key)
        self.principals: dict[Session, Principal] = {}
        """Who each authenticated session is (the admin requests sign with its key)."""

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        for backend in self.backends:
            await backend.start()
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            subprotocols=[Subprotocol(constants.SUBPROTOCOL)],
            select_subprotocol=_select_subprotocol,
            process_request=self._http,
            max_size=4 * self.config.max_frame_bytes,
            # No extensions (compression) are negotiated. Pings and the idle timeout are the
            # session's (limits.idle_watchdog): it closes with 4009.
            ssl=self.tls,
            server_header=f"daily-ws-gateway/{build_info.version()}",
        )
        if self.config.demo:
            local = next((b for b in self.backends if isinstance(b, LocalBackend)), None)
            if local is None:
                log.warning("demo talker needs the local backend; not started")
            else:
                self._demo = DemoTalker(local.server, self.config.demo_room, self.config.demo_wav)
                self._demo.start()
        if not self.auth.enabled:
            log.warning("no API keys or token secret configured: any local client may connect (loopback only)")
        log.info("listening on %s://%s:%d%s (backends: %s)", self.scheme, self.config.host, self.port, constants.WS_PATH,
                 ", ".join(self.backends.names))
        log.info("dashboard: open %s in a browser", self.dashboard_url)

    def _tls(self) -> ssl.SSLContext | None:
        """A server TLS context when ``tls_cert`` is set (raises OSError / ssl.SSLError for bad files)."""
        if not self.config.tls_cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key or None)
        return context

    @property
    def scheme(self) -> str:
        """``wss`` with TLS, else ``ws``."""
        return "wss" if self.config.tls_cert else "ws"

    @property
    def dashboard_url(self) -> str:
        """Where a person on this machine opens the dashboard."""
        scheme = "https" if self.config.tls_cert else "http"
        return f"{scheme}://{_browser_host(self.config.host)}:{self.port}/dashboard/"

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def request_stop(self) -> None:
        self._stop.set()

    async def serve_forever(self) -> None:
        await self._stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting; each session leaves its room, then is closed with 1001; backends close.

        Sessions get ``shutdown_timeout`` to leave; the connections of those that did not
        (a backend's leave hung) are closed with 1001 anyway, and the backends' close then
        ends what is left in their rooms (local recordings are finalized: valid WAVs). Every
        wait is bounded; the CLI also exits on a second signal (PROTOCOL.md, "Shutdown").
        """
        log.info("shutting down: %d sessions", len(self.sessions))
        if self._server is not None:
            self._server.close(close_connections=False)
        closes = {
            asyncio.create_task(s.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON, cause="shutdown")): s
            for s in list(self.sessions)
        }
        if closes:
            done, pending = await asyncio.wait(closes, timeout=self.config.shutdown_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d sessions did not leave within shutdown_timeout; closing their connections", len(pending))
                connections = [c for c in {getattr(closes[t], "connection", closes[t].ws) for t in pending} if c]
                if connections:
                    await asyncio.wait(
                        [asyncio.create_task(c.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON)) for c in connections],
                        timeout=SHUTDOWN_STEP_S,
                    )
        if self._demo is not None:
            await self._demo.stop()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=SHUTDOWN_STEP_S)
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), SHUTDOWN_STEP_S)
            except TimeoutError:
                log.warning("some connections did not close within %g s; going on", SHUTDOWN_STEP_S)
        for backend in self.backends:
            try:
                await backend.close()
            except Exception:
                log.exception("closing backend %s failed", backend.name)
        log.info("stopped")

    # ------------------------------------------------------------------ connections

    async def _handle(self, connection: GatewayConnection) -> None:
        ws = connection
        assert isinstance(ws, GatewayConnection)
        offered = ws.request.headers.get_all("Sec-WebSocket-Protocol") if ws.request else []
        if offered and ws.subprotocol is None:
            await ws.close(CloseCode.BAD_SUBPROTOCOL, f"unsupported protocol; offer {constants.SUBPROTOCOL}")
            return
        try:
            principal, resume_only = self._admit(ws)
        except Denied as exc:
            # The upgrade completed so that browsers, which cannot read an HTTP status, see the code.
            log.warning("= denied connection from %s: %s", ws.remote_address, exc.close_reason)
            await ws.close(exc.close_code, exc.close_reason)
            return
        session = Session(self, ws)
        if principal is not None:
            session.principal, session.scope = principal.name, principal.scope
            session.resume_only = resume_only
            self.principals[session] = principal
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)  # type: ignore[arg-type]
        try:
            await session.run()
        except Exception:
            log.exception("session %s crashed", session.id)
        finally:
            self.release_key_slot(session)
            self.sessions.discard(session)
            self.joined.discard(session)
            if task is not None:
                self._handlers.discard(task)  # type: ignore[arg-type]

    def _admit(self, ws: GatewayConnection) -> tuple[Principal | None, bool]:
        """Origin, credential and sessions-per-key checks of a new connection (PROTOCOL.md, "Authentication").

        Returns the principal (None when auth is off) and whether the connection is admitted over
        ``max_sessions_per_key`` only to resume one of the key's detached sessions: a client that
        dropped at its limit must be able to come back.

        Raises:
            Denied: 4003, 4001 or 4029 with a reason free of secrets.
        """
        request = ws.request
        assert request is not None
        headers = request.headers
        check_origin(headers.get("Origin"), headers.get("Host"), self.config.allowed_origins)
        principal = self.auth.authenticate(
            credential(headers.get("Authorization"), request.path, headers.get_all("Sec-WebSocket-Protocol"))
        )
        resume_only = False
        if principal is not None:
            try:
                self.key_sessions.acquire(principal.limit_key)
            except Denied:
                if not any(s.detached and s.principal == principal.name for s in self.sessions):
                    raise
                self.key_sessions.acquire(principal.limit_key, force=True)
                resume_only = True
        return principal, resume_only

    def release_key_slot(self, session: Session) -> None:
        """``session`` no longer counts against its key's ``max_sessions_per_key`` (idempotent).

        Called when its connection ends, and when the connection resumed another session of the
        key (that one holds its own slot, so a resumed session counts once).
        """
        principal = self.principals.pop(session, None)
        if principal is not None:
            self.key_sessions.release(principal.limit_key)

    def admit_request(self, session: Session, rtype: str, params: dict[str, Any]) -> None:
        """Whether the session's credential covers this request, and a new room fits under ``max_rooms``.

        Raises:
            CommandError: ``unauthorized`` or ``limit_reached``.
        """
        try:
            if session.resume_only and rtype not in ("resume", "ping"):
                raise CommandError(
                    ErrorCode.LIMIT_REACHED,
                    "this key is at max_sessions_per_key: this connection may only resume one of its detached sessions",
                    details={"limit": "max_sessions_per_key"},
                )
            if session.scope is not None:
                session.scope.check(rtype, params, self.admin_requests)
            if rtype in ("join", "observe"):
                check_new_room(self.backends, params["room_url"], self.config.max_rooms)
        except CommandError as exc:
            log.warning("= %s refused %s for %s: %s", session.id[:8], rtype, session.principal or "open session", exc)
            raise

    def session_by_id(self, session_id: str) -> Session | None:
        """A live session (connected or detached) by id, for ``resume``."""
        return next((s for s in self.sessions if s.id == session_id), None) if session_id else None

    def session_joined(self, session: Session) -> None:
        self.joined.add(session)

    def session_left(self, session: Session) -> None:
        self.joined.discard(session)

    def capabilities(self) -> dict[str, Any]:
        return {
            "backends": self.backends.names,
            "requests": [t for t in request_types() if t in HANDLERS],
            "events": event_names(),
            "audio": {
                "encodings": ["pcm16"],
                "sample_rate": {"min": constants.MIN_SAMPLE_RATE, "max": constants.MAX_SAMPLE_RATE},
                "channels": list(constants.CHANNELS),
                "frame_ms": {"min": constants.MIN_FRAME_MS, "max": constants.MAX_FRAME_MS},
            },
            "video": {
                "color_formats": [c.name for c in constants.ColorFormat],
                "publish_tracks": {"camera": 2, "screenVideo": 3},
                "max_capture_framerate": 60,
            },
        }

    # ------------------------------------------------------------------ HTTP

    def _http(self, connection: GatewayConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return json_response(HTTPStatus.OK, self.health())
        if self.static.handles(path):
            return self.static.respond(path)
        if path in ("/", constants.WS_PATH):
            if path == "/" and "text/html" in request.headers.get("Accept", "") and \
                    request.headers.get("Upgrade", "").lower() != "websocket":
                return redirect("/dashboard/")  # a browser opened the gateway's address
            if request.headers.get("Upgrade", "").lower() != "websocket":
                return json_response(
                    HTTPStatus.UPGRADE_REQUIRED,
                    {"error": f"this is a WebSocket endpoint; connect with subprotocol {constants.SUBPROTOCOL}"},
                )
            return None
        return json_response(HTTPStatus.NOT_FOUND, {"error": f"no route for {path}"})

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "version": build_info.version(),
            "hot_path": compiled.summary(),
            "protocol": constants.SUBPROTOCOL,
            "uptime_s": round(time.time() - self.started, 1),
            "sessions": len(self.sessions),
            "joined": len(self.joined),
            "detached": sum(1 for s in self.sessions if s.detached),
            "backends": self.backends.names,
            "rooms": sum(len(b.rooms()) for b in self.backends),
        }


def _browser_host(host: str) -> str:
    """The host to print in a URL for people: a wildcard bind is reached on loopback."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _select_subprotocol(connection: GatewayConnection, subprotocols: Sequence[Subprotocol]) -> Subprotocol | None:
    """Pick ours; a client that offers none is served as v1, one that offers others is refused (4000)."""
    return Subprotocol(constants.SUBPROTOCOL) if constants.SUBPROTOCOL in subprotocols else None


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
