#!/usr/bin/env python3
"""Soak test: many clients in many local rooms for a set time, with random disconnects, resumes and bad frames.

Every client joins a local room (16 kHz audio both ways, 20 ms frames at real time), sends
numbered app messages, and at random: drops its connection without a close (the Python
client resumes it: ``auto_resume``), leaves and joins again as a new session, or sends a bad
frame. The report says:

- **events lost**: app messages missing at a receiver whose session went on (connected or
  resumed), plus gaps in the text ``seq`` a client read; must be 0;
- **media gaps**: missing frame sequence numbers per received track, while connected (the
  slow-client policy dropped them) and across a resume (media is not replayed, by design);
- **memory**: the gateway's ``VmRSS`` after warm-up, at the end, its maximum and growth;
- **errors by code** (protocol errors, failed requests, error events) and close codes.

Results go to ``bench/results/soak-<UTC date>.md`` and ``.json`` (``--name`` to change), the
gateway's log to ``bench/results/logs/``. Exit status 0 when nothing was lost, no traceback was
logged and the gateway exited cleanly; 1 otherwise.

    .venv/bin/python bench/soak.py --duration 300 --clients 24 --rooms 6
    .venv/bin/python bench/soak.py --url ws://127.0.0.1:8765/v1 --pid 1234   # a running gateway
"""

from __future__ import annotations

import argparse
import array
import asyncio
import collections
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python")]

import websockets  # noqa: E402
from gateway_client import GatewayClient, GatewayError  # noqa: E402
from gateway_client.client import ReceivedAudio  # noqa: E402

from protocol.media import encode_audio  # noqa: E402
from tests.conftest import start_gateway  # noqa: E402

RATE = 16000
FRAME_MS = 20
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000
APP_INTERVAL_S = 0.25
"""How often each client sends a numbered app message."""
REQUEST_TIMEOUT_S = 5.0
BAD_FRAMES: list[tuple[str, bytes | str]] = [
    ("binary", b"\x07short"),  # bad_frame
    ("binary", bytes([1, 9]) + bytes(26)),  # unknown_kind
    ("text", "{not json"),  # bad_json
    ("text", "[1, 2]"),  # bad_message
    ("text", '{"type": "no-such-request", "id": "soak-bad"}'),  # unknown_type
    ("text", '{"type": "send-app-message", "id": "soak-bad2", "message": {}, "urgent": "yes"}'),  # invalid_params
]


@dataclass
class Totals:
    """What every client saw, added up."""

    sessions: int = 0
    joins_failed: int = 0
    drops: int = 0
    """Connections cut without a close frame (the client then resumes)."""
    resumed: int = 0
    resume_failed: int = 0
    rejoins: int = 0
    """Planned leave + new session + join."""
    bad_frames: int = 0
    app_sent: int = 0
    app_received: int = 0
    app_lost: int = 0
    """App messages missing at a receiver whose session went on (connected or resumed)."""
    app_duplicates: int = 0
    seq_gaps: int = 0
    """Gaps in the text seq a client read (a lost text frame)."""
    media_frames: int = 0
    media_gaps_connected: int = 0
    media_missing_connected: int = 0
    media_gaps_resume: int = 0
    media_missing_resume: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    closes: collections.Counter[str] = field(default_factory=collections.Counter)


class SoakClient:
    """One simulated user: sessions one after another until the run ends."""

    def __init__(self, name: str, room: str, url: str, totals: Totals, rng: random.Random, args: argparse.Namespace) -> None:
        self.name, self.room, self.url, self.totals, self.rng, self.args = name, room, url, totals, rng, args
        self._last_n: dict[str, int] = {}
        self._tracks: dict[int, tuple[int, int]] = {}
        """Track id -> (last frame seq, resume epoch when it was read)."""
        self._epoch = 0

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(self.rng.uniform(0, 1.0))  # do not all connect in the same instant
        while not stop.is_set():
            try:
                await self._session(stop)
            except (OSError, TimeoutError, ConnectionError, GatewayError, websockets.ConnectionClosed) as exc:
                code = exc.code if isinstance(exc, GatewayError) else type(exc).__name__
                self.totals.errors[f"session:{code}"] += 1
                await asyncio.sleep(0.5)

    async def _session(self, stop: asyncio.Event) -> None:
        client = await GatewayClient.connect(self.url, auto_resume=True)
        client.resume_backoff = (0.05, 0.5)
        client.on_audio = self._on_audio
        client.on_resumed = self._on_resumed
        self._last_n.clear()
        self._tracks.clear()
        self.totals.sessions += 1
        tasks: list[asyncio.Task[None]] = []
        try:
            try:
                await client.join(self.room, user_name=self.name, audio_in={"sample_rate": RATE, "frame_ms": FRAME_MS},
                                  audio_out={"sample_rate": RATE}, vad={"enabled": False})
            except GatewayError as exc:
                self.totals.joins_failed += 1
                self.totals.errors[exc.code] += 1
                await asyncio.sleep(0.5)
                return
            tasks = [
                asyncio.create_task(self._send_audio(client)),
                asyncio.create_task(self._send_app_messages(client)),
                asyncio.create_task(self._read_events(client)),
            ]
            await self._chaos(client, stop)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._account(client)
            if not client.closed:
                try:
                    await asyncio.wait_for(client.leave(), REQUEST_TIMEOUT_S)
                except Exception:  # dropped and not yet resumed, or the gateway answered an error: close anyway
                    pass
            await client.close()

    async def _chaos(self, client: GatewayClient, stop: asyncio.Event) -> None:
        """Once a second: maybe drop the connection, maybe send a bad frame; return to rejoin or at the end."""
        args = self.args
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
                return
            except TimeoutError:
                pass
            roll = self.rng.random()
            if roll < args.drop_rate:
                transport = client.ws.transport
                if transport is not None:
                    self.totals.drops += 1
                    transport.abort()  # no close frame: the gateway detaches the session, the client resumes
            elif roll < args.drop_rate + args.rejoin_rate:
                self.totals.rejoins += 1
                return
            if self.rng.random() < args.bad_frame_rate:
                kind, data = self.rng.choice(BAD_FRAMES)
                try:
                    await client.send_raw(data)
                    self.totals.bad_frames += 1
                except Exception:  # a dropped connection: it will resume
                    pass

    async def _send_audio(self, client: GatewayClient) -> None:
        """20 ms frames at real time on a drift-free schedule (a quiet tone, so the mix is not silent)."""
        loop = asyncio.get_running_loop()
        phase = self.rng.randrange(100)
        pcm = array.array("h", [1000 if (i // 8 + phase) % 2 else -1000 for i in range(FRAME_BYTES // 2)]).tobytes()
        start, seq = loop.time(), 0
        while True:
            seq += 1
            try:
                await client.send_raw(encode_audio(1, seq, int(time.time() * 1e6), RATE, 1, pcm))
            except Exception:
                pass  # dropped: resuming
            delay = start + seq * FRAME_MS / 1000 - loop.time()
            if delay < -0.2:  # fell far behind (a stall): start the schedule again rather than burst
                start, delay = loop.time() - seq * FRAME_MS / 1000, 0
            await asyncio.sleep(max(0.0, delay))

    async def _send_app_messages(self, client: GatewayClient) -> None:
        """Numbered broadcasts; a number is sent again until acknowledged (receivers count duplicates, not losses)."""
        n = 0
        while True:
            await asyncio.sleep(APP_INTERVAL_S)
            n += 1
            while True:
                try:
                    await client.request("send-app-message", {"message": {"soak": self.name, "n": n}},
                                         timeout=REQUEST_TIMEOUT_S)
                    self.totals.app_sent += 1
                    break
                except GatewayError as exc:
                    self.totals.errors[f"send-app-message:{exc.code}"] += 1
                    await asyncio.sleep(0.2)
                except (TimeoutError, ConnectionError, OSError, Exception):
                    if client.closed:
                        return
                    await asyncio.sleep(0.2)

    async def _read_events(self, client: GatewayClient) -> None:
        async for event in client.events():
            if event.event == "app-message":
                message = event.data.get("message")
                if isinstance(message, dict) and "soak" in message:
                    self._count_app(event.data.get("sender", ""), int(message["n"]))
            elif event.event == "error":
                self.totals.errors[f"event:{event.data.get('code')}"] += 1

    def _count_app(self, sender: str, n: int) -> None:
        self.totals.app_received += 1
        last = self._last_n.get(sender)
        if last is not None:
            if n <= last:
                self.totals.app_duplicates += 1
                return
            self.totals.app_lost += n - last - 1
        self._last_n[sender] = n

    def _on_audio(self, frame: ReceivedAudio) -> None:
        self.totals.media_frames += 1
        last = self._tracks.get(frame.track)
        self._tracks[frame.track] = (frame.seq, self._epoch)
        if last is None:
            return
        missing = (frame.seq - last[0] - 1) & 0xFFFFFFFF
        if missing == 0 or missing > 1_000_000:  # in order, or a repeat / reordering (counted as nothing here)
            return
        if last[1] != self._epoch:
            self.totals.media_gaps_resume += 1
            self.totals.media_missing_resume += missing
        else:
            self.totals.media_gaps_connected += 1
            self.totals.media_missing_connected += missing

    def _on_resumed(self, result: dict[str, Any]) -> None:
        self._epoch += 1
        self.totals.resumed += 1

    def _account(self, client: GatewayClient) -> None:
        """Add up what one session's client recorded (errors, closes, seq gaps, resume failures)."""
        self.totals.seq_gaps += len(client.seq_gaps)
        for error in client.protocol_errors:
            self.totals.errors[error.code] += 1
        for code, _ in client.drops:
            self.totals.closes[str(code)] += 1
        if client.resume_error is not None:
            self.totals.resume_failed += 1
            self.totals.errors[f"resume:{client.resume_error.details.get('reason', client.resume_error.code)}"] += 1


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    name = args.name or f"soak-{datetime.now(UTC).strftime('%Y-%m-%d')}"
    log_path = args.output / "logs" / f"{name}.log"
    process = None
    if args.url:
        url, pid = args.url, args.pid
    else:
        try:
            gateway = start_gateway("--log-level", args.gateway_log_level, log_path=log_path)
        except RuntimeError:
            raise SystemExit(f"the gateway did not start; see {log_path}") from None
        process, url = gateway.process, gateway.url
        pid = process.pid
    rng = random.Random(args.seed)
    totals = Totals()
    stop = asyncio.Event()
    rooms = [f"local://soak-{rng.randrange(16**6):06x}-{i}" for i in range(args.rooms)]
    clients = [SoakClient(f"c{i}", rooms[i % args.rooms], url, totals, random.Random(rng.random()), args)
               for i in range(args.clients)]
    tasks = [asyncio.create_task(c.run(stop)) for c in clients]
    started = time.monotonic()
    samples: list[tuple[float, int]] = []
    warmup = min(args.warmup, args.duration / 4)
    rss_start = None
    while (elapsed := time.monotonic() - started) < args.duration:
        await asyncio.sleep(min(1.0, args.duration - elapsed))
        rss = rss_kb(pid) if pid else None
        if rss is not None:
            samples.append((round(time.monotonic() - started, 1), rss))
            if rss_start is None and time.monotonic() - started >= warmup:
                rss_start = rss
    stop.set()
    stopping = time.monotonic()
    _, stuck = await asyncio.wait(tasks, timeout=30)
    for task in tasks:
        task.cancel()
    clients_stop_s = round(time.monotonic() - stopping, 1)
    stuck_clients = [c.name for c, t in zip(clients, tasks, strict=True) if t in stuck]
    exit_code, tracebacks, gateway_stop_s = None, None, None
    if process is not None:
        stopping = time.monotonic()
        process.terminate()
        try:  # in a thread: the clients must still answer the gateway's closing handshakes
            exit_code = await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            exit_code = process.wait(5)
        gateway_stop_s = round(time.monotonic() - stopping, 1)
        tracebacks = log_path.read_text(errors="replace").count("Traceback")
    rss_values = [kb for _, kb in samples]
    rss_end = rss_values[-1] if rss_values else None
    memory = {
        "rss_start_mb": round(rss_start / 1024, 1) if rss_start else None,
        "rss_end_mb": round(rss_end / 1024, 1) if rss_end else None,
        "rss_max_mb": round(max(rss_values) / 1024, 1) if rss_values else None,
        "growth_mb": round((rss_end - rss_start) / 1024, 1) if rss_start and rss_end else None,
        "growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1) if rss_start and rss_end else None,
        "samples": samples[:: max(1, math.ceil(len(samples) / 60))],
    }
    data = asdict(totals)
    data["errors"] = dict(sorted(totals.errors.items()))
    data["closes"] = dict(sorted(totals.closes.items()))
    events_lost = totals.app_lost + totals.seq_gaps
    passed = events_lost == 0 and not tracebacks and exit_code in (None, 0) and not stuck_clients
    return {
        "name": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rooms": args.rooms,
        "clients": args.clients,
        "duration_s": args.duration,
        "events_lost": events_lost,
        "totals": data,
        "memory": memory,
        "gateway": {"exit_code": exit_code, "tracebacks": tracebacks, "stop_s": gateway_stop_s,
                    "log": str(log_path) if process else None},
        "clients_stop_s": clients_stop_s,
        "stuck_clients": stuck_clients,
        "passed": passed,
    }


def markdown(report: dict[str, Any]) -> str:
    t, m = report["totals"], report["memory"]
    lines = [
        f"# Soak: {report['name']}",
        "",
        f"{report['date']}, {report['clients']} clients in {report['rooms']} local rooms for {report['duration_s']:g} s; "
        f"{report['machine']['nproc']} CPUs, Python {report['machine']['python']}. "
        f"Re-run: `.venv/bin/python bench/soak.py --duration {report['duration_s']:g} --clients {report['clients']} "
        f"--rooms {report['rooms']}`.",
        "",
        f"**Verdict: {'PASS' if report['passed'] else 'FAIL'}** (events lost {report['events_lost']}, "
        f"tracebacks {report['gateway']['tracebacks']}, gateway exit {report['gateway']['exit_code']})",
        "",
        "| | |",
        "|---|---|",
        f"| sessions (joins) | {t['sessions']} ({t['joins_failed']} joins failed) |",
        f"| connections dropped / resumed / resume failed | {t['drops']} / {t['resumed']} / {t['resume_failed']} |",
        f"| planned rejoins (leave, new session) | {t['rejoins']} |",
        f"| bad frames sent | {t['bad_frames']} |",
        f"| app messages sent / received / duplicates | {t['app_sent']} / {t['app_received']} / {t['app_duplicates']} |",
        f"| **events lost** (app messages missing in a continuous or resumed session + text seq gaps) | "
        f"**{report['events_lost']}** ({t['app_lost']} + {t['seq_gaps']}) |",
        f"| media frames received | {t['media_frames']} |",
        f"| media gaps while connected (frames missing) | {t['media_gaps_connected']} ({t['media_missing_connected']}) |",
        f"| media gaps across a resume (frames missing; media is not replayed) | {t['media_gaps_resume']} "
        f"({t['media_missing_resume']}) |",
        f"| gateway RSS after warm-up / end / max | {m['rss_start_mb']} / {m['rss_end_mb']} / {m['rss_max_mb']} MB |",
        f"| RSS growth | {m['growth_mb']} MB ({m['growth_pct']} %) |",
        f"| clients ended after the run (leave, close) within | {report['clients_stop_s']} s "
        f"({len(report['stuck_clients'])} stuck: {', '.join(report['stuck_clients']) or 'none'}) |",
        f"| gateway stopped (SIGTERM to exit) within | {report['gateway']['stop_s']} s |",
        "",
        "Errors by code (protocol errors, `event:` error events, `<request>:` failed requests, `resume:` reasons):",
        "",
        "| code | count |",
        "|---|---|",
        *[f"| `{code}` | {count} |" for code, count in t["errors"].items()],
        "",
        "Connections lost during a session, by close code (1006: dropped without a close frame, then resumed):",
        "",
        "| close code | count |",
        "|---|---|",
        *[f"| {code} | {count} |" for code, count in t["closes"].items()],
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of soak (default 60)")
    parser.add_argument("--clients", type=int, default=12, help="simulated clients (default 12)")
    parser.add_argument("--rooms", type=int, default=3, help="local rooms the clients share (default 3)")
    parser.add_argument("--drop-rate", type=float, default=0.03, help="chance per client per second of a dropped connection")
    parser.add_argument("--rejoin-rate", type=float, default=0.01, help="chance per client per second of leave + new session")
    parser.add_argument("--bad-frame-rate", type=float, default=0.05, help="chance per client per second of a bad frame")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the RSS baseline is taken")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--url", help="soak a running gateway instead of starting one")
    parser.add_argument("--pid", type=int, help="that gateway's pid, for its memory")
    parser.add_argument("--name", help="report name (default soak-<UTC date>)")
    parser.add_argument("--gateway-log-level", default="warning", help="log level of the gateway started (default warning)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        report = uvloop.run(soak(args))
    except ImportError:
        report = asyncio.run(soak(args))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{report['name']}.json").write_text(json.dumps(report, indent=1))
    (args.output / f"{report['name']}.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
