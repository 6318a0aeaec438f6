"""``daily-gateway --workers N``: real worker processes sharing one port, a redis-server of their own, restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from gateway_client import GatewayClient

from tests.cluster.nodes import eventually
from tests.conftest import start_gateway


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def workers_of(supervisor_pid: int) -> set[int]:
    """The supervisor's gateway workers (its redis-server child aside)."""
    out = set()
    for pid in children(supervisor_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gateway" in cmdline and b"-m" in cmdline:
            out.add(pid)
    return out


async def test_two_workers_share_the_port_and_one_room_and_a_killed_worker_is_replaced(room):
    """--workers 2 without --redis-url: the supervisor starts a redis-server, two workers listen on one port; clients
    spread over both are all in one room (relayed between the workers); a worker killed with -9 is restarted and
    the port keeps serving; SIGTERM stops everything with status 0."""
    gateway = start_gateway("--workers", "2", "--cluster-heartbeat-ms", "200", "--cluster-node-ttl-ms", "1000",
                            name="workers")
    clients: list[GatewayClient] = []
    try:
        supervisor = gateway.process.pid
        await eventually(lambda: len(workers_of(supervisor)) == 2, 10)
        for i in range(10):
            client = await GatewayClient.connect(gateway.url)
            clients.append(client)
            await client.join(room, user_name=f"c{i}")
        assert "relayed to node" in gateway.log(), "all ten connections landed on one worker"
        ids = {c.participant_id for c in clients}
        assert set(await clients[0].participants()) == ids

        before = workers_of(supervisor)
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        await eventually(lambda: len(workers_of(supervisor)) == 2 and victim not in workers_of(supervisor), 15)
        await eventually(lambda: gateway.log().count("= cluster node ") == 3, 20)  # the replacement registered
        started = time.monotonic()

        async def serves() -> bool:
            try:
                async with await GatewayClient.connect(gateway.url) as client:
                    await client.join(f"{room}-after", user_name="after")
                return True
            except Exception:  # noqa: BLE001 - a connection the killed worker had queued, or its room's lease
                return False

        for _ in range(6):  # connections land on either worker: each must serve
            await eventually(serves, 10)
        assert time.monotonic() - started < 30
    finally:
        for client in clients:
            await client.close()
        code = gateway.stop(timeout=20)
    assert code == 0, gateway.log()[-3000:]
    assert "Traceback" not in gateway.log()
    assert not workers_of(gateway.process.pid)


async def test_workers_past_max_session_hours_are_recycled_while_the_port_keeps_serving():
    """--max-session-hours: a worker past it says it is draining, the supervisor starts its replacement at once and
    does not restart it when it exits; clients connecting meanwhile are always served."""
    # --shutdown-timeout 5: a worker's exit after "stopped" has been seen to hang now and then (a known defect,
    # the closing note of 2026-12-07); its backstop (shutdown_timeout + 10 s) then ends it within this test's wait.
    gateway = start_gateway("--workers", "2", "--max-session-hours", "0.0015", "--cluster-heartbeat-ms", "200",
                            "--cluster-node-ttl-ms", "1000", "--shutdown-timeout", "5", name="workers-recycle")
    try:
        deadline = time.monotonic() + 14  # each worker recycles 5.4 s after it started
        served = 0
        while time.monotonic() < deadline:
            async with await GatewayClient.connect(gateway.url) as client:
                assert (await client.request("ping")) is not None
                served += 1
            await asyncio.sleep(0.1)
        log = gateway.log()
        assert "recycling this node (max_session_hours)" in log
        assert "is draining (max_session_hours): starting its replacement" in log
        assert "retired worker" in log
        assert served > 20
    finally:
        code = gateway.stop(timeout=20)
    assert code == 0
