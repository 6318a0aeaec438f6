"""Prometheus metrics end to end: /metrics parsed with prometheus_client's own parser after real traffic.

A gateway of the module's own (nothing else moves its counters), real clients joining, sending and
receiving audio, making requests, an error and a close; the figures must move by what was done. Then
who may scrape (an admin's credential when keys are set), the separate metrics port, and the Grafana
dashboard in docs/ naming only metrics that exist.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import websockets
from gateway_client import GatewayClient, GatewayError
from prometheus_client.parser import text_string_to_metric_families

from tests.audio import demo_speech
from tests.conftest import ROOT, GatewayProcess, start_gateway
from tests.e2e.test_auth import KEYS, OPS, SUBPROTOCOL, signer

DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """(every sample by name and labels, every family's type by name)."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def scrape(url: str, token: str | None = None) -> Samples:
    status, headers, body = get(url, token)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain"), headers
    return parse(body)[0]


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def metered() -> Iterator[GatewayProcess]:
    """An open gateway of this module's own (both backends: the dashboard shows the Daily figures too)."""
    gw = start_gateway(name="gateway-metrics")
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def test_metrics_move_with_real_traffic(metered, clients, room):
    """Joins, audio both ways, requests with their latency, errors by code, sessions and rooms, a client's close, loop lag."""
    metrics = f"{metered.http_url}/metrics"
    before = scrape(metrics)
    speaker = await GatewayClient.connect(metered.url)
    listener = await GatewayClient.connect(metered.url)
    clients.extend([speaker, listener])
    await speaker.join(room, user_name="speaker", audio_out={"sample_rate": 16000})
    joined = await listener.join(room, user_name="listener", audio_in={"sample_rate": 16000})
    for _ in range(3):
        await listener.request("ping")
    await speaker.send_audio(demo_speech(16000, seconds=1.0), chunk_ms=20)
    heard = await listener.record(1.5)
    assert heard, "the listener heard nothing"
    with pytest.raises(GatewayError) as refused:
        await listener.request("join", {"room_url": room, "audio_in": {"sample_rate": 200000}})
    assert refused.value.code == "unsupported_format"
    await listener.send_raw("{not json")
    assert (await listener.next_protocol_error()).code == "bad_json"
    with pytest.raises(GatewayError):
        await listener.request("get-participant-counts-but-wrong")

    during = scrape(metrics)
    assert value(during, "gateway_sessions", state="joined", backend="local") - value(before, "gateway_sessions", state="joined", backend="local") == 2
    assert value(during, "gateway_rooms", backend="local") >= 1
    assert value(during, "gateway_playouts") >= 1
    for name, labels, exactly in [
        ("gateway_joins_total", {"backend": "local", "outcome": "ok"}, 2),
        ("gateway_request_duration_seconds_count", {"type": "ping"}, 3),
        ("gateway_connections_total", {}, 2),
    ]:
        moved = value(during, name, **labels) - value(before, name, **labels)
        assert moved == exactly, f"{name}{labels} moved by {moved}, expected {exactly}"
    for name, labels, at_least in [
        ("gateway_requests_total", {"type": "ping", "outcome": "ok"}, 3),
        ("gateway_requests_total", {"type": "join", "outcome": "error"}, 1),
        ("gateway_requests_total", {"type": "unknown", "outcome": "error"}, 1),
        ("gateway_errors_total", {"code": "unsupported_format"}, 1),
        ("gateway_errors_total", {"code": "bad_json"}, 1),
        ("gateway_errors_total", {"code": "unknown_type"}, 1),
        ("gateway_frames_received_total", {"kind": "audio"}, 50),  # 1 s of 20 ms frames
        ("gateway_received_bytes_total", {"kind": "audio"}, 50 * (28 + 640)),
        ("gateway_frames_received_total", {"kind": "text"}, 7),
        ("gateway_frames_sent_total", {"kind": "audio"}, 40),
        ("gateway_sent_bytes_total", {"kind": "audio"}, 40 * (28 + 640)),
        ("gateway_frames_sent_total", {"kind": "text"}, 10),
        ("gateway_event_loop_lag_seconds_count", {}, 1),
    ]:
        moved = value(during, name, **labels) - value(before, name, **labels)
        assert moved >= at_least, f"{name}{labels} moved by {moved}, expected >= {at_least}"
    assert value(during, "gateway_frames_received_total", kind="video") == value(before, "gateway_frames_received_total", kind="video")
    assert value(during, "gateway_request_duration_seconds_sum", type="ping") > value(before, "gateway_request_duration_seconds_sum", type="ping")
    info = [dict(labels) for name, labels in during if name == "gateway_build_info"]
    assert len(info) == 1 and info[0]["protocol"] == SUBPROTOCOL and info[0]["hot_path"] in ("compiled", "python")

    await speaker.close()  # a close the client meant: 1000, its session leaves
    assert joined["participant_id"]
    for _ in range(50):
        after = scrape(metrics)
        if value(after, "gateway_connections_closed_total", code="1000", by="client") > value(during, "gateway_connections_closed_total", code="1000", by="client"):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the client's close (1000) was not counted")
    assert value(after, "gateway_leaves_total", backend="local", cause="disconnected") - value(during, "gateway_leaves_total", backend="local", cause="disconnected") == 1
    assert value(after, "gateway_sessions", state="joined", backend="local") == value(during, "gateway_sessions", state="joined", backend="local") - 1
    # What the ended session counted stays in the totals: counters never go down.
    for name, labels in [("gateway_frames_received_total", {"kind": "audio"}), ("gateway_frames_sent_total", {"kind": "text"}),
                         ("gateway_received_bytes_total", {"kind": "text"}), ("gateway_errors_total", {"code": "bad_json"})]:
        assert value(after, name, **labels) >= value(during, name, **labels), name


async def test_watching_and_resuming_are_counted(metered, clients, room):
    """observe by room and by session, and a refused resume, each move their counter."""
    metrics = f"{metered.http_url}/metrics"
    before = scrape(metrics)
    bot = await GatewayClient.connect(metered.url)
    by_room = await GatewayClient.connect(metered.url)
    by_session = await GatewayClient.connect(metered.url)
    resumer = await GatewayClient.connect(metered.url)
    clients.extend([bot, by_room, by_session, resumer])
    await bot.join(room)
    await by_room.observe(room)
    await by_session.watch_session((await bot.stats())["session_id"])
    with pytest.raises(GatewayError):
        await resumer.request("resume", {"resume_token": "nobody.x", "last_seq": 0})
    after = scrape(metrics)
    assert value(after, "gateway_observes_total", backend="local", target="room", outcome="ok") - value(before, "gateway_observes_total", backend="local", target="room", outcome="ok") == 1
    assert value(after, "gateway_observes_total", backend="local", target="session", outcome="ok") - value(before, "gateway_observes_total", backend="local", target="session", outcome="ok") == 1
    assert value(after, "gateway_resumes_failed_total", reason="unknown_session") - value(before, "gateway_resumes_failed_total", reason="unknown_session") == 1
    assert value(after, "gateway_sessions", state="observing", backend="local") - value(before, "gateway_sessions", state="observing", backend="local") == 2


@pytest.fixture(scope="module")
def keyed_metrics() -> Iterator[tuple[GatewayProcess, int]]:
    """A gateway with API keys, and /metrics also on a port of its own."""
    port = free_port()
    gw = start_gateway("--metrics-port", str(port), name="gateway-metrics-keys", env={"GATEWAY_API_KEYS": KEYS})
    yield gw, port
    assert gw.stop() == 0
    assert "Traceback" not in gw.log()


async def test_metrics_need_an_admin_credential_when_keys_are_set(keyed_metrics, room):
    """No credential: 401 with WWW-Authenticate; an observer's token: 403; an API key: 200. Each refusal is counted, as is a denied WebSocket."""
    gw, _ = keyed_metrics
    url = f"{gw.http_url}/metrics"
    before = scrape(url, OPS)
    status, headers, body = get(url)
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer") and "unauthorized" in body
    assert get(url, "not-a-key-of-this-gateway")[0] == 401
    observer, _ = signer().mint(sub="scraper", room="*", role="observer")
    assert get(url, observer)[0] == 403
    admin_token, _ = signer().mint(sub="prometheus", room="*", role="admin")
    assert get(url, admin_token)[0] == 200
    async with websockets.connect(gw.url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    await asyncio.sleep(0.2)
    after = scrape(url, OPS)
    for reason, count in [("credentials_missing", 2), ("unknown_key", 1), ("not_admin", 1)]:
        moved = value(after, "gateway_auth_refusals_total", reason=reason) - value(before, "gateway_auth_refusals_total", reason=reason)
        assert moved == count, f"{reason}: {moved}"
    assert value(after, "gateway_connections_closed_total", code="4001", by="gateway") - value(before, "gateway_connections_closed_total", code="4001", by="gateway") == 1
    log = gw.log()
    assert "refused /metrics" in log and OPS not in log and admin_token not in log


async def test_a_scoped_request_refusal_is_counted(keyed_metrics, clients, room):
    """A token's request outside its room is unauthorized and counted as scope_room."""
    gw, _ = keyed_metrics
    url = f"{gw.http_url}/metrics"
    before = scrape(url, OPS)
    token, _ = signer().mint(sub="narrow", room="local://only-this", role="bot")
    client = await GatewayClient.connect(gw.url, token=token)
    clients.append(client)
    with pytest.raises(GatewayError) as refused:
        await client.join(room)
    assert refused.value.code == "unauthorized"
    after = scrape(url, OPS)
    assert value(after, "gateway_auth_refusals_total", reason="scope_room") - value(before, "gateway_auth_refusals_total", reason="scope_room") == 1


def test_the_metrics_port_serves_without_a_credential(keyed_metrics):
    """--metrics-port serves the same metrics without a credential (loopback by default); other paths are 404."""
    gw, port = keyed_metrics
    samples = scrape(f"http://127.0.0.1:{port}/metrics")
    assert any(name == "gateway_sessions" for name, _ in samples)
    assert get(f"http://127.0.0.1:{port}/")[0] == 404
    assert "metrics: http://127.0.0.1:" in gw.log()


async def test_every_metric_the_grafana_dashboard_uses_exists(metered, clients, room):
    """docs/grafana-dashboard.json is valid JSON whose queries name only metrics /metrics exposes (after some traffic)."""
    client = await GatewayClient.connect(metered.url)
    clients.append(client)
    await client.join(room)
    status, _, body = get(f"{metered.http_url}/metrics")
    assert status == 200
    samples, types = parse(body)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "info": ("_info",),
                "summary": ("_sum", "_count", ""), "unknown": ("",)}
    exposed = {name for name, _ in samples} | {f"{name}{s}" for name, kind in types.items() for s in suffixes.get(kind, ("",))}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in _panels(dashboard) for t in panel.get("targets", [])]
    assert len(exprs) >= 10, "the dashboard has almost no queries"
    used = {m for expr in exprs for m in re.findall(r"\b(?:gateway|process|python)_[a-z0-9_]+\b", expr)}
    missing = sorted(used - exposed)
    assert not missing, f"the dashboard uses metrics /metrics does not have: {missing}"
    assert {"gateway_sessions", "gateway_requests_total", "gateway_event_loop_lag_seconds_bucket"} <= used


def _panels(node: object) -> Iterator[dict]:
    if isinstance(node, dict):
        if "targets" in node:
            yield node
        for child in node.get("panels", []):
            yield from _panels(child)
    elif isinstance(node, list):
        for child in node:
            yield from _panels(child)


def test_dashboard_file_is_where_the_readme_says():
    """The README's operating section points at the dashboard file that exists."""
    assert DASHBOARD.is_file()
    assert "docs/grafana-dashboard.json" in (ROOT / "README.md").read_text()
