"""Prometheus metrics of one gateway process (``/metrics``; README, "Operating it").

What is counted where depends on how hot the code is:

- **Per frame** (frames and bytes in and out, media dropped, late playout frames, errors sent):
  plain integer attributes of the hot-path objects (``Session``, ``Outbox``, ``AudioPlayout``, the
  Daily media threads), summed only when Prometheus scrapes, by :class:`~.collector.GatewayCollector`.
  The per-frame path never calls prometheus_client. A session that ends adds its counts to
  :attr:`GatewayMetrics.retired` first, so the sums only grow.
- **Per request, connection or join** (requests and their latency, joins, leaves, resumes, close
  codes, auth refusals): prometheus_client counters and histograms, updated where it happens.

Every label is a closed set: request types come from the schemas, error codes from ``ErrorCode``,
close codes from the documented ones, backends from the registry, refusal reasons from
:data:`AUTH_REFUSAL_REASONS`; anything else is ``unknown`` / ``other``. Room URLs, session ids and
principal names are never labels. Each gateway has its own registry (tests run several in one process).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from protocol.constants import CloseCode
from protocol.schema import request_types

from .collector import GatewayCollector, Totals
from .loop_lag import watch_loop_lag

if TYPE_CHECKING:
    from ..server import Gateway
    from ..session import Session

log = logging.getLogger("gateway.metrics")

disable_created_metrics()  # no `_created` series beside each counter: half the lines, nothing a dashboard reads

REQUEST_TYPES = frozenset(request_types())
"""The ``type`` label's values (with ``unknown`` for a type no schema defines)."""
CLOSE_CODES = frozenset({*(int(c) for c in CloseCode), 1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010,
                         1011, 1012, 1013, 1014, 1015})
"""Close codes counted by number: the protocol's (PROTOCOL.md 10.5) and RFC 6455's; any other is ``other``."""
AUTH_REFUSAL_REASONS = (
    "credentials_missing", "unknown_key", "bad_token", "token_expired", "token_not_yet_valid", "forbidden_origin",
    "max_sessions_per_key", "scope_command", "scope_room", "resume_only", "not_admin",
)
"""Why a credential was refused (the ``reason`` label of ``gateway_auth_refusals_total``; README, "Operating it")."""
LEAVE_CAUSES = ("left", "ejected", "error", "shutdown", "disconnected", "hangup")
"""``left.reason`` (protocol/schema/events/left.json): the ``cause`` label of ``gateway_leaves_total``."""
RESUME_FAILURES = ("unknown_session", "principal", "replay_gap", "wrong_state")
"""``resume_failed``'s ``details.reason``, and ``wrong_state`` (not a fresh connection)."""

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Request latency buckets (s): a ping is sub-millisecond, a Daily join or dial-out takes seconds."""


def request_label(rtype: str) -> str:
    return rtype if rtype in REQUEST_TYPES else "unknown"


def close_label(code: int | None) -> str:
    if code is None:
        return "1006"
    return str(code) if code in CLOSE_CODES else "other"


class GatewayMetrics:
    """The metrics of one gateway: its registry, the counters cold code updates, and the scrape-time collector.

    Args:
        gateway: the gateway whose sessions, backends and rooms are summed at scrape time.
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.registry = CollectorRegistry()
        """This gateway's registry (never the process-global one)."""
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        self.retired = Totals()
        """What ended sessions counted, so that the per-frame sums never go down."""
        r = self.registry
        self.requests = Counter("gateway_requests", "Requests answered, by type and outcome (ok or error).",
                                ["type", "outcome"], registry=r)
        self.request_seconds = Histogram("gateway_request_duration_seconds",
                                         "Time from reading a request to queueing its reply (requests that ran).",
                                         ["type"], buckets=REQUEST_BUCKETS, registry=r)
        self.joins = Counter("gateway_joins", "join requests, by backend and outcome (ok or error).",
                             ["backend", "outcome"], registry=r)
        self.observes = Counter("gateway_observes",
                                "observe requests, by backend, target (room or session) and outcome.",
                                ["backend", "target", "outcome"], registry=r)
        self.leaves = Counter("gateway_leaves", "Sessions that left a room or stopped observing, by backend and cause.",
                              ["backend", "cause"], registry=r)
        self.resumes = Counter("gateway_resumes", "Sessions resumed on a new connection.", registry=r)
        self.resumes_failed = Counter("gateway_resumes_failed", "resume requests refused, by reason.", ["reason"],
                                      registry=r)
        self.connections = Counter("gateway_connections", "WebSocket connections admitted (each opened a session).",
                                   registry=r)
        self.closes = Counter("gateway_connections_closed",
                              "WebSocket connections closed, by close code and by whom (gateway or client).",
                              ["code", "by"], registry=r)
        self.auth_refusals = Counter("gateway_auth_refusals", "Credentials refused, by reason.", ["reason"],
                                     registry=r)
        self.loop_lag = Histogram("gateway_event_loop_lag_seconds",
                                  "How late the event loop ran a timer (sampled every 0.25 s).",
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                                  registry=r)
        self.loop_lag_last = Gauge("gateway_event_loop_lag_last_seconds", "The latest event-loop lag sample.",
                                   registry=r)
        r.register(GatewayCollector(gateway, self.retired))
        for reason in AUTH_REFUSAL_REASONS:  # every series exists from the start: rate() needs a zero
            self.auth_refusals.labels(reason)
        for reason in RESUME_FAILURES:
            self.resumes_failed.labels(reason)
        self._lag_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start sampling the event loop's lag (on the running loop)."""
        self._lag_task = asyncio.create_task(watch_loop_lag(self.loop_lag, self.loop_lag_last), name="loop-lag")

    async def close(self) -> None:
        task, self._lag_task = self._lag_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric now, and its content type (a scrape)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    # ------------------------------------------------------------------ what cold code reports

    def request_done(self, rtype: str, ok: bool, seconds: float | None) -> None:
        """A request answered; ``seconds`` from reading it to its reply (None: refused before it ran)."""
        label = request_label(rtype)
        self.requests.labels(label, "ok" if ok else "error").inc()
        if seconds is not None:
            self.request_seconds.labels(label).observe(seconds)

    def joined(self, backend: str, ok: bool) -> None:
        self.joins.labels(self._backend(backend), "ok" if ok else "error").inc()

    def observed(self, backend: str, target: str, ok: bool) -> None:
        self.observes.labels(self._backend(backend), target, "ok" if ok else "error").inc()

    def left(self, backend: str, cause: str) -> None:
        self.leaves.labels(self._backend(backend), cause if cause in LEAVE_CAUSES else "other").inc()

    def resumed(self) -> None:
        self.resumes.inc()

    def resume_failed(self, reason: str) -> None:
        self.resumes_failed.labels(reason if reason in RESUME_FAILURES else "other").inc()

    def connection_opened(self) -> None:
        self.connections.inc()

    def connection_closed(self, code: int | None, by: str) -> None:
        """A connection ended with ``code`` (None: no close frame, 1006), closed first by ``gateway`` or ``client``."""
        self.closes.labels(close_label(code), by).inc()

    def auth_refused(self, reason: str) -> None:
        self.auth_refusals.labels(reason if reason in AUTH_REFUSAL_REASONS else "other").inc()

    def retire(self, session: Session) -> None:
        """``session`` ended: keep what it counted (called once, when the gateway forgets it)."""
        self.retired.add_session(session)

    def _backend(self, name: str) -> str:
        return name if name in self.gateway.backends.names else "none"


__all__ = ["AUTH_REFUSAL_REASONS", "GatewayMetrics", "Totals", "close_label", "request_label"]
