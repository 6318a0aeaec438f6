"""Static checks that keep the code base honest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_is_clean():
    """mypy finds no type errors in the gateway, the protocol package and the Python client."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "gateway", "protocol", "clients/python/gateway_client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_ruff_is_clean():
    """ruff finds no lint errors in the gateway, the protocol package and the Python client."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "gateway", "protocol", "clients/python/gateway_client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:]
