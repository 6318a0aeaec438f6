#!/usr/bin/env python3
"""Hostile clients against a live gateway, bounded: does anything break, grow or go unanswered?

Starts an open gateway (with the demo talker) and a keyed one, puts a victim client in
``local://demo`` (it hears the demo talker's 20 ms frames), and attacks each class of the hostile
review (PROTOCOL.md section 15) for a bounded number of rounds:

- **json**: requests whose free-form fields nest past ``max_json_depth`` (user_data, app messages,
  recording layouts, transcription and dial-out settings...), mixed with valid ones; every request
  must get exactly one reply, and other members' ``list-rooms`` and events must go on;
- **memory**: connections holding incomplete frames under the frame limit, between 1x and 4x
  (skipped unread) and over 4x (1009); peak RSS against the documented bound;
- **framing**: random and mutated frames on fresh connections; every close code must be documented;
- **http**: duplicate headers, a rebound ``Host``, other methods, chunked and pipelined requests,
  long request lines and heads; every answer must be a status line;
- **auth** (keyed gateway): mint-token lifetime escalation, resume-only floods over
  ``max_sessions_per_key``, resume with another principal of the same subject.

The report (``bench/results/hostile-<UTC date>.md`` and ``.json``) says, per class and in all:
crashes (a gateway that exited), unanswered requests, tracebacks logged, undocumented close codes,
peak RSS over the baseline and the victim's audio gaps. Exit status 0 when all are clean.

    .venv/bin/python bench/hostile.py                 # about a minute
    .venv/bin/python bench/hostile.py --rounds 3      # longer
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python")]

from gateway_client import GatewayClient, GatewayError  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from gateway.auth import Authenticator, parse_api_keys  # noqa: E402
from gateway.net.budget import ALLOWANCE_BYTES  # noqa: E402
from protocol.constants import CloseCode  # noqa: E402
from tests.conftest import GatewayProcess, start_gateway  # noqa: E402
from tests.e2e.hostile_tools import (  # noqa: E402
    MIB,
    audio_gaps,
    frame_head,
    http_exchange,
    read_close,
    request_json,
    rss_bytes,
    send_quietly,
    upgrade_request,
    upgraded,
)

KEY = "0123456789abcdef-hostile-bench"
DOCUMENTED = {int(c) for c in CloseCode}
DEEP_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("join", {"room_url": "ROOM", "user_data": "DEEP"}),
    ("send-app-message", {"message": "DEEP"}),
    ("start-recording", {"streaming_settings": {"layout": "DEEP"}}),
    ("update-recording", {"update_settings": {"layout": "DEEP"}}),
    ("start-transcription", {"settings": {"extra": "DEEP"}}),
    ("start-dialout", {"settings": {"phoneNumber": "+15550100", "extra": "DEEP"}}),
    ("update-remote-participants", {"remote_participants": {"p": "DEEP"}}),
    ("update-subscriptions", {"participant_settings": {"p": "DEEP"}}),
]


def nested(levels: int) -> Any:
    value: Any = 0
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def fill(params: dict[str, Any], value: Any, room: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in params.items():
        out[key] = value if v == "DEEP" else room if v == "ROOM" else fill(v, value, room) if isinstance(v, dict) else v
    return out


class Tally:
    """What one attack class found."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.attempts = 0
        self.unanswered = 0
        self.wrong = 0
        """Answers other than the documented refusal."""
        self.closes: Counter[int] = Counter()
        self.statuses: Counter[int] = Counter()
        self.notes: list[str] = []
        self.seconds = 0.0
        self.window = (0.0, 0.0)
        """When it ran (monotonic clock, shared with the victim's process)."""
        self.victim_gap_ms = 0
        """The victim's longest wait between two audio frames while this class ran."""

    def undocumented(self) -> list[int]:
        return sorted(code for code in self.closes if code not in DOCUMENTED)

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "unanswered": self.unanswered, "wrong": self.wrong,
                "closes": dict(self.closes), "statuses": dict(self.statuses), "undocumented": self.undocumented(),
                "notes": self.notes, "seconds": round(self.seconds, 1), "victim_gap_ms": self.victim_gap_ms}


# ---------------------------------------------------------------------- attack classes


async def attack_json(url: str, rounds: int, rng: random.Random) -> Tally:
    tally = Tally("json")
    room = f"local://hostile-{os.getpid()}"
    member = await GatewayClient.connect(url)
    await member.join(room)
    attacker = await GatewayClient.connect(url)
    await attacker.join(room)
    for _ in range(rounds * 20):
        rtype, params = rng.choice(DEEP_FIELDS)
        levels = rng.choice([65, 100, 254, 300, 900])
        tally.attempts += 1
        try:
            await request_json(attacker, rtype, fill(params, nested(levels), room), timeout=5)
            tally.wrong += 1
        except GatewayError as exc:
            tally.wrong += exc.code != "invalid_params"
        except TimeoutError:
            tally.unanswered += 1
        except (ConnectionError, ConnectionClosed):  # the gateway closed instead of answering
            tally.unanswered += 1
            tally.closes[attacker.close_code or 1006] += 1
            tally.notes.append(f"{rtype} nested {levels} deep: connection closed ({attacker.close_code}), no reply")
            attacker = await GatewayClient.connect(url)
            await attacker.join(room)
        if tally.attempts % 5 == 0:  # a valid request resets max_consecutive_errors, as a real client would
            await attacker.request("ping")
    try:
        await member.request("list-rooms", timeout=5)
        await attacker.send_app_message({"still": "here"})
        await member.wait_for("app-message", timeout=5)
    except (GatewayError, TimeoutError) as exc:
        tally.notes.append(f"the room stopped working after the attack: {exc!r}")
        tally.unanswered += 1
    tally.notes.append(f"seq gaps: member {member.seq_gaps}, attacker {attacker.seq_gaps}")
    tally.wrong += len(member.seq_gaps) + len(attacker.seq_gaps)
    await member.close()
    await attacker.close()
    return tally


async def attack_memory(gw: GatewayProcess, rounds: int, limit: int) -> Tally:
    tally = Tally("memory")
    writers: list[asyncio.StreamWriter] = []

    async def hold(announced: int, sent: int) -> None:
        reader, writer = await upgraded(gw.url)
        writers.append(writer)
        closed = asyncio.ensure_future(read_close(reader, timeout=60))
        await send_quietly(writer, frame_head(2, announced) + bytes(sent), until=closed)  # a refused attacker stops
        try:
            code, _ = await asyncio.wait_for(asyncio.shield(closed), 0.5)
        except TimeoutError:
            closed.cancel()
            code = None
        if code is not None:
            tally.closes[code] += 1

    for _ in range(rounds):
        for announced, sent in ((limit - 64, limit - 1024), (4 * limit - 1024, 2 * limit), (30 * MIB, 30 * MIB - 1024)):
            tally.attempts += 12
            await asyncio.gather(*[hold(announced, sent) for _ in range(12)])
        for writer in writers:
            writer.transport.abort()
        writers.clear()
        await asyncio.sleep(0.3)
    return tally


def mutations(rng: random.Random) -> bytes:
    """One frame, valid or not: random header bits, lengths, masks, opcodes."""
    opcode = rng.choice([0, 1, 2, 3, 7, 8, 9, 10, 11, 15])
    payload = rng.randbytes(rng.choice([0, 1, 5, 125, 126, 300]))
    first = (0x80 if rng.random() < 0.8 else 0) | (rng.choice([0, 0, 0, 0x40, 0x20, 0x10])) | opcode
    masked = rng.random() < 0.9
    head = bytes((first, (0x80 if masked else 0) | min(len(payload), 125)))
    if len(payload) > 125:
        head = bytes((first, (0x80 if masked else 0) | 126)) + len(payload).to_bytes(2, "big")
    return head + (rng.randbytes(4) if masked else b"") + payload


async def attack_framing(url: str, rounds: int, rng: random.Random) -> Tally:
    tally = Tally("framing")
    for _ in range(rounds * 40):
        reader, writer = await upgraded(url)
        tally.attempts += 1
        writer.write(b"".join(mutations(rng) for _ in range(rng.randint(1, 4))))
        code, _ = await read_close(reader, timeout=0.3)
        if code is not None:
            tally.closes[code] += 1
        writer.transport.abort()
    return tally


async def attack_http(url: str, rounds: int) -> Tally:
    tally = Tally("http")
    host = url.split("//", 1)[1].split("/", 1)[0]
    port = host.rsplit(":", 1)[1]

    def get(path: str, extra: str = "") -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()

    cases: list[tuple[bytes, int]] = [
        (upgrade_request(url, extra=f"Host: {host}\r\n"), 400),
        (upgrade_request(url, extra="Authorization: Bearer a\r\nAuthorization: Bearer b\r\n"), 400),
        (upgrade_request(url, host=f"evil.example:{port}", extra=f"Origin: http://evil.example:{port}\r\n"), 403),
        (f"POST /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode(), 405),
        (f"BREW /v1 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), 405),
        (get("/healthz", "Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n", 400),
        (get("/healthz") + get("/healthz"), 400),
        (upgrade_request(url) + b"\x82\x80\0\0\0\0", 400),
        (get("/" + "a" * 20000), 414),
        (get("/dashboard/" + "a" * 5000), 404),
        (get("/healthz", "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(70))), 431),
    ]
    for _ in range(rounds):
        for raw, expected in cases:
            tally.attempts += 1
            response = await http_exchange(url, raw, timeout=3)
            status = int(response[9:12]) if response.startswith(b"HTTP/1.1 ") else 0
            tally.statuses[status] += 1
            if status == 0:
                tally.unanswered += 1
            elif status != expected:
                tally.wrong += 1
                tally.notes.append(f"{raw[:40]!r}: {status}, expected {expected}")
    return tally


def round_keys(rounds: int) -> list[str]:
    """One API key per round (``ops<r>:<secret>``): a round's detached session must not fill the next round's key."""
    return [f"ops{r}:{KEY}-{r}" for r in range(rounds)]


async def attack_auth(url: str, rounds: int) -> Tally:
    tally = Tally("auth")
    for r, entry in enumerate(round_keys(rounds)):
        secret = entry.split(":", 1)[1]
        signer = Authenticator(parse_api_keys([entry]))
        short, claims = signer.mint(sub=f"short-{r}", room="*", role="admin", ttl_s=60)
        admin = await GatewayClient.connect(url, token=short)
        minted = await admin.request("mint-token", {"room": "*", "role": "admin", "ttl_s": 604800})
        tally.attempts += 1
        if minted["expires_at"] > claims["exp"]:
            tally.wrong += 1
            tally.notes.append("a minted token outlives its minter")
        await admin.close()
        await asyncio.sleep(0.3)
        # Resume-only flood: the key at its limit (2) with one detached session, then 20 more connections
        # of that session's principal: one may come in to resume, the rest get 4029.
        holder = await GatewayClient.connect(url, api_key=secret)
        bot_token, _ = signer.mint(sub=f"shared-{r}", room=f"local://hostile-auth-{r}", role="bot")
        dropped = await GatewayClient.connect(url, token=bot_token)
        await dropped.join(f"local://hostile-auth-{r}")
        dropped.ws.transport.abort()
        await asyncio.sleep(0.2)

        async def extra(token: str) -> int | None:
            reader, writer = await upgraded(url, extra=f"Authorization: Bearer {token}\r\n", hello=False)
            code, _ = await read_close(reader, timeout=1.0)
            writer.transport.abort()
            return code

        codes = await asyncio.gather(*[extra(bot_token) for _ in range(20)])
        tally.attempts += len(codes)
        admitted = codes.count(None)
        tally.closes.update(c for c in codes if c is not None)
        if admitted > 1:
            tally.wrong += admitted - 1
            tally.notes.append(f"{admitted} resume-only connections admitted for one detached session")
        await holder.close()
        await asyncio.sleep(0.5)
        # A token of the same subject but another role and room may not resume it.
        spy_token, _ = signer.mint(sub=f"shared-{r}", room="local://elsewhere", role="observer")
        spy = await GatewayClient.connect(url, token=spy_token)
        tally.attempts += 1
        try:
            await spy.request("resume", {"resume_token": dropped.resume_token, "last_seq": dropped.last_seq})
            tally.wrong += 1
            tally.notes.append("another principal of the same subject resumed the session")
        except GatewayError as exc:
            tally.wrong += exc.details.get("reason") != "principal"
        await spy.close()
        await asyncio.sleep(0.5)
    return tally


# ---------------------------------------------------------------------- the victim


async def victim_main(url: str, out: Path) -> None:
    """The victim, in a process of its own (the attackers' work must not delay its clock): hear local://demo until SIGTERM."""
    import signal

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    client = await GatewayClient.connect(url)
    await client.join("local://demo", audio_in={"sample_rate": 16000, "channels": 1, "frame_ms": 20})
    await client.wait_for("track-started", timeout=10)
    await asyncio.sleep(1.0)
    client.drain_audio()
    print("listening", flush=True)
    await stop.wait()
    frames = client.drain_audio()
    events = [e.event for e in client.event_log if e.event in ("media-dropped", "error")]
    await client.close()
    out.write_text(json.dumps({"frames": [(f.track, f.seq, f.received_at) for f in frames], "events": events}))


class Victim:
    """The victim process: started before the attacks, stopped after, its frames read back."""

    def __init__(self, url: str, out: Path) -> None:
        self.url, self.out = url, out
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--victim", self.url, "--victim-out", str(self.out), stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert line.strip() == b"listening", line

    async def stop(self) -> dict[str, Any]:
        assert self.process is not None
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 30)
        data: dict[str, Any] = json.loads(self.out.read_text())
        return data


# ---------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    name = args.name or f"hostile-{datetime.now(UTC):%Y-%m-%d}"
    log_dir = args.output / "logs"
    open_gw = start_gateway("--demo", name=f"{name}-open", log_path=log_dir / f"{name}-open.log")
    keyed = start_gateway("--max-sessions-per-key", "2", name=f"{name}-keyed", log_path=log_dir / f"{name}-keyed.log",
                          env={"GATEWAY_API_KEYS": ",".join(round_keys(args.rounds))})
    victim = Victim(open_gw.url, log_dir / f"{name}-victim.json")
    try:
        return await attack_all(args, rng, name, open_gw, keyed, victim)
    finally:
        if victim.process is not None and victim.process.returncode is None:
            victim.process.kill()
        for gw in (open_gw, keyed):
            if gw.process.poll() is None:
                gw.process.kill()


async def attack_all(args: argparse.Namespace, rng: random.Random, name: str, open_gw: GatewayProcess,
                     keyed: GatewayProcess, victim: Victim) -> dict[str, Any]:
    probe = await GatewayClient.connect(open_gw.url)
    limits = probe.limits
    await probe.close()
    await victim.start()
    baseline, _ = rss_bytes(open_gw.process.pid)
    started = time.monotonic()
    tallies: list[Tally] = []
    classes = [
        ("json", lambda: attack_json(open_gw.url, args.rounds, rng)),
        ("memory", lambda: attack_memory(open_gw, args.rounds, limits["max_frame_bytes"])),
        ("framing", lambda: attack_framing(open_gw.url, args.rounds, rng)),
        ("http", lambda: attack_http(open_gw.url, args.rounds)),
        ("auth", lambda: attack_auth(keyed.url, args.rounds)),
    ]
    for cls, attack in classes:
        if args.only and cls not in args.only:
            continue
        t0 = time.monotonic()
        tally = await attack()
        tally.window = (t0, time.monotonic())
        tally.seconds = time.monotonic() - t0
        tallies.append(tally)
        print(f"{cls}: {tally.as_dict()}", flush=True)
    elapsed = time.monotonic() - started
    _, peak = rss_bytes(open_gw.process.pid)
    heard = await victim.stop()
    frames = [SimpleNamespace(track=t, seq=q, received_at=at) for t, q, at in heard["frames"]]
    gaps, longest = audio_gaps(frames)
    for tally in tallies:
        start, end = tally.window
        inside = [f for f in frames if start <= f.received_at <= end + 0.5]
        tally.victim_gap_ms = round(audio_gaps(inside)[1] * 1000)
    victim_errors = heard["events"]
    crashed = [gw.log_path.name for gw in (open_gw, keyed) if gw.process.poll() is not None]
    stop_codes = {"open": open_gw.stop(), "keyed": keyed.stop()}
    tracebacks = {gw.log_path.name: gw.log().count("Traceback") for gw in (open_gw, keyed)}
    bound = 128 * MIB + ALLOWANCE_BYTES * 64
    report: dict[str, Any] = {
        "name": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
        "rounds": args.rounds,
        "seconds": round(elapsed, 1),
        "classes": {t.name: t.as_dict() for t in tallies},
        "crashed": crashed,
        "stop_codes": stop_codes,
        "tracebacks": tracebacks,
        "unanswered": sum(t.unanswered for t in tallies),
        "wrong": sum(t.wrong for t in tallies),
        "undocumented_close_codes": sorted({c for t in tallies for c in t.undocumented()}),
        "rss": {"baseline_mb": round(baseline / MIB, 1), "peak_mb": round(peak / MIB, 1),
                "growth_mb": round((peak - baseline) / MIB, 1), "bound_mb": round(bound / MIB, 1)},
        "victim": {"frames": len(frames), "expected_frames": int(elapsed * 50), "seq_gaps": len(gaps),
                   "longest_gap_ms": round(longest * 1000), "media_dropped_or_error_events": len(victim_errors)},
    }
    report["passed"] = (
        not crashed and all(code == 0 for code in stop_codes.values()) and not any(tracebacks.values())
        and report["unanswered"] == 0 and report["wrong"] == 0 and not report["undocumented_close_codes"]
        and peak - baseline < bound and not gaps and not victim_errors
    )
    return report


def markdown(report: dict[str, Any]) -> str:
    rss, victim = report["rss"], report["victim"]
    lines = [
        f"# Hostile clients: {report['name']}",
        "",
        f"{report['date']}, Python {report['machine']['python']}, {report['machine']['cpus']} CPUs "
        f"(load average {report['machine']['load_average_1min']} at the end: the machine is shared), "
        f"{report['rounds']} round(s), {report['seconds']} s of attacks. `bench/hostile.py` (PROTOCOL.md section 15).",
        "",
        "Passing means: no crash, exit 0, no traceback, every request answered with its documented refusal, only",
        "documented close codes, peak RSS under the bound, and no audio frame lost or dropped for the victim. The",
        "victim's longest wait between frames is reported, not judged: on a shared 2-core machine it measures",
        "the scheduler as much as the gateway.",
        "",
        f"**{'PASSED' if report['passed'] else 'FAILED'}**",
        "",
        "| | |",
        "|---|---|",
        f"| gateways crashed | {len(report['crashed'])} |",
        f"| gateways' exit status after SIGTERM | {report['stop_codes']} |",
        f"| tracebacks logged | {sum(report['tracebacks'].values())} |",
        f"| requests or HTTP requests unanswered | {report['unanswered']} |",
        f"| answers other than the documented refusal | {report['wrong']} |",
        f"| undocumented close codes | {report['undocumented_close_codes'] or 'none'} |",
        f"| gateway RSS baseline / peak / growth (bound) | {rss['baseline_mb']} / {rss['peak_mb']} / {rss['growth_mb']} MB "
        f"({rss['bound_mb']} MB) |",
        f"| victim audio frames (expected at 50/s) | {victim['frames']} ({victim['expected_frames']}) |",
        f"| victim seq gaps / longest silence / media-dropped or error events | {victim['seq_gaps']} / "
        f"{victim['longest_gap_ms']} ms / {victim['media_dropped_or_error_events']} |",
        "",
        "| class | attempts | unanswered | wrong | close codes | HTTP statuses | s | victim's longest wait |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in report["classes"].items():
        closes = ", ".join(f"{k}: {v}" for k, v in sorted(c["closes"].items())) or "-"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(c["statuses"].items())) or "-"
        lines.append(f"| {name} | {c['attempts']} | {c['unanswered']} | {c['wrong']} | {closes} | {statuses} | "
                     f"{c['seconds']} | {c['victim_gap_ms']} ms |")
    notes = [f"- {name}: {n}" for name, c in report["classes"].items() for n in c["notes"]]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="rounds of each attack class (default 1, about a minute)")
    parser.add_argument("--only", nargs="*", help="attack classes to run (json memory framing http auth)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--name", help="report name (default hostile-<UTC date>)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--victim", help=argparse.SUPPRESS)  # the victim process: the gateway's URL
    parser.add_argument("--victim-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.victim:
        asyncio.run(victim_main(args.victim, args.victim_out))
        return 0
    report = asyncio.run(asyncio.wait_for(run(args), 600))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{report['name']}.json").write_text(json.dumps(report, indent=1))
    (args.output / f"{report['name']}.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
