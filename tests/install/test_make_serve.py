"""`make serve` and the editable install's console script start the product as a new user does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.compiled import HOT_MODULES

from tests.install.helpers import clean_env, free_port, health, join_demo, start

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "daily-gateway"
COMPILED_EXPECTED = (ROOT / "build" / "fast" / ".built").exists() or bool(os.environ.get("CI"))
"""`make setup` compiled the hot path here (always in CI, where `make test` builds it first)."""

pytestmark = pytest.mark.timeout(600)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_serve_serves_the_demo_room_and_stops_cleanly(tmp_path):
    """`make serve PORT=...` starts, prints the dashboard URL, serves local://demo, and stops on SIGTERM leaving nothing."""
    port = free_port()
    started = start(["make", "--no-print-directory", "serve", f"PORT={port}"], cwd=ROOT, env=clean_env(), timeout=500)
    try:
        assert started.url == f"ws://127.0.0.1:{port}/v1"
        assert any(f"http://127.0.0.1:{port}/dashboard/" in line for line in started.lines)
        assert health(started)["status"] == "ok"
        got = join_demo(sys.executable, started.url, tmp_path)
        assert "Demo Talker" in got["names"] and got["frames"] >= 25
    finally:
        code = started.stop()
    assert code in (0, 2, -signal.SIGTERM), code  # make itself dies of the group's SIGTERM
    output = "".join(started.lines)
    assert "Traceback" not in output and "gateway.server: stopped" in output, output[-3000:]


def test_console_script_runs_from_any_directory(tmp_path):
    """The editable install's `daily-gateway`, started from an unrelated directory, serves local://demo."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip("no console script beside this interpreter (not the project's virtual environment)")
    started = start([str(CONSOLE_SCRIPT), "--host", "127.0.0.1", "--port", "0", "--demo"], cwd=tmp_path,
                    env=clean_env())
    try:
        _, hot_path = started.startup()
        if COMPILED_EXPECTED:
            assert hot_path == f"compiled with mypyc ({len(HOT_MODULES)} of {len(HOT_MODULES)} modules)"
        got = join_demo(sys.executable, started.url, tmp_path)
        assert got["frames"] >= 25
    finally:
        assert started.stop() == 0


def test_version_flag_from_any_directory(tmp_path):
    """`daily-gateway --version` works outside the checkout and names the commit of the checkout."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip("no console script beside this interpreter")
    out = subprocess.run([str(CONSOLE_SCRIPT), "--version"], cwd=tmp_path, env=clean_env(), capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    assert out.endswith(f"+g{commit}") and out.startswith("daily-gateway ")
