"""The benchmark harness end to end at N=2 for a few seconds, so it cannot rot unnoticed.

The full benchmark (60 s per run, sweeps) is never run by the tests: ``bench/run.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the load generator needs Node")


def test_harness_gives_a_sane_result_for_gateway_and_relay(tmp_path: Path) -> None:
    """bench/run.py runs the gateway and the bare relay at N=2 and writes a report that delivers > 90 %."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--systems", "gateway,relay", "--n", "2",
         "--duration", "2", "--warmup", "1", "--name", "smoke", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=110, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert (tmp_path / "smoke.md").read_text().startswith("# Benchmark: smoke")
    assert report["machine"]["nproc"] >= 1 and report["machine"]["python"]
    runs = {r["system"]: r for r in report["runs"]}
    assert set(runs) == {"gateway", "relay"}
    for name, run in runs.items():
        assert run["connections"] == 2
        assert "error" not in run, run
        assert run["sent"] >= 2 * 50 * 2 * 0.9, (name, run)  # 2 clients x 50 frames/s x 2 s
        assert run["delivered"] > 0.9, (name, run)
        assert run["wrong_peer"] == 0, (name, run)
        latency = run["latency_ms"]
        assert 0 < latency["p50"] <= latency["p99"] < 1000, (name, latency)
        assert run["server_cpu_pct"] >= 0 and run["server_rss_mb"] > 0, (name, run)
        assert 0 < run["loadgen_cpu_pct"] < 100, (name, run)
    assert report["max_n"].keys() == {"gateway", "relay"}


def test_the_relay_on_the_gateways_connection_and_the_baseline_system_run(tmp_path: Path) -> None:
    """relay-net (bench/relay.py --impl net) and gateway-baseline (--baseline: here this checkout) deliver, with the CPU table."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--systems", "relay,relay-net,gateway-baseline", "--n", "2",
         "--baseline", str(ROOT), "--duration", "2", "--warmup", "1", "--name", "layers", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=150, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "layers.json").read_text())
    runs = {r["system"]: r for r in report["runs"]}
    assert set(runs) == {"relay", "relay-net", "gateway-baseline"}
    for name, run in runs.items():
        assert "error" not in run, run
        assert run["delivered"] > 0.9 and run["wrong_peer"] == 0, (name, run)
    assert "## Server CPU at the same N" in (tmp_path / "layers.md").read_text()
