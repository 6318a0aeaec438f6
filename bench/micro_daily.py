"""Micro-benchmark of the Daily backend's receive path: SDK audio callback -> bytes at a WebSocket client.

    .venv/bin/python bench/micro_daily.py          # writes bench/results/micro-daily.md (about 30 s)

A real gateway process runs its Daily backend on the daily-python fake (``tests/fakes/daily.py``,
driven over loopback by ``tests/fakes/daily_remote.py``). For each of N sessions, one remote
participant speaks: the fake's audio thread calls the gateway's renderer callback every 20 ms at
real time, as daily-python's native thread does, and the session's client receives 20 ms frames.

* **Latency**: for each 20 ms chunk, from the moment the fake hands it to the gateway's callback
  (``time.monotonic`` in the gateway process) to the moment the client process has read the
  binary frame (``time.monotonic`` there; both are Linux's system-wide CLOCK_MONOTONIC). The
  client asks for the renderer's own rate and 20 ms frames, so chunk k is frame k.
* **CPU per frame**: the gateway process's CPU time (``/proc/<pid>/stat``, all threads) during the
  run divided by the frames relayed. It includes the fake SDK's own per-chunk work, as the real
  SDK's native threads would count in the same process; VAD is on, as by default.

Loopback only; the numbers are for this machine and are not checked by any test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio import demo_speech  # noqa: E402
from tests.fakes.daily_remote import DailyHarness, fake_daily_gateway  # noqa: E402

FRAME_MS = 20


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def run_case(harness: DailyHarness, sessions: int, seconds: float) -> dict[str, Any]:
    """``sessions`` bots, each hearing one speaking participant for ``seconds``; latency and CPU."""
    bots = []
    for _ in range(sessions):
        client = await harness.connect()
        _, fake = await harness.join(client, audio_in={"sample_rate": 16000, "frame_ms": FRAME_MS})
        speaker = (await fake.add_participant(user_name="speaker"))["id"]
        renderer = await fake.wait_for_renderer(speaker)
        if (renderer["sample_rate"], renderer["callback_interval_ms"]) != (16000, FRAME_MS):
            raise RuntimeError(f"renderer {renderer} differs from the client's format: frames would not pair")
        await fake.stamp_renderer(speaker)
        await fake.null_renderer(speaker, "bench-null")
        bots.append((client, fake, speaker))
    speech = demo_speech(16000)
    pcm = (speech * (int(seconds * 16000 * 2 / len(speech)) + 1))[: int(seconds * 16000) * 2]
    baseline, _ = await pushing(harness, bots, pcm, seconds, source="bench-null")
    for client, _, _ in bots:
        client.drain_audio()
    cpu, wall = await pushing(harness, bots, pcm, seconds)
    latencies: list[float] = []
    pushed = received = 0
    for client, fake, speaker in bots:
        stamps = await fake.stamps(speaker)
        frames = [f for f in client.drain_audio() if f.participant_id == speaker]
        pushed += len(stamps)
        received += len(frames)
        latencies += [(f.received_at - t) * 1000 for f, t in zip(frames, stamps, strict=False)]
        await client.leave()
    return {
        "sessions": sessions,
        "seconds": seconds,
        "chunks_pushed": pushed,
        "frames_received": received,
        "delivered": received / pushed if pushed else 0.0,
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "max": max(latencies),
            "mean": statistics.fmean(latencies),
        },
        "cpu_us_per_frame": cpu / received * 1e6 if received else 0.0,
        "fake_cpu_us_per_frame": baseline / pushed * 1e6 if pushed else 0.0,
        "cpu_pct": 100 * cpu / wall,
    }


async def pushing(
    harness: DailyHarness, bots: list[Any], pcm: bytes, seconds: float, *, source: str = "microphone"
) -> tuple[float, float]:
    """Every bot's speaker speaks ``pcm`` at once, at real time; (gateway CPU seconds, wall seconds) meanwhile."""
    pid = harness.gw.process.pid
    cpu, wall = cpu_seconds(pid), time.monotonic()
    pushes = [await fake.push_audio(speaker, pcm, 16000, audio_source=source) for _, fake, speaker in bots]
    for push in pushes:
        await harness.remote.wait_push(push, timeout=seconds + 10)
    await asyncio.sleep(0.5)  # the last frames reach the clients
    return cpu_seconds(pid) - cpu, time.monotonic() - wall


async def measure(harness: DailyHarness, cases: list[int], seconds: float) -> list[dict[str, Any]]:
    await harness.ensure_loaded()
    results = []
    for sessions in cases:
        results.append(await run_case(harness, sessions, seconds))
    await harness.close()
    return results


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    import websockets

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "daily_python": metadata.version("daily-python"),
    }


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Micro-benchmark: the Daily receive path",
        "",
        f"Date {m['date']}; {m['nproc']} cores ({m['cpu']}); Python {m['python']}, websockets {m['websockets']}, "
        f"daily-python {m['daily_python']} (the tests' fake stands in for its native side). Written by "
        f"`bench/micro_daily.py`: N gateway sessions in N Daily rooms, each hearing one participant speak "
        f"16 kHz mono for {report['seconds']:g} s, delivered by the fake SDK's audio thread every 20 ms at real "
        "time; each client receives 16 kHz 20 ms frames, VAD on. Latency: SDK callback (gateway process) to the "
        "frame read by the client process. CPU: the gateway process, all threads, per frame relayed.",
        "",
        "| sessions | frames relayed | delivered | latency p50 / p95 / p99 / max (ms) | CPU per frame (us): process / fake alone / gateway | gateway process CPU |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        lat = r["latency_ms"]
        lines.append(
            f"| {r['sessions']} | {r['frames_received']} | {r['delivered']:.4f} | "
            f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f} / {lat['max']:.2f} | "
            f"{r['cpu_us_per_frame']:.0f} / {r['fake_cpu_us_per_frame']:.0f} / "
            f"{r['cpu_us_per_frame'] - r['fake_cpu_us_per_frame']:.0f} | {r['cpu_pct']:.1f} % |"
        )
    lines += [
        "",
        'A frame is 20 000 us of audio: at 100 us of CPU per frame one stream uses 0.5 % of a core. "process" is '
        "the gateway process's CPU per frame relayed, which includes the fake SDK's own per-chunk work; \"fake "
        'alone" is the same pushes to a renderer that drops them (measured just before, same sessions); '
        '"gateway" is the difference: hand-over to the loop, track (reframe, VAD, level), outbox and WebSocket '
        "write. CPU times come from /proc in 10 ms ticks, and the 2 cores are shared: read the figures to about "
        "+-20 %. Compare with the local backend's in-process fan-out in [`micro.md`](micro.md) (no socket).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,4,16", help="comma-separated session counts, one run each")
    parser.add_argument("--seconds", type=float, default=5.0, help="speech per run")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "micro-daily.md"), help="'-': print only")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args(argv)
    cases = [int(n) for n in args.sessions.split(",")]
    with tempfile.TemporaryDirectory() as tmp, fake_daily_gateway(Path(tmp), "--log-level", "warning") as started:
        runs = asyncio.run(measure(DailyHarness(*started), cases, args.seconds))
    report = {"machine": machine(), "seconds": args.seconds, "runs": runs}
    text = render(report)
    print(text)
    if args.output != "-":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
