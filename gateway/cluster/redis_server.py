"""A redis-server child process on a free loopback port.

``daily-gateway --workers N`` without ``--redis-url`` starts one for its workers when Debian's
redis-server is installed (scripts/install_redis.sh; docs/CLUSTER.md, "Workers"), and the tests
start theirs the same way. It listens on 127.0.0.1 only, keeps nothing on disk unless asked
(``persist``), and is stopped with its owner: a crash of Redis loses the directory, never a room.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

READY_TIMEOUT_S = 10.0
"""How long a starting redis-server may take to answer PING."""


class RedisServerError(RuntimeError):
    """redis-server is missing, or did not start or answer in time."""


def find_redis_server() -> str | None:
    """The redis-server executable: ``$REDIS_SERVER``, then the PATH, then Debian's /usr/bin and /usr/sbin."""
    candidates = [os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server",
                  "/usr/sbin/redis-server"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before us: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis on 127.0.0.1:``port`` answers PING (RESP inline command; no client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server child: :meth:`start`, :meth:`stop`, :meth:`kill` (-9) and :meth:`restart` on the same port."""

    def __init__(self, *, executable: str | None = None, port: int = 0, persist: bool = False,
                 log_path: Path | None = None) -> None:
        self.executable = executable or find_redis_server()
        self.port = port
        """0 until started on a free port; kept across :meth:`restart`."""
        self.persist = persist
        """Keep the data set across a restart (append-only file); False: a restart starts empty."""
        self.log_path = log_path
        self._dir = Path(tempfile.mkdtemp(prefix="gateway-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self, port: int) -> list[str]:
        assert self.executable is not None
        return [
            self.executable, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", str(self._dir), "--save", "", "--appendonly", "yes" if self.persist else "no",
            "--daemonize", "no", "--loglevel", "warning", "--logfile", "",
        ]

    def start(self, timeout: float = READY_TIMEOUT_S) -> RedisServer:
        """Start and wait until it answers PING (a taken port is retried on another, at most 5 times)."""
        if self.executable is None:
            raise RedisServerError("redis-server is not installed (scripts/install_redis.sh installs Debian's)")
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or free_loopback_port()
            if self._launch(port, timeout):
                self.port = port
                return self
        raise RedisServerError(f"redis-server did not start (log: {self.log_path or 'stderr'})")

    def _launch(self, port: int, timeout: float) -> bool:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - the child's
        try:
            self.process = subprocess.Popen(self._command(port), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # exited: most likely the port was taken meanwhile
            if answers_ping(port):
                return True
            time.sleep(0.02)
        self.kill()
        return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: Redis vanishes as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def restart(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Stop and start again on the same port (empty unless ``persist``)."""
        self.stop()
        if not self._launch(self.port, timeout):
            raise RedisServerError(f"redis-server did not restart on port {self.port}")

    def close(self) -> None:
        """Stop it and remove its data folder."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.close()
