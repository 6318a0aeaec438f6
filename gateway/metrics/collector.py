"""The scrape-time half of the metrics: what the hot path counts in plain integers, summed when scraped.

The per-frame code keeps counters as attributes (``Session.frames_in``, ``Outbox.media_sent``,
``AudioPlayout.late_frames``...) and never calls prometheus_client. :class:`GatewayCollector` walks the
live sessions, backends and rooms when Prometheus asks, on the event loop's thread (the HTTP route
runs there), and adds :class:`Totals` of the sessions that already ended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from protocol import constants
from protocol.errors import ErrorCode

from .. import build_info, compiled
from ..session.state import SessionState

if TYPE_CHECKING:
    from ..server import Gateway
    from ..session import Session

ERROR_CODES = frozenset(code.value for code in ErrorCode)
"""The ``code`` label's values (any other code an event carried counts as ``other``)."""
KINDS = ("text", "audio", "video")
"""The ``kind`` label of frames and bytes: text frames (JSON), binary audio and video frames."""


@dataclass
class Totals:
    """Per-frame counts of one or more sessions (what a scrape sums; what ended sessions leave behind)."""

    text_in: int = 0
    text_in_bytes: int = 0
    audio_in: int = 0
    audio_in_bytes: int = 0
    video_in: int = 0
    video_in_bytes: int = 0
    text_out: int = 0
    text_out_bytes: int = 0
    audio_out: int = 0
    audio_out_bytes: int = 0
    video_out: int = 0
    video_out_bytes: int = 0
    media_dropped: int = 0
    playout_late_frames: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    """Error code -> errors sent (error replies, ``error`` events)."""

    def copy(self) -> Totals:
        out = Totals(**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"})
        out.errors = Counter(self.errors)
        return out

    def add_session(self, session: Session) -> None:
        """Add what ``session`` counted so far (binary frames not of kind video count as audio)."""
        outbox = session.outbox
        self.text_in += session.text_in
        self.text_in_bytes += session.text_bytes_in
        self.video_in += session.video_in
        self.video_in_bytes += session.video_bytes_in
        self.audio_in += session.frames_in - session.video_in
        self.audio_in_bytes += session.bytes_in - session.video_bytes_in
        self.text_out += outbox.text_sent
        self.text_out_bytes += outbox.text_bytes_sent
        self.video_out += outbox.video_sent
        self.video_out_bytes += outbox.video_bytes_sent
        self.audio_out += outbox.media_sent - outbox.video_sent
        self.audio_out_bytes += outbox.media_bytes_sent - outbox.video_bytes_sent
        self.media_dropped += outbox.media_dropped
        self.playout_late_frames += session.playout_late_frames + (session.playout.late_frames if session.playout else 0)
        self.errors.update(outbox.errors_sent)


class GatewayCollector(Collector):
    """Families computed at scrape time from the gateway's live state plus ``retired`` (module docstring)."""

    def __init__(self, gateway: Gateway, retired: Totals) -> None:
        self.gateway = gateway
        self.retired = retired

    def collect(self) -> Iterator[Metric]:
        gateway = self.gateway
        sessions = list(gateway.sessions)
        totals = self.retired.copy()
        for session in sessions:
            totals.add_session(session)
        yield from self._frames(totals)
        yield from self._sessions(sessions)
        yield from self._rooms()
        yield from self._playout(sessions, totals)
        errors = CounterMetricFamily("gateway_errors", "Errors sent to clients (error replies and error events), by code.",
                                     labels=["code"])
        by_code: Counter[str] = Counter()
        for code, count in totals.errors.items():
            by_code[code if code in ERROR_CODES else "other"] += count
        for code in sorted(by_code):
            errors.add_metric([code], by_code[code])
        yield errors
        for backend in gateway.backends:
            for figure in backend.metrics():
                family = CounterMetricFamily if figure.kind == "counter" else GaugeMetricFamily
                yield family(f"gateway_{figure.name}", figure.help, value=figure.value)
        info = GaugeMetricFamily("gateway_build_info", "This gateway's build (always 1).",
                                 labels=["version", "protocol", "hot_path"])
        info.add_metric([build_info.version(), constants.SUBPROTOCOL,
                         "compiled" if compiled.summary().startswith("compiled") else "python"], 1)
        yield info

    @staticmethod
    def _frames(totals: Totals) -> Iterator[Metric]:
        for direction, verb in (("in", "received from"), ("out", "sent to")):
            frames = CounterMetricFamily(f"gateway_frames_{'received' if direction == 'in' else 'sent'}",
                                         f"WebSocket messages {verb} clients, by kind (text, audio, video).",
                                         labels=["kind"])
            size = CounterMetricFamily(f"gateway_{'received' if direction == 'in' else 'sent'}_bytes",
                                       f"Bytes of the WebSocket messages {verb} clients (payloads), by kind.",
                                       labels=["kind"])
            for kind in KINDS:
                frames.add_metric([kind], getattr(totals, f"{kind}_{direction}"))
                size.add_metric([kind], getattr(totals, f"{kind}_{direction}_bytes"))
            yield frames
            yield size
        yield CounterMetricFamily("gateway_media_dropped", "Media frames dropped for slow or detached clients.",
                                  value=totals.media_dropped)

    def _sessions(self, sessions: list[Session]) -> Iterator[Metric]:
        backends = [*self.gateway.backends.names, "none"]
        counts: Counter[tuple[str, str]] = Counter()
        detached = 0
        for session in sessions:
            counts[(session.state.value, session_backend(session))] += 1
            detached += session.detached
        family = GaugeMetricFamily("gateway_sessions", "Live sessions, by state and backend (none: not in a room).",
                                   labels=["state", "backend"])
        for state in SessionState:
            for backend in backends:
                family.add_metric([state.value, backend], counts[(state.value, backend)])
        yield family
        yield GaugeMetricFamily("gateway_sessions_detached", "Sessions whose connection dropped, waiting for a resume.",
                                value=detached)

    def _rooms(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("gateway_rooms", "Live rooms this gateway is in, by backend.", labels=["backend"])
        for backend in self.gateway.backends:
            family.add_metric([backend.name], len(backend.rooms()))
        yield family

    @staticmethod
    def _playout(sessions: list[Session], totals: Totals) -> Iterator[Metric]:
        buffered = [s.playout.buffered_ms for s in sessions if s.playout is not None]
        yield GaugeMetricFamily("gateway_playouts", "Sessions publishing audio through a playout.", value=len(buffered))
        yield GaugeMetricFamily("gateway_playout_buffered_max_ms", "The fullest playout buffer (ms of audio).",
                                value=max(buffered, default=0.0))
        yield GaugeMetricFamily("gateway_playout_buffered_sum_ms", "Audio buffered in all playouts together (ms).",
                                value=sum(buffered))
        yield CounterMetricFamily("gateway_playout_late_frames",
                                  "Playout slots given up after event-loop stalls (the audio was delayed, not lost).",
                                  value=totals.playout_late_frames)


def session_backend(session: Session) -> str:
    """The backend of the room the session is in or observes, or ``none``."""
    if session.transport is not None:
        return session.transport.backend or "none"
    if session.observation is not None:
        return session.observation.backend or "none"
    return "none"
