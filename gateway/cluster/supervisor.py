"""``daily-gateway --workers N``: N node processes sharing one port, a Redis for them, dead ones restarted.

Each worker is a whole gateway node (its own event loop, its own core) that binds the public
port with SO_REUSEPORT, so the kernel spreads new connections over the workers, and a private
port of its own that other nodes bridge to (docs/CLUSTER.md, "Workers"). A worker that dies takes
only its own sessions; the supervisor starts another at once (after a back-off when workers die
young, so a crash loop does not spin). A worker that wants to be replaced (recycling:
``--max-session-hours``, ``--max-rss-mb``) says ``draining`` on its status pipe: its replacement
starts at once while it drains, and it is not restarted when it exits.

With no Redis URL the supervisor starts a redis-server of its own on a free loopback port (when
one is installed) and stops it after the workers: the directory of one machine's workers.

Stop: SIGTERM or SIGINT is passed on to every worker (each drains and exits); past
``stop_timeout`` the rest are killed. A second signal kills them at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .redis_server import RedisServer, RedisServerError, find_redis_server

log = logging.getLogger("gateway.cluster.supervisor")

STATUS_FD_ENV = "GATEWAY_SUPERVISOR_FD"
"""A worker's end of its status pipe (a file descriptor number): one line per state change."""
WORKER_INDEX_ENV = "GATEWAY_WORKER_INDEX"
"""Which worker slot (0..N-1) a worker fills; a replacement gets the slot of the one it replaces."""
REDIS_URL_ENV = "GATEWAY_REDIS_URL"
"""The Redis every worker uses (the given one, or the supervisor's own)."""

YOUNG_DEATH_S = 10.0
"""A worker that dies younger than this is restarted after a growing back-off (0.5 s doubling to 10 s)."""
MAX_BACKOFF_S = 10.0


class SupervisorLink:
    """A worker's side of its status pipe: tells the supervisor it is ready or draining."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.parent = os.getppid()

    @classmethod
    def from_env(cls) -> SupervisorLink | None:
        """The link when this process runs under a supervisor, else None."""
        raw = os.environ.get(STATUS_FD_ENV, "")
        return cls(int(raw)) if raw.isdigit() else None

    def tell(self, state: str, detail: str = "") -> None:
        """Send ``ready <address>`` or ``draining <why>``; a gone supervisor is ignored."""
        line = f"{state} {detail}".strip() + "\n"
        with contextlib.suppress(OSError):
            os.write(self.fd, line.encode())

    def supervisor_alive(self) -> bool:
        """False once the supervisor is gone (this process was re-parented): the worker should drain and exit."""
        return os.getppid() == self.parent


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) a SO_REUSEPORT socket on ``host:port`` (port 0: a free one) so the workers can
    bind the same port and the port stays this supervisor's while workers come and go."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


@dataclass
class Worker:
    """One worker process in its slot."""

    index: int
    process: asyncio.subprocess.Process
    started_at: float
    status: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    address: str = ""
    draining: bool = False


class Supervisor:
    """Runs ``workers`` copies of a worker command, keeps them running, and stops them together."""

    def __init__(self, command: Callable[[int], Sequence[str]], workers: int, *, redis_url: str | None = None,
                 start_redis: bool = True, stop_timeout: float = 30.0, ready_timeout: float = 60.0,
                 env: dict[str, str] | None = None) -> None:
        if workers < 1:
            raise ValueError("--workers must be at least 1")
        self.command = command
        """The argv of the worker in a slot (the cli: ``python -m gateway ... --port P --redis-url U``)."""
        self.size = workers
        self.redis_url = redis_url
        self.start_redis = start_redis
        self.stop_timeout = stop_timeout
        self.ready_timeout = ready_timeout
        self.env = env
        self.redis: RedisServer | None = None
        self.workers: dict[int, Worker] = {}
        """The live worker of each slot (a draining one is moved to ``retiring`` when replaced)."""
        self.retiring: list[Worker] = []
        self._spawned: list[Worker] = []
        """Every worker started and not known to have exited (what wait_stopped waits for)."""
        self.restarts = 0
        self._backoff: dict[int, float] = {}
        self._stopping = False
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        """Start Redis if needed, then every worker; returns when all said ``ready`` (or ``ready_timeout``)."""
        if self.redis_url is None and self.start_redis:
            if find_redis_server() is None:
                raise RedisServerError("no --redis-url and redis-server is not installed "
                                       "(apt-get install redis-server, or scripts/install_redis.sh)")
            self.redis = await asyncio.to_thread(RedisServer().start)
            self.redis_url = self.redis.url
            log.info("= started redis-server for the workers at %s", self.redis_url)
        for index in range(self.size):
            self.workers[index] = await self._spawn(index)
        try:
            await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in self.workers.values())), self.ready_timeout)
        except TimeoutError:
            log.warning("= not every worker was ready within %.0f s", self.ready_timeout)

    async def _spawn(self, index: int) -> Worker:
        read_fd, write_fd = os.pipe()
        env = {**(self.env if self.env is not None else os.environ), STATUS_FD_ENV: str(write_fd),
               WORKER_INDEX_ENV: str(index)}
        if self.redis_url:
            env[REDIS_URL_ENV] = self.redis_url
        try:
            process = await asyncio.create_subprocess_exec(*self.command(index), env=env, pass_fds=(write_fd,),
                                                           stdin=asyncio.subprocess.DEVNULL)
        finally:
            os.close(write_fd)
        worker = Worker(index, process, time.monotonic())
        worker.status = asyncio.create_task(self._read_status(worker, read_fd), name=f"worker-{index}-status")
        log.info("= worker %d started (pid %d)", index, process.pid)
        self._spawned = [w for w in self._spawned if w.process.returncode is None]
        self._spawned.append(worker)
        if self._stopping:  # stop() came while this one was starting (a replacement, a restart): it stops too
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        return worker

    async def _read_status(self, worker: Worker, read_fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb"))
        try:
            while line := await reader.readline():
                state, _, detail = line.decode(errors="replace").strip().partition(" ")
                if state == "ready":
                    worker.address = detail
                    worker.ready.set()
                elif state == "draining" and not worker.draining:
                    worker.draining = True
                    log.info("= worker %d (pid %d) is draining (%s): starting its replacement",
                             worker.index, worker.process.pid, detail or "asked")
                    await self._replace(worker)
        finally:
            transport.close()

    async def _replace(self, worker: Worker) -> None:
        if self._stopping or self.workers.get(worker.index) is not worker:
            return
        self.retiring.append(worker)
        self.workers[worker.index] = await self._spawn(worker.index)
        self._changed.set()

    # ------------------------------------------------------------------ run

    async def run(self) -> int:
        """Keep the slots filled until :meth:`stop`; returns 0."""
        while not self._stopping:
            waits = {asyncio.ensure_future(w.process.wait()): w for w in [*self.workers.values(), *self.retiring]}
            changed = asyncio.ensure_future(self._changed.wait())
            done, pending = await asyncio.wait({*waits, changed}, return_when=asyncio.FIRST_COMPLETED)
            for future in pending:
                future.cancel()
            self._changed.clear()
            for future in done:
                worker = waits.get(future)
                if worker is not None:
                    await self._exited(worker)
        return 0

    async def _exited(self, worker: Worker) -> None:
        code = worker.process.returncode
        if worker in self.retiring:
            self.retiring.remove(worker)
            log.info("= retired worker %d (pid %d) exited with %s", worker.index, worker.process.pid, code)
            return
        if self._stopping or self.workers.get(worker.index) is not worker:
            return
        lived = time.monotonic() - worker.started_at
        delay = 0.0
        if lived < YOUNG_DEATH_S:
            delay = min(MAX_BACKOFF_S, max(0.5, self._backoff.get(worker.index, 0.25) * 2))
            self._backoff[worker.index] = delay
        else:
            self._backoff.pop(worker.index, None)
        log.warning("= worker %d (pid %d) exited with %s after %.1f s: restarting%s", worker.index,
                    worker.process.pid, code, lived, f" in {delay:.1f} s" if delay else "")
        if delay:
            await asyncio.sleep(delay)
        if not self._stopping:
            self.restarts += 1
            self.workers[worker.index] = await self._spawn(worker.index)

    # ------------------------------------------------------------------ stop

    def stop(self, *, force: bool = False) -> None:
        """SIGTERM every worker (each drains and exits); ``force``: SIGKILL them."""
        self._stopping = True
        self._changed.set()
        for worker in [*self.workers.values(), *self.retiring]:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGKILL if force else signal.SIGTERM)

    async def wait_stopped(self) -> None:
        """Wait for the workers (killing those past ``stop_timeout``), then stop the Redis this supervisor started."""
        # Every worker started and not exited, not only the slots' and the retiring: one whose start was under
        # way when stop() came is in neither yet (_spawn sent it SIGTERM), so the list is read again each turn.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_timeout
        while live := [w for w in self._spawned if w.process.returncode is None]:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("= %d workers did not exit within %.0f s: killing them", len(live), self.stop_timeout)
                for worker in live:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
                await asyncio.wait([asyncio.ensure_future(w.process.wait()) for w in live], timeout=5)
                break
            await asyncio.wait([asyncio.ensure_future(w.process.wait()) for w in live], timeout=min(remaining, 0.5))
        everyone = self._spawned
        for worker in everyone:
            if worker.status is not None:
                worker.status.cancel()
        if self.redis is not None:
            await asyncio.to_thread(self.redis.close)
            self.redis = None


async def supervise(supervisor: Supervisor, *, on_ready: Callable[[], None] | None = None) -> int:
    """Start, run until SIGTERM / SIGINT (a second one kills the workers), stop; the process's exit status."""
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        supervisor.stop(force=signals > 1)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        await supervisor.start()
        if on_ready is not None:
            on_ready()
        if signals == 0:
            await supervisor.run()
    finally:
        supervisor.stop()
        await supervisor.wait_stopped()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway.cluster.supervisor --workers N [--port P] [--redis-url U] -- COMMAND...``.

    Runs COMMAND in N slots; ``{port}`` and ``{index}`` in COMMAND are replaced by the shared port
    (reserved here when 0) and the slot. ``daily-gateway --workers N`` builds the same from its flags.
    """
    parser = argparse.ArgumentParser(prog="python -m gateway.cluster.supervisor")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--stop-timeout", type=float, default=30.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a worker command is needed after --")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    reserved = reserve_port(args.host, args.port)
    port = reserved.getsockname()[1]

    def worker_command(index: int) -> list[str]:
        return [part.replace("{port}", str(port)).replace("{index}", str(index)) for part in command]

    supervisor = Supervisor(worker_command, args.workers, redis_url=args.redis_url, stop_timeout=args.stop_timeout)

    def announce() -> None:
        print(f"supervising {args.workers} workers on {args.host}:{port} (redis {supervisor.redis_url})", flush=True)

    try:
        return asyncio.run(supervise(supervisor, on_ready=announce))
    except RedisServerError as exc:
        print(f"supervisor: {exc}", file=sys.stderr)
        return 2
    finally:
        reserved.close()


if __name__ == "__main__":
    sys.exit(main())
