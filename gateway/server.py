"""The gateway process: WebSocket + HTTP on one port, sessions, backends, shutdown.

Life cycle (read top to bottom): :meth:`Gateway.start` starts the backends (the
local one starts its demo talker) and the listener; :meth:`Gateway.serve_forever`
waits for a stop request; :meth:`Gateway.shutdown` stops accepting, closes every session with
1001 going-away (each leaves its room first), waits ``shutdown_timeout`` and
cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from websockets.http11 import Request
from websockets.typing import Subprotocol

from protocol import constants
from protocol.constants import CloseCode
from protocol.schema import event_names, request_types

from . import build_info
from .admission import Admission, Gatekeeper, close_unless_resumed
from .auth import Authenticator, ConfigError, Denied, check_exposure
from .backends import Backend, BackendRegistry, build_backends
from .cluster.bridge import HANDOVER_HEADER
from .config import Config
from .handlers import HANDLERS
from .history import History
from .http import HttpRoutes
from .metrics import GatewayMetrics
from .metrics.endpoint import MetricsServer
from .net.budget import ReceiveBudget
from .net.connection import GatewayConnection
from .net.listener import Listener, serve
from .session import Session
from .session.link import Link

if TYPE_CHECKING:
    from .cluster.gateway_node import GatewayNode
    from .cluster.supervisor import SupervisorLink

log = logging.getLogger("gateway.server")

SHUTDOWN_REASON = "gateway shutting down"
"""The reason of the 1001 close every client gets on shutdown."""
SHUTDOWN_STEP_S = 1.0
"""Bound of each shutdown step after the sessions' ``shutdown_timeout`` (closing stuck connections, handlers)."""


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
        """Live sessions, connected or detached (``resume`` finds them by id)."""
        self.joined: set[Session] = set()
        self.started = time.time()
        self._server: Listener | None = None
        self._stop = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()
        self.gatekeeper = Gatekeeper(config, self.auth, self.backends, self.sessions)
        """Admits connections (origin, credential, per-key slots) and checks each request (role, rooms, max_rooms)."""
        self.http = HttpRoutes(self)
        """/healthz, /metrics, the dashboard and the JS SDK, redirects: HTTP on the WebSocket port."""
        self.history = History(config)
        """Each session's log in SQLite (``history_db``; PROTOCOL.md 5.13)."""
        self.metrics = GatewayMetrics(self)
        """Prometheus metrics (/metrics, and ``metrics_port``): gateway.metrics."""
        self._metrics_server = MetricsServer(self, config.metrics_host, config.metrics_port) if config.metrics_port else None
        largest_frame = max(config.max_frame_bytes, config.max_message_bytes) + 14
        if config.max_receive_buffer_bytes and config.max_receive_buffer_bytes < largest_frame:
            raise ConfigError(
                f"max_receive_buffer_bytes {config.max_receive_buffer_bytes} cannot hold one frame of max_frame_bytes / "
                f"max_message_bytes ({largest_frame} with its header); raise it or leave it 0 (automatic)"
            )
        self.supervisor_link: SupervisorLink | None = None
        """Set in a worker of ``--workers``: its status pipe to the supervisor (ready, draining)."""
        self._private: Listener | None = None
        """A worker's own port, where other nodes relay clients to it (the public one is shared)."""
        self.cluster: GatewayNode | None = None
        """This process as a node of a cluster (``redis_url``; docs/CLUSTER.md); None: one process, no cluster."""
        if config.redis_url:
            from .cluster.gateway_node import GatewayNode  # redis-py is loaded by cluster nodes only
            from .cluster.supervisor import SupervisorLink

            self.cluster = GatewayNode(self, config)
            self.supervisor_link = SupervisorLink.from_env()
        self.receive_budget = ReceiveBudget(
            total=config.max_receive_buffer_bytes_total, per_connection=config.receive_buffer_bytes()
        )
        """Bytes received and not yet handled, per connection and gateway-wide (PROTOCOL.md, "Security")."""

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        await self.history.start()
        for backend in self.backends:
            await backend.start()
        self.metrics.start()
        if self._metrics_server is not None:
            await self._metrics_server.start()
        self._server = await self._listen(self.config.host, self.config.port,
                                          reuse_port=self.supervisor_link is not None)
        if self.cluster is not None:
            host, port = self.config.host, self.port
            if self.supervisor_link is not None and not self.config.cluster_address:
                # Workers share the public port: other nodes reach this one on a port of its own (loopback).
                self._private = await self._listen("127.0.0.1", 0, tls=False)  # loopback: no certificate for it
                host, port = "127.0.0.1", self._private.sockets[0].getsockname()[1]
            await self.cluster.start("ws" if self._private is not None else self.scheme, host, port)
            if self.supervisor_link is not None:
                self.supervisor_link.tell("ready", self.cluster.address)
        if not self.auth.enabled:
            log.warning("no API keys or token secret configured: any local client may connect (loopback only)")
        log.info("listening on %s://%s:%d%s (backends: %s)", self.scheme, self.config.host, self.port, constants.WS_PATH,
                 ", ".join(self.backends.names))
        log.info("dashboard: open %s in a browser", self.dashboard_url)

    async def _listen(self, host: str, port: int, *, reuse_port: bool = False, tls: bool = True) -> Listener:
        return await serve(
            self._handle,
            host,
            port,
            subprotocols=[Subprotocol(constants.SUBPROTOCOL)],
            select_subprotocol=_select_subprotocol,
            process_request=self.http,
            max_size=4 * self.config.max_frame_bytes,
            max_text_bytes=self.config.max_message_bytes,
            max_binary_bytes=self.config.max_frame_bytes,
            receive_budget=self.receive_budget,
            # No extensions (compression) are negotiated. Pings and the idle timeout are the link's
            # (net.keepalive): it closes with 4009.
            ssl=self.tls if tls else None,
            server_header=f"daily-ws-gateway/{build_info.version()}",
            reuse_port=reuse_port,
        )

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
        if self.cluster is not None:
            await self.cluster.drain(self.config.drain_timeout)
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting; each session leaves its room, then is closed with 1001; backends close.

        Sessions get ``shutdown_timeout`` to leave; the connections of those that did not
        (a backend's leave hung) are closed with 1001 anyway, and the backends' close then
        ends what is left in their rooms (local recordings are finalized: valid WAVs). Every
        wait is bounded; the CLI also exits on a second signal (PROTOCOL.md, "Shutdown").
        """
        log.info("shutting down: %d sessions", len(self.sessions))
        for listener in (self._server, self._private):
            if listener is not None:
                listener.close(close_connections=False)
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
                connections = [link.ws for link in {closes[t].link for t in pending} if link is not None]
                if connections:
                    await asyncio.wait(
                        [asyncio.create_task(c.close(CloseCode.GOING_AWAY, SHUTDOWN_REASON)) for c in connections],
                        timeout=SHUTDOWN_STEP_S,
                    )
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=SHUTDOWN_STEP_S)
        for listener in (self._server, self._private):
            if listener is None:
                continue
            listener.close()
            try:
                await asyncio.wait_for(listener.wait_closed(), SHUTDOWN_STEP_S)
            except TimeoutError:
                log.warning("some connections did not close within %g s; going on", SHUTDOWN_STEP_S)
        if self.cluster is not None:
            await self.cluster.stop()
        for backend in self.backends:
            try:
                await backend.close()
            except Exception:
                log.exception("closing backend %s failed", backend.name)
        if self._metrics_server is not None:
            await self._metrics_server.close()
        await self.metrics.close()
        await self.history.close()
        log.info("stopped")

    # ------------------------------------------------------------------ connections

    async def _handle(self, ws: GatewayConnection) -> None:
        # Nothing past the handshake is read until the link serves the connection (gateway.net.connection).
        offered = ws.request.headers.get_all("Sec-WebSocket-Protocol") if ws.request else []
        if offered and ws.subprotocol is None:
            ws.deny(CloseCode.BAD_SUBPROTOCOL, f"unsupported protocol; offer {constants.SUBPROTOCOL}")
            self.metrics.connection_closed(CloseCode.BAD_SUBPROTOCOL, "gateway")
            await ws.wait_closed()
            return
        assert ws.request is not None
        try:
            admission = self._admit(ws.request)
        except Denied as exc:
            # The upgrade completed so that browsers, which cannot read an HTTP status, see the code;
            # what the client sent after it is never read (deny).
            log.warning("= denied connection from %s: %s", ws.remote_address, exc.close_reason)
            ws.deny(exc.close_code, exc.close_reason)
            self.metrics.auth_refused(exc.kind)
            self.metrics.connection_closed(exc.close_code, "gateway")
            await ws.wait_closed()
            return
        session = Session(self, admission)
        if admission.resume_only:
            session.requests.spawn(close_unless_resumed(session), "resume-only")
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)  # type: ignore[arg-type]
        try:
            await Link(self, ws, session).run()
            await session.wait_closed()
        except Exception:
            log.exception("session %s crashed", session.id)
        finally:
            self.forget(session)
            if task is not None:
                self._handlers.discard(task)  # type: ignore[arg-type]

    def _admit(self, request: Request) -> Admission:
        """A client's credential and slot (the gatekeeper), or a client another cluster node relays here (its
        signed hand-over). Raises Denied."""
        header = request.headers.get(HANDOVER_HEADER)
        if header is None:
            return self.gatekeeper.admit(request)
        if self.cluster is None:
            raise Denied(CloseCode.UNAUTHORIZED, "a relayed connection, but this gateway is not a cluster node")
        try:
            handover = self.cluster.handover(header)
        except ValueError as exc:  # HandoverError
            raise Denied(CloseCode.UNAUTHORIZED, f"bad hand-over: {exc}") from None
        if self.session_by_id(handover.session_id) is not None:
            raise Denied(CloseCode.UNAUTHORIZED, "bad hand-over: that session exists here")
        return self.gatekeeper.adopt(handover)

    def forget(self, session: Session) -> None:
        """``session`` is over, or was discarded by a resume: it no longer counts (idempotent).

        Its key's slot of ``max_sessions_per_key`` is given back: a resumed session holds its own
        slot already, so a session counts once whichever connection serves it.
        """
        self.gatekeeper.release(session.admission)
        if session in self.sessions:
            self.metrics.retire(session)  # once: what it counted stays in the totals
        self.sessions.discard(session)
        self.joined.discard(session)
        if self.cluster is not None:
            self.cluster.session_ended(session)

    def session_by_id(self, session_id: str) -> Session | None:
        """A live session (connected or detached) by id, for ``resume``."""
        return next((s for s in self.sessions if s.id == session_id), None) if session_id else None

    def session_joined(self, session: Session) -> None:
        self.joined.add(session)

    def session_placed(self, session: Session, kind: str, params: dict[str, Any], room_url: str, backend: str) -> None:
        """``session`` joined (``kind`` ``join``) or observes a room: a cluster node records where it is served."""
        if self.cluster is not None:
            self.cluster.session_placed(session, kind, params, room_url, backend)

    def session_left(self, session: Session) -> None:
        self.joined.discard(session)
        if self.cluster is not None:
            self.cluster.rooms_changed()

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


def _browser_host(host: str) -> str:
    """The host to print in a URL for people: a wildcard bind is reached on loopback."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _select_subprotocol(connection: GatewayConnection, subprotocols: Sequence[Subprotocol]) -> Subprotocol | None:
    """Pick ours; a client that offers none is served as v1, one that offers others is refused (4000)."""
    return Subprotocol(constants.SUBPROTOCOL) if constants.SUBPROTOCOL in subprotocols else None
