"""Starting the product as a user does (a console script, `make serve`) and checking it over real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LISTENING = re.compile(r"listening on (ws://\S+)")
STARTUP = re.compile(r"^daily-gateway (\S+), hot path: (.+)$")

CLIENT_SCRIPT = """
import asyncio, json, sys
from gateway_client import GatewayClient

async def main(url):
    async with await GatewayClient.connect(url) as gw:
        joined = await gw.join("local://demo", audio_in={"sample_rate": 16000, "frame_ms": 20})
        frames = []
        async def take():
            async for frame in gw.audio():
                frames.append(frame)
                if len(frames) >= 25:
                    return
        await asyncio.wait_for(take(), 20)
        await gw.leave()
        print(json.dumps({"names": [p["info"]["userName"] for p in joined["participants"].values()],
                          "frames": len(frames), "bytes": sum(len(f.pcm) for f in frames),
                          "speakers": sorted({f.participant_id for f in frames})}))

asyncio.run(main(sys.argv[1]))
"""
"""Joins local://demo with the Python client and reports the audio frames it received (run by any interpreter)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Started:
    """A product process started by a test, in its own process group, and what it printed."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return self.url.replace("ws://", "http://", 1).rsplit("/v1", 1)[0]

    def startup(self) -> tuple[str, str]:
        """(version, hot path words) from the start-up line."""
        for line in self.lines:
            match = STARTUP.match(line.strip())
            if match:
                return match.group(1), match.group(2)
        raise AssertionError(f"no start-up line in {self.lines}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM to the whole group, a bounded wait, and nothing of the group left running."""
        pgid = self.process.pid
        if self.process.poll() is None:
            os.killpg(pgid, signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(5)
            raise AssertionError("the process did not stop within the bounded wait after SIGTERM") from None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not group_alive(pgid):
                return code
            time.sleep(0.1)
        os.killpg(pgid, signal.SIGKILL)
        raise AssertionError("a process of the group was left behind after stopping")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def start(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> Started:
    """Start ``command`` in a new process group; return once it prints its listening line."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    assert process.stdout is not None
    started = Started(process, "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        started.lines.append(line)
        match = LISTENING.search(line)
        if match and line.startswith("daily-gateway listening"):
            started.url = match.group(1)
            _drain(process, started.lines)
            return started
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("did not start:\n" + "".join(started.lines))


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    """Keep reading the child's output (so that a full pipe never blocks it) into ``lines``."""
    import threading

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()


def http_get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.headers.get("Content-Type", ""), response.read()


def health(started: Started) -> dict[str, object]:
    status, _, body = http_get(started.http_url + "/healthz")
    assert status == 200
    return json.loads(body)


def join_demo(python: str, url: str, cwd: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run the client script with ``python`` (another interpreter: an installed client) against ``url``."""
    done = subprocess.run([python, "-c", CLIENT_SCRIPT, url], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def clean_env() -> dict[str, str]:
    """The environment without anything that points Python at the checkout."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GATEWAY_PLAIN_PYTHON", "PYTHONSAFEPATH")}



