"""What the cluster's directory costs Redis: claims, renewals, lookups, heartbeats, memory, per lease and per second.

Starts its own redis-server on a free loopback port (gateway/cluster/redis_server.py), drives it
with the gateway's own Directory (the Lua scripts nodes run), and reads Redis's CPU time
(``INFO cpu``) and memory (``INFO memory``) around each step, so the figures are Redis's work,
not the client's. docs/CLUSTER.md ("What Redis carries") turns them into the scaling limits.

    .venv/bin/python bench/cluster_directory.py                 # 1k, 10k, 50k leases (~1 min)
    .venv/bin/python bench/cluster_directory.py --leases 1000   # quick

Writes ``bench/results/cluster-directory.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from pathlib import Path

from gateway.cluster.directory import Directory, SessionRecord, Timing, resume_digest
from gateway.cluster.node import NodeInfo
from gateway.cluster.redis_server import RedisServer

RESULTS = Path(__file__).resolve().parent / "results"


async def redis_cpu(directory: Directory) -> float:
    info = await directory.redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def redis_memory(directory: Directory) -> int:
    return int((await directory.redis.info("memory"))["used_memory"])


def session_record(i: int) -> bytes:
    """A realistic session record: a Daily join with a meeting token and the usual audio settings."""
    return SessionRecord(
        f"{i:08d}-2b1f-4062-887e-19149dba4774", "join", f"https://example.daily.co/room-{i % 500}", "daily",
        params={"user_name": f"bot {i}", "meeting_token": "x" * 300, "audio_in": {"sample_rate": 16000, "channels": 1,
                "frame_ms": 20}, "audio_out": {"sample_rate": 24000, "channels": 1}, "vad": {"analyzer": "webrtc"}},
        principal={"name": "key:k1", "role": "admin"}, resume_digest=resume_digest(f"s{i}.tok"), created_at=time.time(),
    ).to_json()


async def measure(url: str, leases: int) -> dict[str, float]:
    directory = Directory.from_url(url, "bench-node", timing=Timing(redis_timeout_s=30), namespace=f"bench{leases}")
    await directory.redis.flushall()
    base_memory = await redis_memory(directory)
    info = NodeInfo("bench-node", "ws://127.0.0.1:1/v1", version="bench", sessions=leases)
    await directory.heartbeat(info)
    out: dict[str, float] = {"leases": leases}

    cpu0, t0 = await redis_cpu(directory), time.perf_counter()
    held = []
    for start in range(0, leases, 200):
        claims = await asyncio.gather(*(directory.claim("session", f"s{i}", session_record(i))
                                        for i in range(start, min(leases, start + 200))))
        held += [claim.lease for claim in claims if claim.lease is not None]
    out["claim_us_per_lease_wall"] = (time.perf_counter() - t0) / leases * 1e6
    out["claim_redis_cpu_us_per_lease"] = (await redis_cpu(directory) - cpu0) / leases * 1e6
    out["memory_bytes_per_session"] = (await redis_memory(directory) - base_memory) / leases

    rounds = 5
    cpu0, t0 = await redis_cpu(directory), time.perf_counter()
    for _ in range(rounds):
        outcome = await directory.renew(held)
        assert len(outcome.renewed) == leases
    out["renew_ms_per_round_wall"] = (time.perf_counter() - t0) / rounds * 1e3
    out["renew_redis_cpu_us_per_lease"] = (await redis_cpu(directory) - cpu0) / (rounds * leases) * 1e6

    probes = min(leases, 2000)
    cpu0, t0 = await redis_cpu(directory), time.perf_counter()
    for start in range(0, probes, 200):
        await asyncio.gather(*(directory.session(f"s{i}") for i in range(start, min(probes, start + 200))))
    out["lookup_redis_cpu_us"] = (await redis_cpu(directory) - cpu0) / probes * 1e6

    beats = 500
    cpu0 = await redis_cpu(directory)
    for _ in range(beats):
        await directory.heartbeat(info)
    out["heartbeat_redis_cpu_us"] = (await redis_cpu(directory) - cpu0) / beats * 1e6
    await directory.close()
    return out


async def main(sizes: list[int]) -> list[dict[str, float]]:
    server = RedisServer().start()
    try:
        return [await measure(server.url, n) for n in sizes]
    finally:
        server.close()


def write(rows: list[dict[str, float]]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    (RESULTS / "cluster-directory.json").write_text(json.dumps({"date": stamp, "rows": rows}, indent=2))
    lines = [
        "# The cluster directory's cost to Redis", "",
        f"{stamp}, {platform.machine()}, Python {platform.python_version()}, redis-server of the machine "
        "(bench/cluster_directory.py). Redis CPU is its user+system time (`INFO cpu`) per operation; "
        "wall times are one client's round trips over loopback.", "",
        "| leases | claim: Redis CPU us / wall us | renew: Redis CPU us per lease / ms per round | lookup: Redis CPU us "
        "| heartbeat: Redis CPU us | Redis memory per session (bytes) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {int(r['leases'])} | {r['claim_redis_cpu_us_per_lease']:.1f} / {r['claim_us_per_lease_wall']:.0f} "
                     f"| {r['renew_redis_cpu_us_per_lease']:.2f} / {r['renew_ms_per_round_wall']:.1f} "
                     f"| {r['lookup_redis_cpu_us']:.1f} | {r['heartbeat_redis_cpu_us']:.1f} "
                     f"| {r['memory_bytes_per_session']:.0f} |")
    path = RESULTS / "cluster-directory.md"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leases", default="1000,10000,50000", help="comma-separated lease counts")
    args = parser.parse_args()
    path = write(asyncio.run(main([int(n) for n in args.leases.split(",")])))
    print(path.read_text())
