"""What running as a cluster costs: the bridge per frame, re-homing after a node dies, CPU per stream with 1 and 2 workers.

    .venv/bin/python bench/cluster.py                       # ~3 min -> bench/results/cluster.md/.json
    .venv/bin/python bench/cluster.py --duration 10 --n 100 --name cluster-quick

**Bridge.** Two gateway nodes (real processes) on a local redis-server. A speaker on node A, which
hosts the room, publishes 16 kHz speech in 20 ms frames at real time; ``--listeners`` listeners
receive it on node A directly and as many on node B, relayed to A (``gateway/cluster/relay.py``),
in the same run. Per listener frame ``j`` of the speaker's track: ``arrival(j) - sent(j)``; the
bridge adds the difference between the relayed and the direct listeners at the same percentile.
Node B does nothing but relay (its clients' sessions run on A), so its CPU during the window,
less its idle CPU over as long just before, divided by the frames it relayed, is the bridge's CPU
per frame.

**Re-homing.** With the default timing, a node hosting a local room and serving a session is killed with -9;
a client of another node joins that room again and again until it succeeds, and the session's client resumes
through that node (re-joined): seconds from the kill, per trial.

**Workers.** ``bench/loadgen.mjs`` (N clients in pairs, each pair a local room, every client
sending and receiving 16 kHz audio at real time) against ``daily-gateway`` (one process) and
against ``daily-gateway --workers 2`` (two nodes sharing the port, the supervisor's own Redis),
one after the other in the same run. Connections land on either worker at random, so about half
of the pairs are split over the two workers and one side relayed. CPU is every process of the
server (supervisor, workers, Redis) during the window; per stream = CPU / N. This machine has 2
cores that the load generator shares (nothing is pinned here): the ratio of CPU per stream is the
figure to read, not the streams one core carries (``bench/run.py`` measures that, pinned).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "clients" / "python"))
sys.path.insert(0, str(BENCH))

import numpy as np  # noqa: E402
from gateway_client import GatewayClient  # noqa: E402
from run import ensure_node, machine_info  # noqa: E402

from gateway.cluster.redis_server import RedisServer  # noqa: E402
from protocol.constants import OutboundTrack  # noqa: E402
from protocol.media import encode_audio  # noqa: E402

RATE = 16000
FRAME_MS = 20
LISTENING = re.compile(r"listening on (wss?://\S+)")
RESULTS = BENCH / "results"


# ---------------------------------------------------------------------------- processes


class Node:
    """A gateway process started for the benchmark (its log in bench/results/logs/)."""

    def __init__(self, name: str, *args: str) -> None:
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"cluster-{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--host", "127.0.0.1", "--port", "0", "--backends", "local",
             "--log-level", "warning", *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = ""
        deadline = time.monotonic() + 90
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                return
        self.stop()
        raise RuntimeError(f"{name} did not start; log:\n{self.log_path.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """CPU of this process and every live descendant (workers, their Redis), in seconds."""
        return sum(_cpu(pid) for pid in [self.process.pid, *_descendants(self.process.pid)])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        out += children
        frontier += children
    return out


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


# ---------------------------------------------------------------------------- the bridge


async def bridge_cost(listeners: int, seconds: float) -> dict[str, Any]:
    """A speaker on the hosting node; listeners on it and on a relaying node, in one run."""
    with RedisServer() as redis:
        common = ("--redis-url", redis.url, "--cluster-namespace", f"bench-{os.getpid()}")
        host, relay = Node("host", *common), Node("relaying", *common)
        clients: list[GatewayClient] = []
        try:
            room = f"local://bridge-{os.getpid()}"
            speaker = await GatewayClient.connect(host.url)
            clients.append(speaker)
            joined = await speaker.join(room, user_name="speaker", audio_in={"enabled": False},
                                        audio_out={"sample_rate": RATE, "channels": 1})
            heard: dict[str, list[list[Any]]] = {"direct": [], "relayed": []}
            for kind, url in (("direct", host.url), ("relayed", relay.url)):
                for i in range(listeners):
                    client = await GatewayClient.connect(url)
                    clients.append(client)
                    heard[kind].append([])
                    client.on_audio = heard[kind][-1].append
                    await client.join(room, user_name=f"{kind}-{i}", audio_out={"enabled": False},
                                      audio_in={"sample_rate": RATE, "channels": 1, "frame_ms": FRAME_MS})
            idle0, t_idle0 = relay.cpu_seconds(), time.monotonic()
            await asyncio.sleep(seconds)
            idle_rate = (relay.cpu_seconds() - idle0) / (time.monotonic() - t_idle0)
            cpu0, host0, t0 = relay.cpu_seconds(), host.cpu_seconds(), time.monotonic()
            sent = await send_realtime(speaker, seconds)
            await asyncio.sleep(0.5)
            wall = time.monotonic() - t0
            relay_cpu = relay.cpu_seconds() - cpu0 - idle_rate * wall
            host_cpu = host.cpu_seconds() - host0
            out: dict[str, Any] = {"listeners": listeners, "seconds": seconds, "frames_sent": len(sent)}
            relayed_frames = 0
            for kind, lists in heard.items():
                latencies: list[float] = []
                for frames in lists:
                    mine = [f for f in frames if f.participant_id == joined["participant_id"]]
                    if kind == "relayed":
                        relayed_frames += len(frames)
                    for frame in mine:
                        j = frame.seq - 1
                        if 0 <= j < len(sent):
                            latencies.append(1000 * (frame.received_at - sent[j]))
                out[kind] = {"frames": len(latencies), "p50_ms": pct(latencies, 50), "p90_ms": pct(latencies, 90),
                             "p99_ms": pct(latencies, 99)}
            out["added_ms"] = {q: round(out["relayed"][q] - out["direct"][q], 2)
                               for q in ("p50_ms", "p90_ms", "p99_ms")
                               if out["relayed"][q] is not None and out["direct"][q] is not None}
            out["relaying_node_cpu_s"] = round(relay_cpu, 3)
            out["relayed_frames"] = relayed_frames
            out["bridge_us_per_frame"] = round(1e6 * relay_cpu / relayed_frames, 1) if relayed_frames else None
            out["hosting_node_cpu_pct"] = round(100 * host_cpu / wall, 1)
            out["relaying_node_cpu_pct"] = round(100 * relay_cpu / wall, 1)
            return out
        finally:
            for client in clients:
                await client.close()
            relay.stop()
            host.stop()


async def send_realtime(speaker: GatewayClient, seconds: float) -> list[float]:
    """Speech-like noise in 20 ms frames at real time on a drift-free clock; each frame's send time (monotonic)."""
    step = RATE * FRAME_MS // 1000
    rng = np.random.default_rng(7)
    sent: list[float] = []
    t0 = time.monotonic() + 0.05
    for k in range(int(seconds * 1000 / FRAME_MS)):
        delay = t0 + k * FRAME_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pcm = (rng.standard_normal(step) * 3000).astype(np.int16).tobytes()
        sent.append(time.monotonic())
        await speaker.send_raw(encode_audio(OutboundTrack.MICROPHONE, k + 1, 0, RATE, 1, pcm))
    return sent


# ---------------------------------------------------------------------------- re-homing


async def rehome(trials: int) -> dict[str, Any]:
    """Default timing (heartbeat 1 s, node TTL 5 s): kill -9 the node hosting a local room and serving a session;
    how long until a join of that room through another node succeeds, and until the session's resume is re-joined."""
    joins: list[float] = []
    resumes: list[float] = []
    with RedisServer() as redis:
        for trial in range(trials):
            common = ("--redis-url", redis.url, "--cluster-namespace", f"rehome-{os.getpid()}-{trial}")
            doomed, survivor = Node(f"doomed-{trial}", *common), Node(f"survivor-{trial}", *common)
            try:
                room = f"local://rehome-{trial}"
                member = await GatewayClient.connect(doomed.url, auto_resume=True)
                await member.join(room, user_name="member")
                await asyncio.sleep(1.0)  # its session's lease is in the directory
                member._url = survivor.url  # noqa: SLF001 - the balancer's choice after the death
                member.resume_backoff = (0.1, 0.1)
                resumed_at: list[float] = []
                member.on_resumed = lambda _: resumed_at.append(time.monotonic())
                newcomer = await GatewayClient.connect(survivor.url)
                killed = time.monotonic()
                doomed.process.kill()
                doomed.process.wait(5)
                while True:
                    try:
                        await newcomer.join(room, user_name="newcomer")
                        joins.append(time.monotonic() - killed)
                        break
                    except Exception:  # noqa: BLE001 - unavailable until the lease is free
                        await asyncio.sleep(0.1)
                    if time.monotonic() - killed > 30:
                        break
                try:
                    await member.wait_resumed(timeout=30)
                    resumes.append(resumed_at[0] - killed)
                except (TimeoutError, ConnectionError, IndexError):
                    pass
                await member.close()
                await newcomer.close()
            finally:
                survivor.stop()
                doomed.stop()
    return {"trials": trials, "node_ttl_ms": 5000, "heartbeat_ms": 1000,
            "join_s": [round(x, 2) for x in joins], "resume_rejoined_s": [round(x, 2) for x in resumes]}


# ---------------------------------------------------------------------------- workers


def workers_run(workers: int, n: int, duration: float, warmup: float) -> dict[str, Any]:
    """``bench/loadgen.mjs`` against one gateway (workers 1) or ``--workers N``; CPU of the whole server."""
    args = ("--workers", str(workers)) if workers > 1 else ()
    node = Node(f"workers-{workers}", *args)
    config = {"mode": "gateway", "url": node.url, "n": n, "warmup_s": warmup, "duration_s": duration, "grace_s": 2.0,
              "run_id": f"w{workers}x{os.getpid()}", "vad": True}
    result: dict[str, Any] = {"workers": workers, "connections": n}
    loadgen = subprocess.Popen(["node", str(BENCH / "loadgen.mjs"), json.dumps(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=BENCH)
    cpu0 = wall0 = gen0 = 0.0
    try:
        assert loadgen.stdout is not None
        for line in loadgen.stdout:
            event = json.loads(line)
            kind = event.get("event")
            if kind == "window_start":
                cpu0, gen0, wall0 = node.cpu_seconds(), _cpu(loadgen.pid), time.monotonic()
            elif kind == "window_end":
                wall = time.monotonic() - wall0
                cpu = node.cpu_seconds() - cpu0
                result["server_cpu_pct"] = round(100 * cpu / wall, 1)
                result["server_cpu_s"] = round(cpu, 3)
                result["loadgen_cpu_pct"] = round(100 * (_cpu(loadgen.pid) - gen0) / wall, 1)
                result["cpu_ms_per_stream_second"] = round(1000 * cpu / wall / n, 3)
            elif kind == "result":
                result.update({k: v for k, v in event.items() if k not in ("event", "connections", "mode")})
                if result.get("received") and "server_cpu_s" in result:
                    result["cpu_us_per_delivered_frame"] = round(1e6 * result["server_cpu_s"] / result["received"], 1)
            elif kind == "error":
                result["error"] = event["error"]
        loadgen.wait(30)
    finally:
        if loadgen.poll() is None:
            loadgen.kill()
            loadgen.wait(5)
        node.stop()
    return result


# ---------------------------------------------------------------------------- report


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    b = report["bridge"]
    lines = [
        "# The cluster's costs: the bridge per frame, CPU per stream with 1 and 2 workers",
        "",
        f"Date {m['date']}; {m['nproc']} cores ({m['cpu_model']}), kernel {m['kernel']}; Python {m['python']}. "
        "Shared machine: other work ran meanwhile; nothing pinned. `bench/cluster.py` (its docstring says how).",
        "",
        f"## The bridge ({b['listeners']} listeners direct, {b['listeners']} relayed, {b['seconds']:g} s of 16 kHz "
        "audio in 20 ms frames)",
        "",
        "| listeners | frames | p50 ms | p90 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for kind in ("direct", "relayed"):
        r = b[kind]
        lines.append(f"| {kind} | {r['frames']} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} |")
    added = b["added_ms"]
    lines += [
        f"| **added by the bridge** | | {added.get('p50_ms')} | {added.get('p90_ms')} | {added.get('p99_ms')} |",
        "",
        f"Relaying node: {b['relaying_node_cpu_pct']} % of a core for {b['relayed_frames']} frames relayed "
        f"(its idle CPU subtracted): **{b['bridge_us_per_frame']} us of CPU per frame relayed** (both directions of "
        f"its sockets, one message each). Hosting node: {b['hosting_node_cpu_pct']} % of a core for everything.",
        "",
        "## Re-homing after kill -9 (default timing: heartbeat 1 s, node TTL 5 s)",
        "",
        f"A local room's join through another node succeeded after {report['rehome']['join_s']} s; the killed node's "
        f"session, resuming through the survivor, was re-joined after {report['rehome']['resume_rejoined_s']} s "
        "(seconds from the kill, per trial; until then: `unavailable`). The bound is `node_ttl_ms` + a heartbeat "
        "+ the client's retry delay.",
        "",
        "## CPU per stream, one process against `--workers 2` (one run, one after the other)",
        "",
        "| server | N | delivered | p50 ms | p99 ms | server CPU % | CPU ms per stream-second | CPU us per frame delivered "
        "| load generator CPU % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["workers"]:
        name = "one process" if r["workers"] == 1 else f"--workers {r['workers']}"
        delivered = r.get("delivered")
        latency = r.get("latency_ms") or {}
        lines.append(
            f"| {name} | {r['connections']} | {round(delivered, 4) if delivered is not None else r.get('error', '-')} | "
            f"{latency.get('p50', '-')} | {latency.get('p99', '-')} | {r.get('server_cpu_pct', '-')} | "
            f"{r.get('cpu_ms_per_stream_second', '-')} | {r.get('cpu_us_per_delivered_frame', '-')} | "
            f"{r.get('loadgen_cpu_pct', '-')} |"
        )
    one, two = (report["workers"] + [{}, {}])[:2]
    if one.get("cpu_us_per_delivered_frame") and two.get("cpu_us_per_delivered_frame"):
        ratio = two["cpu_us_per_delivered_frame"] / one["cpu_us_per_delivered_frame"]
        lines += ["", f"CPU per frame delivered with 2 workers / with one process: **{ratio:.2f}**. With 2 workers about "
                      "half the pairs are split over the workers, one side relayed (a hop per frame, above), and each "
                      "worker also runs its own heartbeat, renewals and room publishing; the supervisor and Redis are "
                      "counted. A figure far from 1 on a loaded machine says the run was starved (see delivered and "
                      "the latencies), not what a worker costs."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=8, help="listeners per node in the bridge run")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each measured window")
    parser.add_argument("--n", type=int, default=64, help="connections of the workers runs")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--trials", type=int, default=3, help="kill -9 trials of the re-homing measure")
    parser.add_argument("--name", default="cluster")
    args = parser.parse_args(argv)
    ensure_node()
    report: dict[str, Any] = {"machine": machine_info()}
    report["bridge"] = asyncio.run(bridge_cost(args.listeners, args.duration))
    report["rehome"] = asyncio.run(rehome(args.trials))
    report["workers"] = [workers_run(w, args.n, args.duration, args.warmup) for w in (1, 2)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(render(report))
    print(render(report))
    return report


if __name__ == "__main__":
    main()
