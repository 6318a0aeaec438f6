"""Playout clock drift, measured at the receiver: does N s of published audio play in N s?

    .venv/bin/python bench/drift.py                 # 60 s per scenario -> bench/results/drift.md
    .venv/bin/python bench/drift.py --duration 20   # quicker
    .venv/bin/python bench/drift.py --url ws://127.0.0.1:8765/v1   # against a running gateway

A gateway (local backend) is started unless ``--url`` is given. In a fresh local room,
A publishes speech at 16 kHz and B listens at 16 kHz with 20 ms frames, so the room
hands B A's frames untouched. For each scenario the figures are taken from B's side,
on the arrival times (``time.monotonic``) of A's frames at B:

- span: arrival of the last audio frame minus arrival of the first, against the ideal
  ``(frames - 1) x 20 ms``; the difference is the drift over the run (one frame = 20 ms);
- slope: least-squares fit of arrival time against frame index, as ppm off real time
  (independent of the end points' jitter);
- jitter: largest deviation of an arrival from that fit;
- content: the received audio equals what was sent, sample for sample.

Scenarios: ``burst`` (everything sent at once), ``irregular`` (chunks of 5-500 ms, any
sample count, sent at random moments while staying ~1 s ahead of real time) and
``realtime`` (40 ms chunks at real time with +-15 ms jitter, ``prebuffer_ms`` 80 so the
jitter never empties the buffer). Alongside, a naive pacer
(sleep 20 ms after each write, what many relays do) runs in this process for the same
number of frames, to show what the drift-free schedule avoids.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "clients" / "python"))

import numpy as np  # noqa: E402
from gateway_client import GatewayClient  # noqa: E402

from protocol.constants import OutboundTrack  # noqa: E402
from protocol.media import encode_audio  # noqa: E402

RATE = 16000
FRAME_MS = 20
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
RESULTS = ROOT / "bench" / "results" / "drift.md"


def speech(seconds: float) -> bytes:
    """The bundled speech WAV at 16 kHz, looped to ``seconds``."""
    import wave

    with wave.open(str(ROOT / "gateway" / "assets" / "demo_speech.wav"), "rb") as wav:
        assert wav.getframerate() == RATE and wav.getnchannels() == 1
        one = wav.readframes(wav.getnframes())
    reps = int(np.ceil(seconds * RATE * 2 / len(one)))
    return (one * reps)[: int(seconds * RATE) * 2]


def start_gateway() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"listening on (ws://\S+)", process.stdout.readline())
        if match:
            return process, match.group(1)
    process.kill()
    raise RuntimeError("gateway did not start")


async def send_burst(a: GatewayClient, pcm: bytes) -> None:
    await a.send_audio(pcm, chunk_ms=500)


async def send_irregular(a: GatewayClient, pcm: bytes, seed: int = 11, lead: float = 1.0) -> None:
    rng = random.Random(seed)
    pos, seq = 0, 0
    t0 = time.monotonic()
    while pos < len(pcm):
        size = 2 * rng.randint(80, 8000)
        seq += 1
        await a.send_raw(encode_audio(OutboundTrack.MICROPHONE, seq, 0, RATE, 1, pcm[pos:pos + size]))
        pos += size
        ahead = pos / (2 * RATE) - (time.monotonic() - t0)
        if ahead > lead:
            await asyncio.sleep(rng.uniform(0, ahead - lead + 0.2))


async def send_realtime(a: GatewayClient, pcm: bytes, seed: int = 7) -> None:
    rng = random.Random(seed)
    step = 2 * RATE * 40 // 1000
    t0 = time.monotonic()
    for k, pos in enumerate(range(0, len(pcm), step)):
        await a.send_raw(encode_audio(OutboundTrack.MICROPHONE, k + 1, 0, RATE, 1, pcm[pos:pos + step]))
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.04 + rng.uniform(-0.015, 0.015) - time.monotonic()))


SCENARIOS = {"burst": send_burst, "irregular": send_irregular, "realtime": send_realtime}
PREBUFFER_MS = {"realtime": 80}
"""audio_out.prebuffer_ms per scenario: a sender at exactly real time needs a jitter allowance."""


async def naive_pacer(frames: int) -> float:
    """Seconds a sleep-after-write pacer takes for ``frames`` frames (ideal: (frames - 1) x 20 ms)."""
    first = last = time.monotonic()
    for i in range(frames):
        last = time.monotonic()
        if i == 0:
            first = last
        bytes(FRAME_BYTES)  # the "write"
        await asyncio.sleep(FRAME_MS / 1000)
    return last - first


async def run_scenario(url: str, name: str, seconds: float) -> dict[str, Any]:
    pcm = speech(seconds)
    frames = len(pcm) // FRAME_BYTES
    room = f"local://drift-{name}-{os.getpid()}-{int(time.time())}"
    a = await GatewayClient.connect(url)
    b = await GatewayClient.connect(url)
    heard: list[Any] = []
    b.on_audio = heard.append  # every frame, with its arrival time
    try:
        audio_out = {"sample_rate": RATE, "prebuffer_ms": PREBUFFER_MS.get(name, 0)}
        ja = await a.join(room, user_name="bot", audio_out=audio_out, vad={"enabled": False})
        await b.join(room, user_name="ear", audio_in={"sample_rate": RATE, "frame_ms": FRAME_MS}, vad={"enabled": False})
        naive = asyncio.create_task(naive_pacer(frames))
        t_send = time.monotonic()
        await SCENARIOS[name](a, pcm)
        send_s = time.monotonic() - t_send
        await a.request("mark-audio", {"name": "end"})
        mark = await a.wait_for("playout-mark", timeout=seconds * 2 + 30)
        await a.wait_for("playout-idle", timeout=10)
        naive_span = await naive
        await asyncio.sleep(0.3)
        got = [f for f in heard if f.participant_id == ja["participant_id"]]
        snap = await a.request("get-audio-buffer")
    finally:
        await a.close()
        await b.close()
    arrivals = np.array([f.received_at for f in got[:frames]])
    content_ok = b"".join(f.pcm for f in got)[: len(pcm)] == pcm and len(got) >= frames
    ideal = (frames - 1) * FRAME_MS / 1000
    span = float(arrivals[-1] - arrivals[0])
    idx = np.arange(len(arrivals))
    slope, intercept = np.polyfit(idx, arrivals - arrivals[0], 1)
    residual = (arrivals - arrivals[0]) - (slope * idx + intercept)
    return {
        "scenario": name,
        "audio_s": round(seconds, 3),
        "frames": frames,
        "send_s": round(send_s, 2),
        "ideal_s": round(ideal, 3),
        "span_s": round(span, 4),
        "drift_ms": round(1000 * (span - ideal), 1),
        "slope_ppm": round(float(1e6 * (slope / (FRAME_MS / 1000) - 1)), 1),
        "jitter_ms": round(1000 * float(np.abs(residual).max()), 1),
        "late_frames": snap["late_frames"],
        "content_ok": content_ok,
        "mark": mark.data["status"],
        "naive_drift_ms": round(1000 * (naive_span - ideal), 1),
    }


def write_results(rows: list[dict[str, Any]], seconds: float) -> None:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout if sys.platform == "linux" else ""
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    lines = [
        "# Playout drift, measured at the receiver",
        "",
        f"Date {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; {os.cpu_count()} cores ({model}); "
        f"Python {platform.python_version()}; {seconds:g} s of 16 kHz speech per scenario; "
        "`.venv/bin/python bench/drift.py` (see its docstring for the method).",
        "",
        "Goal (issue 5): the audio plays out in its own duration plus at most one frame (20 ms) at the receiver.",
        "",
        "| scenario | frames | sent in (s) | ideal span (s) | measured span (s) | drift (ms) | slope (ppm) "
        "| max jitter (ms) | late frames | content | mark | naive pacer drift (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['frames']} | {r['send_s']} | {r['ideal_s']} | {r['span_s']} | {r['drift_ms']} "
            f"| {r['slope_ppm']} | {r['jitter_ms']} | {r['late_frames']} | {'exact' if r['content_ok'] else 'DIFFERS'} "
            f"| {r['mark']} | {r['naive_drift_ms']} |"
        )
    lines += [
        "",
        "- drift: last-frame arrival minus first-frame arrival, minus (frames - 1) x 20 ms. Within +-20 ms meets the goal.",
        "- slope: fitted rate of arrivals against real time; the schedule is `origin + n x period`, so it is ~0.",
        "- late frames: slots the playout gave up after an event-loop stall longer than the catch-up bound (100 ms).",
        "- naive pacer: `sleep(20 ms)` after each write, run in the bench process alongside for the same frame count;",
        "  its lateness accumulates every frame (the drift users of other relays report).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of audio per scenario (default 60)")
    parser.add_argument("--scenarios", default="burst,irregular,realtime")
    parser.add_argument("--url", help="use a running gateway instead of starting one")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write results/drift.md")
    args = parser.parse_args()
    process = None
    url = args.url
    if url is None:
        process, url = start_gateway()
    rows = []
    try:
        for name in args.scenarios.split(","):
            row = await run_scenario(url, name, args.duration)
            print(row, flush=True)
            rows.append(row)
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
    if not args.no_write:
        write_results(rows, args.duration)
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
