"""Metrics without sockets: the hot path's plain counters, their scrape-time sums, bounded labels, the loop-lag probe."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from prometheus_client import Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from gateway.admission import Admission
from gateway.backends.registry import BackendRegistry
from gateway.config import Config
from gateway.metrics import AUTH_REFUSAL_REASONS, GatewayMetrics, close_label, request_label
from gateway.metrics.loop_lag import watch_loop_lag
from gateway.session import Session
from gateway.session.outbox import Outbox
from protocol.constants import ColorFormat
from protocol.errors import CommandError, ErrorCode, InvalidParams
from protocol.media import encode_audio, encode_video
from tests.unit.test_outbox import RecordingSocket


def gateway_with(*sessions: Session) -> SimpleNamespace:
    gateway = SimpleNamespace(config=Config(), backends=BackendRegistry([]), sessions=set(sessions))
    gateway.metrics = GatewayMetrics(gateway)  # type: ignore[arg-type]
    return gateway


def samples(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.exposition()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


AUDIO = encode_audio(16, 1, 0, 16000, 1, bytes(640))
VIDEO = encode_video(17, 1, 0, 4, 2, ColorFormat.RGBA, bytes(32))


async def test_the_outbox_counts_text_audio_video_and_errors_by_code():
    """Written frames are counted by kind with their bytes (video told by its header), errors sent by code."""
    ws = RecordingSocket()
    box = Outbox(ws)  # type: ignore[arg-type]
    box.start()
    box.event("joined", {"x": 1})
    box.media(AUDIO)
    box.media(AUDIO)
    box.media(VIDEO)
    box.failure("r1", InvalidParams("bad"))
    box.error(CommandError(ErrorCode.BUFFER_FULL, "full"))
    box.event("error", {"code": "internal", "message": "x"})
    await box.close()
    text = [data for kind, data in ws.sent if kind == "text"]
    assert (box.text_sent, box.text_bytes_sent) == (len(text), sum(map(len, text)))
    assert (box.media_sent, box.media_bytes_sent) == (3, 2 * len(AUDIO) + len(VIDEO))
    assert (box.video_sent, box.video_bytes_sent) == (1, len(VIDEO))
    assert box.errors_sent == {"invalid_params": 1, "buffer_full": 1, "internal": 1}


async def test_scrape_sums_live_sessions_and_keeps_what_ended_ones_counted():
    """Frames and errors are summed over live sessions at scrape; a retired session's counts stay in the totals."""
    gateway = gateway_with()
    first, second = Session(gateway, Admission()), Session(gateway, Admission())  # type: ignore[arg-type]
    gateway.sessions.update({first, second})
    for session, frames in ((first, 3), (second, 5)):
        session.frames_in, session.bytes_in = frames, frames * 668
        session.text_in, session.text_bytes_in = 2, 40
        session.outbox.errors_sent["bad_json"] = 1
    second.video_in, second.video_bytes_in = 1, 100
    second.bytes_in += 100
    second.frames_in += 1
    metrics: GatewayMetrics = gateway.metrics
    assert sample(metrics, "gateway_frames_received_total", kind="audio") == 8
    assert sample(metrics, "gateway_frames_received_total", kind="video") == 1
    assert sample(metrics, "gateway_received_bytes_total", kind="audio") == 8 * 668
    assert sample(metrics, "gateway_received_bytes_total", kind="text") == 80
    assert sample(metrics, "gateway_errors_total", code="bad_json") == 2
    assert sample(metrics, "gateway_sessions", state="open", backend="none") == 2
    metrics.retire(second)
    gateway.sessions.discard(second)
    assert sample(metrics, "gateway_frames_received_total", kind="audio") == 8, "a retired session's frames were lost"
    assert sample(metrics, "gateway_errors_total", code="bad_json") == 2
    assert sample(metrics, "gateway_sessions", state="open", backend="none") == 1
    first.frames_in += 1
    assert sample(metrics, "gateway_frames_received_total", kind="audio") == 9


def test_labels_are_closed_sets():
    """Request types, close codes, refusal reasons and error codes outside their sets become unknown / other."""
    assert request_label("join") == "join" and request_label("x" * 500) == "unknown"
    assert close_label(4010) == "4010" and close_label(1000) == "1000" and close_label(4999) == "other"
    assert close_label(None) == "1006"
    gateway = gateway_with()
    metrics: GatewayMetrics = gateway.metrics
    metrics.auth_refused("a reason nobody listed")
    metrics.request_done("no-such-request", False, None)
    metrics.left("local", "some-cause")
    session = Session(gateway, Admission())  # type: ignore[arg-type]
    session.outbox.errors_sent["made_up_code"] = 2
    gateway.sessions.add(session)
    assert sample(metrics, "gateway_auth_refusals_total", reason="other") == 1
    assert sample(metrics, "gateway_requests_total", type="unknown", outcome="error") == 1
    assert sample(metrics, "gateway_leaves_total", backend="none", cause="other") == 1
    assert sample(metrics, "gateway_errors_total", code="other") == 2
    assert {reason for (name, labels) in samples(metrics) if name == "gateway_auth_refusals_total"
            for key, reason in labels if key == "reason"} == {*AUTH_REFUSAL_REASONS, "other"}


def test_request_latency_only_for_requests_that_ran():
    """A request refused before it ran counts as an error without a latency sample; one that ran adds both."""
    metrics: GatewayMetrics = gateway_with().metrics
    metrics.request_done("ping", True, 0.002)
    metrics.request_done("ping", False, None)
    assert sample(metrics, "gateway_requests_total", type="ping", outcome="ok") == 1
    assert sample(metrics, "gateway_requests_total", type="ping", outcome="error") == 1
    assert sample(metrics, "gateway_request_duration_seconds_count", type="ping") == 1
    assert sample(metrics, "gateway_request_duration_seconds_bucket", type="ping", le="0.0025") == 1


def test_each_gateway_has_its_own_registry():
    """Two gateways in one process count apart (tests run several; nothing goes to the global registry)."""
    one, two = gateway_with().metrics, gateway_with().metrics
    one.resumed()
    assert sample(one, "gateway_resumes_total") == 1 and sample(two, "gateway_resumes_total") == 0


@pytest.mark.parametrize("stall_s", [0.05, 0.2])
async def test_loop_lag_sees_a_blocked_loop(stall_s):
    """A callback blocking the loop for stall_s shows up as about that much lag in the next sample."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    histogram = Histogram("lag", "lag", registry=registry)
    last = Gauge("last", "last", registry=registry)
    task = asyncio.create_task(watch_loop_lag(histogram, last, interval=0.02))
    await asyncio.sleep(0.05)
    asyncio.get_running_loop().call_soon(time.sleep, stall_s)
    seen = 0.0
    for _ in range(20):
        await asyncio.sleep(0.02)
        seen = max(seen, last._value.get())
    task.cancel()
    assert stall_s * 0.7 <= seen <= stall_s + 0.5, seen
