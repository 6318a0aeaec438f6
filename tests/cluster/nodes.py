"""Real gateway processes as nodes of one cluster (a real redis-server, a namespace of their own), for the tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.cluster.redis_server import RedisServer
from tests.conftest import GatewayProcess, start_gateway

HEARTBEAT_MS = 200
NODE_TTL_MS = 1000
"""Short failure bound for the tests: a node killed with -9 loses its leases within a second."""


@dataclass
class Cluster:
    """Nodes started by one test on one Redis; every one of them is stopped (or killed) at the end."""

    redis: RedisServer
    namespace: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:8]}")
    nodes: list[GatewayProcess] = field(default_factory=list)

    def start_node(self, *args: str, name: str = "node", env: dict[str, str] | None = None) -> GatewayProcess:
        node = start_gateway(
            "--redis-url", self.redis.url, "--cluster-namespace", self.namespace,
            "--cluster-heartbeat-ms", str(HEARTBEAT_MS), "--cluster-node-ttl-ms", str(NODE_TTL_MS), *args,
            name=name, env=env,
        )
        self.nodes.append(node)
        return node

    def stop_all(self) -> list[str]:
        """Stop every node still running; the logs of those that logged a traceback."""
        bad: list[str] = []
        for node in self.nodes:
            node.stop()
            if "Traceback" in node.log():
                bad.append(node.log()[-4000:])
        return bad


async def eventually(predicate: Callable[[], object], timeout: float, step: float = 0.05) -> object:
    """Poll a sync or async predicate until it is truthy (returned); fails past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(step)


async def session_holder(cluster: Cluster, session_id: str) -> str | None:
    """The node holding a session's lease in the cluster's directory (None: no record)."""
    from gateway.cluster.directory import Directory

    directory = Directory.from_url(cluster.redis.url, "probe", namespace=cluster.namespace)
    try:
        found = await directory.session(session_id)
        return found[0].holder if found is not None else None
    finally:
        await directory.close()


async def room_holder(cluster: Cluster, room_url: str) -> str | None:
    """The live node holding a local room's lease (None: nobody, or its node is gone)."""
    from gateway.cluster.directory import Directory

    directory = Directory.from_url(cluster.redis.url, "probe", namespace=cluster.namespace)
    try:
        return await directory.room_host(room_url)
    finally:
        await directory.close()
