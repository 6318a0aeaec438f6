"""Micro-benchmark of the Daily backend's media path: SDK audio callback -> client, and client -> SDK audio source.

    .venv/bin/python bench/micro_daily.py          # writes bench/results/micro-daily.md (about 2 minutes)

A real gateway process runs its Daily backend on the daily-python fake (``tests/fakes/daily.py``,
driven over loopback by ``tests/fakes/daily_remote.py``), with N sessions in N rooms.

* **Receive**: in each room one remote participant speaks: the fake's audio thread calls the
  gateway's renderer callback every 20 ms at real time, as daily-python's native thread does, and
  the session's client receives 20 ms frames. Latency per chunk: from the fake handing it to the
  callback (``time.monotonic`` in the gateway process) to the client process having read the
  frame (``time.monotonic`` there; both are Linux's system-wide CLOCK_MONOTONIC). The client asks
  for the renderer's own rate and 20 ms frames, so chunk k is frame k.
* **Send**: each client sends 20 ms frames at real time; latency per frame: from the send to the
  ``write_frames`` call that hands its last sample to the SDK's custom audio source.
* **CPU per frame**: the gateway process's CPU time (``/proc/<pid>/stat``, all threads) during a
  run divided by its frames. It includes the fake SDK's own work, as the real SDK's native threads
  would count in the same process; the receive runs measure the fake alone too and subtract it.

Loopback only; the numbers are for this machine and are not checked by any test.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
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


async def receive_case(harness: DailyHarness, sessions: int, seconds: float) -> dict[str, Any]:
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
        "latency_ms": summary(latencies),
        "cpu_us_per_frame": cpu / received * 1e6 if received else 0.0,
        "fake_cpu_us_per_frame": baseline / pushed * 1e6 if pushed else 0.0,
        "cpu_pct": 100 * cpu / wall,
    }


def summary(latencies: list[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean of latencies in ms (all 0 when there are none)."""
    if not latencies:
        return dict.fromkeys(("p50", "p95", "p99", "max", "mean"), 0.0)
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
    }


async def send_case(harness: DailyHarness, sessions: int, seconds: float) -> dict[str, Any]:
    """``sessions`` bots each publish ``seconds`` of audio in 20 ms frames at real time; latency to daily-python."""
    bots = []
    for _ in range(sessions):
        client = await harness.connect()
        _, fake = await harness.join(client, audio_in={"enabled": False}, audio_out={"sample_rate": 16000})
        bots.append((client, fake))
    frame = 16000 * 2 * FRAME_MS // 1000
    speech = demo_speech(16000)
    count = int(seconds * 1000 / FRAME_MS)
    pcm = (speech * (count * frame // len(speech) + 1))[: count * frame]

    async def speak(client: Any) -> list[float]:
        sent, start = [], time.monotonic()
        for k in range(count):
            await asyncio.sleep(max(0.0, start + k * FRAME_MS / 1000 - time.monotonic()))
            sent.append(time.monotonic())
            await client.send_audio(pcm[k * frame : (k + 1) * frame], chunk_ms=FRAME_MS)
        return sent

    pid = harness.gw.process.pid
    cpu, wall = cpu_seconds(pid), time.monotonic()
    sends = await asyncio.gather(*(speak(client) for client, _ in bots))
    await asyncio.sleep(1.0)  # the playout writes the last frames
    cpu, wall = cpu_seconds(pid) - cpu, time.monotonic() - wall
    latencies: list[float] = []
    first: list[float] = []
    last: list[float] = []
    written = dropped = 0
    second = 1000 // FRAME_MS
    for (client, fake), sent in zip(bots, sends, strict=True):
        dropped += (await client.stats()).get("backend_stats", {}).get("audio_out_dropped", 0)
        rate, writes = await fake.audio_writes()
        if rate is None or not writes:
            continue
        totals = [total for _, total in writes]
        per_frame = rate * 2 * FRAME_MS // 1000
        written += totals[-1] // per_frame
        for k, t in enumerate(sent):
            i = bisect.bisect_left(totals, (k + 1) * per_frame)
            if i < len(writes):
                latencies.append((writes[i][0] - t) * 1000)
                if k < second:
                    first.append(latencies[-1])
                elif k >= len(sent) - second:
                    last.append(latencies[-1])
        await client.leave()
    frames = count * sessions
    return {
        "sessions": sessions,
        "seconds": seconds,
        "frames_sent": frames,
        "frames_written": written,
        "delivered": written / frames,
        "latency_ms": summary(latencies),
        "latency_first_second_ms": summary(first)["p50"],
        "latency_last_second_ms": summary(last)["p50"],
        "writer_dropped": dropped,
        "cpu_us_per_frame": cpu / frames * 1e6,
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


async def measure(harness: DailyHarness, cases: list[int], seconds: float) -> dict[str, list[dict[str, Any]]]:
    await harness.ensure_loaded()
    results: dict[str, list[dict[str, Any]]] = {"receive": [], "send": []}
    for sessions in cases:
        results["receive"].append(await receive_case(harness, sessions, seconds))
        results["send"].append(await send_case(harness, sessions, seconds))
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
        "# Micro-benchmark: the Daily media path",
        "",
        f"Date {m['date']}; {m['nproc']} cores ({m['cpu']}); Python {m['python']}, websockets {m['websockets']}, "
        f"daily-python {m['daily_python']} (the tests' fake stands in for its native side). Written by "
        f"`bench/micro_daily.py`: N gateway sessions in N Daily rooms, {report['seconds']:g} s of 16 kHz mono "
        "speech per run, 20 ms frames at real time, on loopback. CPU: the gateway process, all threads.",
        "",
        "## Receive: daily-python's audio callback -> the client",
        "",
        "Each session hears one participant, whose audio the fake SDK's audio thread hands to the gateway's "
        "renderer callback every 20 ms; the client receives 16 kHz 20 ms frames, VAD on. Latency: from the "
        "callback (gateway process) to the frame read by the client process.",
        "",
        "| sessions | frames relayed | delivered | latency p50 / p95 / p99 / max (ms) | CPU per frame (us): process / fake alone / gateway | gateway process CPU |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["receive"]:
        lines.append(
            f"| {r['sessions']} | {r['frames_received']} | {r['delivered']:.4f} | {latency(r)} | "
            f"{r['cpu_us_per_frame']:.0f} / {r['fake_cpu_us_per_frame']:.0f} / "
            f"{r['cpu_us_per_frame'] - r['fake_cpu_us_per_frame']:.0f} | {r['cpu_pct']:.1f} % |"
        )
    lines += [
        "",
        'A frame is 20 000 us of audio: at 100 us of CPU per frame one stream uses 0.5 % of a core. "process" is '
        "the gateway process's CPU per frame relayed, which includes the fake SDK's own per-chunk work; \"fake "
        'alone" is the same pushes to a renderer that drops them (measured just before, same sessions); '
        '"gateway" is the difference: hand-over to the loop, track (reframe, VAD, level), outbox and WebSocket '
        "write. Compare with the local backend's in-process fan-out in [`micro.md`](micro.md) (no socket).",
        "",
        "## Send: the client's frames -> daily-python's custom audio source",
        "",
        "Each session's client sends 20 ms frames on track 1 at real time; the gateway's playout paces them into "
        "the call's custom audio source (`write_frames` on the backend's writer thread). Latency: from the "
        'client sending a frame to the `write_frames` call that hands its last sample to the SDK. "written" '
        "exceeds 1 by the silence the playout writes during its idle grace (200 ms) after the last frame. "
        "The fake's `write_frames`, like daily-python's observed offline, blocks until its audio has played, "
        "so a late wake-up of the backend's writer thread shows as latency that grows over a continuous stream "
        "(first second vs last second); the writer writes every chunk waiting in one call, which keeps the "
        "growth small, and past its 1 s queue it would drop the oldest chunk (writer drops). Whether the real "
        "SDK's blocking drifts the same way cannot be observed offline.",
        "",
        "| sessions | frames sent | written | latency p50 / p95 / p99 / max (ms) | p50 first s / last s (ms) | writer drops | gateway CPU per frame (us) | gateway process CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["send"]:
        lines.append(
            f"| {r['sessions']} | {r['frames_sent']} | {r['delivered']:.4f} | {latency(r)} | "
            f"{r['latency_first_second_ms']:.1f} / {r['latency_last_second_ms']:.1f} | {r['writer_dropped']} | "
            f"{r['cpu_us_per_frame']:.0f} | {r['cpu_pct']:.1f} % |"
        )
    lines += [
        "",
        "CPU times come from /proc in 10 ms ticks and the 2 cores are shared with other work: read the CPU "
        "figures to about +-20 %. Nothing here is checked by a test (tests/bench/test_bench_micro_daily.py only "
        "runs it briefly).",
        "",
    ]
    return "\n".join(lines)


def latency(run: dict[str, Any]) -> str:
    lat = run["latency_ms"]
    return f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f} / {lat['max']:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,4,16", help="comma-separated session counts, one run each")
    parser.add_argument("--seconds", type=float, default=10.0, help="speech per run, each way")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "micro-daily.md"), help="'-': print only")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args(argv)
    cases = [int(n) for n in args.sessions.split(",")]
    with tempfile.TemporaryDirectory() as tmp, fake_daily_gateway(Path(tmp), "--log-level", "warning") as started:
        runs = asyncio.run(measure(DailyHarness(*started), cases, args.seconds))
    report = {"machine": machine(), "seconds": args.seconds, **runs}
    text = render(report)
    print(text)
    if args.output != "-":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
