"""Cluster fixtures: a real redis-server on a free loopback port, started and killed by the tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from gateway.cluster.redis_server import RedisServer, find_redis_server
from tests.cluster.nodes import Cluster
from tests.conftest import ARTIFACTS


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of Debian's package (scripts/install_redis.sh) on 127.0.0.1, empty, stopped at the end."""
    if find_redis_server() is None:
        pytest.fail("redis-server is not installed: run scripts/install_redis.sh (make test does)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = RedisServer(log_path=ARTIFACTS / f"redis-{uuid.uuid4().hex[:6]}.log").start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def cluster(redis_server: RedisServer) -> Iterator[Cluster]:
    """Gateway nodes (real processes) on the test's Redis, in a namespace of their own; all stopped at the end,
    and none may have logged a traceback."""
    made = Cluster(redis_server)
    try:
        yield made
    finally:
        bad = made.stop_all()
    assert not bad, "a node logged a traceback:\n" + "\n---\n".join(bad)
