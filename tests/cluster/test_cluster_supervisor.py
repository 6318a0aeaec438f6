"""The supervisor as a real process: workers sharing a port (SO_REUSEPORT), restarts, recycling, its own Redis, stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cluster.redis_server import answers_ping, find_redis_server
from tests.conftest import ROOT

STUB = Path(__file__).with_name("stub_worker.py")
READY = re.compile(r"supervising (\d+) workers on 127\.0\.0\.1:(\d+) \(redis (\S+)\)")


class Supervised:
    def __init__(self, workers: int, env: dict[str, str] | None = None) -> None:
        if find_redis_server() is None:
            pytest.fail("redis-server is not installed: run scripts/install_redis.sh (make test does)")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cluster.supervisor", "--workers", str(workers), "--stop-timeout", "5",
             "--", sys.executable, str(STUB), "{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = READY.search(line)
        if not match:
            self.process.kill()
            raise AssertionError(f"supervisor did not start: {line!r} {self.process.stderr.read()}")  # type: ignore[union-attr]
        self.port = int(match.group(2))
        self.redis_url = match.group(3)

    def ask(self) -> tuple[int, str]:
        """One HTTP request to the shared port: (the answering worker's pid, its Redis URL)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        pid, _index, redis_url = data.split(b"\r\n\r\n", 1)[1].decode().split(" ")
        return int(pid), redis_url

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=5)
        return self.process.returncode, err


@pytest.fixture
def supervised() -> Iterator[list[Supervised]]:
    """Supervisors a test starts, stopped at the end."""
    started: list[Supervised] = []
    yield started
    for one in started:
        one.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_share_the_port_and_a_killed_worker_is_replaced_while_the_other_serves(supervised):
    """Two workers answer on one port; kill -9 of one: once it is gone every request is answered (only
    connections already queued on its socket are reset, by the kernel), and a new worker takes the empty
    slot within a few seconds."""
    sup = Supervised(2)
    supervised.append(sup)
    pids = {sup.ask()[0] for _ in range(60)}
    assert len(pids) == 2, "SO_REUSEPORT should spread 60 connections over both workers"
    victim, survivor = sorted(pids)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive(victim) and time.monotonic() < deadline:
        time.sleep(0.01)
    deadline = time.monotonic() + 10
    seen: set[int] = set()
    while time.monotonic() < deadline:
        seen.add(sup.ask()[0])  # never refused nor reset: the dead worker's socket left the port's group
        if len(seen - {victim, survivor}) == 1 and survivor in seen:
            break
        time.sleep(0.02)
    assert survivor in seen and victim not in seen - pids
    assert len(seen - pids) == 1, f"no replacement worker answered: {seen}"
    code, err = sup.stop()
    assert code == 0, err
    assert "exited with -9" in err and "restarting" in err


def test_without_a_redis_url_it_starts_redis_for_the_workers_and_stops_everything_on_sigterm(supervised):
    """No --redis-url: the workers get the supervisor's own redis-server (answering on loopback); SIGTERM
    stops the workers and then that Redis, and the supervisor exits 0."""
    sup = Supervised(2)
    supervised.append(sup)
    pids, urls = set(), set()
    for _ in range(40):
        pid, url = sup.ask()
        pids.add(pid)
        urls.add(url)
    assert urls == {sup.redis_url}
    redis_port = int(sup.redis_url.rsplit(":", 1)[1].split("/")[0])
    assert answers_ping(redis_port)
    started = time.monotonic()
    code, err = sup.stop()
    assert code == 0, err
    assert time.monotonic() - started < 10
    assert not any(alive(pid) for pid in pids)
    assert not answers_ping(redis_port)


def test_a_recycling_worker_is_replaced_before_it_leaves_and_not_restarted(supervised):
    """A worker that says `draining` gets its replacement at once; requests never fail across the swap, and
    the supervisor keeps exactly one worker per slot."""
    sup = Supervised(1, env={"STUB_RECYCLE_AFTER_S": "1.0"})
    supervised.append(sup)
    first = sup.ask()[0]
    deadline = time.monotonic() + 8
    seen = [first]
    while time.monotonic() < deadline and len(set(seen)) < 3:
        seen.append(sup.ask()[0])  # would raise ConnectionRefusedError in a gap
        time.sleep(0.02)
    assert len(set(seen)) >= 3, f"workers seen: {sorted(set(seen))}"
    code, err = sup.stop()
    assert code == 0, err
    assert "is draining (recycle): starting its replacement" in err
    assert "restarting" not in err


def test_a_worker_dying_young_is_restarted_after_a_growing_backoff(supervised):
    """A worker that crashes at start is restarted, but after 0.5, 1, 2... s: a crash loop does not spin."""
    sup = Supervised(1, env={"STUB_CRASH": "1"})
    supervised.append(sup)
    time.sleep(4)
    code, err = sup.stop()
    assert code == 0, err
    delays = [float(d) for d in re.findall(r"restarting in ([\d.]+) s", err)]
    assert 2 <= len(delays) <= 4, err
    assert delays == sorted(delays) and delays[0] >= 0.5
