"""``GET /metrics``: on the WebSocket port behind the admin credential, or on its own port (``metrics_port``).

On the main port (``gateway.http``) the scrape needs an admin credential when the gateway has keys
(``Authorization: Bearer <API key or admin token>``, what Prometheus' ``authorization`` setting
sends): 401 without a valid one, 403 for a credential of a weaker role; an open gateway (loopback
only) serves it to anyone. ``metrics_port`` serves the same text on another port, without a
credential, bound to ``metrics_host`` (loopback by default): the place for a scraper next to the
gateway, or behind a network boundary of its own.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ..auth import Denied, check_host, credential, is_loopback
from ..http import json_response

if TYPE_CHECKING:
    from ..server import Gateway

log = logging.getLogger("gateway.metrics")

PATH = "/metrics"

def metrics_response(gateway: Gateway) -> Response:
    """200 with the text exposition format of every metric now."""
    body, content_type = gateway.metrics.exposition()
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Cache-Control", "no-store"), ("Connection", "close")])
    return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)


def protected_metrics(gateway: Gateway, connection: Any, request: Request) -> Response:
    """``/metrics`` on the main port: the metrics, or 401 / 403 when keys are set and the credential is not an admin's."""
    auth = gateway.auth
    if auth.enabled:
        headers = request.headers
        try:
            principal = auth.authenticate(credential(headers.get("Authorization"), request.path, []))
        except Denied as exc:
            gateway.metrics.auth_refused(exc.kind)
            log.warning("= refused /metrics from %s: 401 %s", connection.remote_address, exc.reason)
            response = json_response(HTTPStatus.UNAUTHORIZED, {"error": f"unauthorized: {exc.reason}"})
            response.headers["WWW-Authenticate"] = 'Bearer realm="daily-gateway metrics"'
            return response
        if principal is None or principal.scope.role != "admin":
            gateway.metrics.auth_refused("not_admin")
            log.warning("= refused /metrics from %s: 403 %s is not an admin", connection.remote_address,
                        principal.name if principal else "?")
            return json_response(HTTPStatus.FORBIDDEN, {"error": "unauthorized: /metrics needs an admin credential"})
    return metrics_response(gateway)


class MetricsServer:
    """``metrics_port``: an HTTP listener of its own answering ``GET /metrics`` (and 404 for anything else).

    websockets' server parses the requests (the same HTTP screen as the main port's handshake); every
    request is answered by :meth:`_route`, none is ever upgraded.
    """

    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self._server: Server | None = None

    async def start(self) -> None:
        if not is_loopback(self.host):
            log.warning("serving /metrics without a credential on %s:%d (metrics_host): keep it off public networks",
                        self.host, self.port)
        self._server = await serve(self._never, self.host, self.port, process_request=self._route,
                                   server_header=None, ping_interval=None)
        log.info("metrics: http://%s:%d%s", self.host if ":" not in self.host else f"[{self.host}]", self.bound_port, PATH)

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _route(self, connection: Any, request: Request) -> Response:
        refused = check_host(next(iter(request.headers.get_all("Host")), None), self.gateway.config.allowed_hosts,
                             self.gateway.auth.enabled)
        if refused:
            return json_response(HTTPStatus.FORBIDDEN, {"error": refused})
        if request.path.split("?", 1)[0] == PATH:
            return metrics_response(self.gateway)
        return json_response(HTTPStatus.NOT_FOUND, {"error": f"no route for {request.path[:200]}; try {PATH}"})

    @staticmethod
    async def _never(connection: Any) -> None:  # pragma: no cover - every request is answered by _route
        await connection.close()
