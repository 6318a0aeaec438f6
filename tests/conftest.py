"""Shared fixtures: a real gateway process on a free loopback port, and client factories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
LISTENING = re.compile(r"listening on (wss?://\S+)")


FOLDER_MARKS = {"unit": "unit", "e2e": "e2e", "fuzz": "fuzz", "bench": "bench", "install": "install",
                "cluster": "cluster"}
"""Each test folder's marker (pyproject.toml lists them): `-m unit` runs only the tests without I/O."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its folder's marker (the folder under tests/, subfolders included), so a part of the
    suite is one `-m` away."""
    for item in items:
        path = Path(str(item.fspath))
        folder = path.relative_to(ROOT / "tests").parts[0] if path.is_relative_to(ROOT / "tests") else ""
        if folder in FOLDER_MARKS:
            item.add_marker(FOLDER_MARKS[folder])


@dataclass
class GatewayProcess:
    """A gateway started by the tests; ``url`` is its WebSocket endpoint."""

    process: subprocess.Popen[str]
    url: str
    log_path: Path

    @property
    def http_url(self) -> str:
        return self.url.replace("ws", "http", 1).rsplit("/v1", 1)[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_gateway(
    *args: str, name: str = "gateway", env: dict[str, str] | None = None, log_path: Path | None = None
) -> GatewayProcess:
    """Start ``python -m gateway --port 0 ...`` and wait for its listening line (log: ``log_path``, else in artifacts)."""
    if log_path is None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log_path = ARTIFACTS / f"{name}-{uuid.uuid4().hex[:6]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_file = open(log_path, "w")  # noqa: SIM115 - handed to the child, closed with it
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--host", "127.0.0.1", "--port", "0", "--log-level", "debug", *args],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        cwd=ROOT,
        env=full_env,
    )
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = LISTENING.search(line)
        if match:
            return GatewayProcess(process, match.group(1), log_path)
    process.kill()
    raise RuntimeError(f"gateway did not start; log:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewayProcess]:
    """One gateway for the session, with the demo talker in local://demo."""
    gw = start_gateway("--demo", name="gateway-shared")
    yield gw
    code = gw.stop()
    log = gw.log()
    assert "Traceback" not in log, f"the gateway logged a traceback:\n{log[-5000:]}"
    assert code == 0, f"gateway exited with {code}"


@pytest.fixture
def room() -> str:
    """A fresh local room URL for one test."""
    return f"local://t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def connect(gateway: GatewayProcess) -> AsyncIterator[Callable[..., object]]:
    """Factory of connected clients, all closed at the end of the test."""
    from gateway_client import GatewayClient

    clients: list[GatewayClient] = []

    async def make(url: str | None = None, **kwargs: object) -> GatewayClient:
        client = await GatewayClient.connect(url or gateway.url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[object]]:
    """Clients a test connects itself (to a gateway of its own), closed at the end of the test."""
    opened: list[object] = []
    yield opened
    for client in opened:
        await client.close()  # type: ignore[attr-defined]
