"""bench/micro_daily.py end to end for a second, so the Daily path benchmark cannot rot unnoticed.

The full run (1, 4 and 16 sessions, 10 s each way) is never run by the tests; no timing is checked here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("daily")


def test_micro_daily_reports_every_frame_with_latency_and_cpu(tmp_path: Path) -> None:
    """micro_daily.py at 1 and 2 sessions for 1 s writes a report: every chunk relayed both ways, with latency and CPU figures."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "micro_daily.py"), "--sessions", "1,2", "--seconds", "1",
         "--output", str(tmp_path / "micro-daily.md"), "--json", str(tmp_path / "micro-daily.json")],
        capture_output=True, text=True, timeout=110, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "micro-daily.json").read_text())
    assert (tmp_path / "micro-daily.md").read_text().startswith("# Micro-benchmark: the Daily media path")
    assert report["machine"]["python"] and report["machine"]["daily_python"]
    assert [r["sessions"] for r in report["receive"]] == [r["sessions"] for r in report["send"]] == [1, 2]
    for run in report["receive"]:
        assert run["chunks_pushed"] == 50 * run["sessions"], run
        assert run["delivered"] == 1.0, run
        assert run["cpu_us_per_frame"] >= 0 and run["fake_cpu_us_per_frame"] >= 0, run
    for run in report["send"]:
        assert run["frames_sent"] == 50 * run["sessions"], run
        assert run["delivered"] >= 0.98, run  # the playout may pad or trim a partial last frame
    for run in report["receive"] + report["send"]:
        latency = run["latency_ms"]
        assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"], latency
