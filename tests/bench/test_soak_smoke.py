"""bench/soak.py end to end for a few seconds, so the soak script cannot rot unnoticed (report shape, no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_soak_runs_and_reports_every_figure(tmp_path: Path) -> None:
    """A short soak with frequent drops, rejoins and bad frames writes .md and .json with every figure and loses no event."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--duration", "5", "--clients", "4", "--rooms", "2",
         "--drop-rate", "0.3", "--rejoin-rate", "0.1", "--bad-frame-rate", "0.5", "--name", "smoke",
         "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=110, cwd=ROOT,
    )
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert (tmp_path / "smoke.md").read_text().startswith("# Soak: smoke")
    totals = report["totals"]
    for key in ("sessions", "drops", "resumed", "resume_failed", "rejoins", "bad_frames", "app_sent", "app_received",
                "app_lost", "seq_gaps", "media_frames", "media_gaps_connected", "media_missing_connected",
                "media_gaps_resume", "media_missing_resume", "errors", "closes"):
        assert key in totals, key
    assert totals["sessions"] >= 4 and totals["app_received"] > 0 and totals["media_frames"] > 0
    assert set(report["memory"]) >= {"rss_start_mb", "rss_end_mb", "rss_max_mb", "growth_mb", "samples"}
    assert report["memory"]["rss_end_mb"] > 0
    assert report["events_lost"] == 0, report
    assert report["gateway"] == {**report["gateway"], "exit_code": 0, "tracebacks": 0}
    assert report["passed"] and out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
