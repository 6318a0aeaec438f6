"""Latency budget: what the gateway adds between a speaker and a listener, per stage.

    .venv/bin/python bench/latency.py --name after          # ~3 min -> bench/results/latency-after.md/.json
    .venv/bin/python bench/latency.py --duration 8 --name quick

One real-time publisher (speech, one 20 ms frame every 20 ms on its own clock) at 16, 24 and
48 kHz in turn; five listeners in the same local room at 8, 16, 24, 48 kHz mono and 48 kHz
stereo (20 ms frames, VAD on as joined by default). The same frames then go through the bare
relay (``bench/relay.py``) in the same run: the floor, what a WebSocket hop costs by itself.
The gateway and the relay run pinned to core 0, this process (all clients) to core 1.

What a listener hears, per frame ``j`` of a track (``seq - 1``):

- **total**: ``arrival(j) - sent(j) + lag``, where ``sent(j)`` is when the publisher sent its
  frame ``j`` and ``lag`` is how far the content is shifted in the received stream (its
  cross-correlation peak against a high-quality offline resample of what was sent; the
  resampler's group delay). A listener playing frames as they come hears the speaker this
  much later; the relay's is ``arrival - sent``. **added** = the gateway's percentile minus
  the relay's at the same percentile.
- stages, from the frame headers (``timestamp_us``: when the track cut the frame): *playout*
  ``cut(j)`` at the listener at the publisher's own rate (no resampling) ``- sent(j)`` (the
  inbound socket, the wait for the slot, the fan-out before that listener); *resample +
  framing* ``cut(j) - cut_same_rate(j) + lag`` (audio held in the resampler and the framer,
  and the group delay); *outbox + socket* ``arrival(j) - cut(j)``. The same pipeline replayed
  in this process, chunk by chunk, splits the hold between the resampler and the framer (in
  slots) and gives each stage's CPU per frame (resample, framing, VAD, level, encode).
- **bursts**: frames that arrived less than 5 ms after the previous one of the same track, and
  the most frames of a track that arrived within one 20 ms slot.
- **corr**: the received stream against the offline resample (soxr VHQ), at ``lag``.

A second table compares resampler configurations offline, on the same 20 ms chunks (no
gateway): algorithmic delay, bursts, correlation with soxr VHQ on speech, the band edge
(-3 dB, tones) and CPU per chunk. It is how the live tracks' resampler was chosen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "clients" / "python"))
sys.path.insert(0, str(BENCH))

import numpy as np  # noqa: E402
import soxr  # noqa: E402
from gateway_client import GatewayClient  # noqa: E402
from run import LOADGEN_CORE, SERVER_CORE, SYSTEMS, Server, machine_info  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from gateway.media import resample  # noqa: E402
from gateway.media.framing import Framer, frame_bytes  # noqa: E402
from gateway.media.level import LevelMeter  # noqa: E402
from gateway.media.vad import VadParams, VoiceActivityDetector  # noqa: E402
from protocol.constants import OutboundTrack  # noqa: E402
from protocol.media import encode_audio  # noqa: E402

RESULTS = BENCH / "results"
FRAME_MS = 20
PUBLISHER_RATES = (16000, 24000, 48000)
LISTENERS = ((8000, 1), (16000, 1), (24000, 1), (48000, 1), (48000, 2))
BURST_S = 0.005
"""Frames of one track arriving closer together than this count as a burst."""
WARMUP_S = 2.0
"""Frames sent before this are not counted (the playout aligns its slots to the sender meanwhile)."""


def speech(rate: int, seconds: float) -> np.ndarray:
    """The bundled speech (16 kHz), looped to ``seconds`` and resampled offline (soxr VHQ) to ``rate``."""
    import wave

    with wave.open(str(ROOT / "gateway" / "assets" / "demo_speech.wav"), "rb") as wav:
        one = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        source_rate = wav.getframerate()
    reps = int(np.ceil(seconds * source_rate / len(one)))
    looped = np.tile(one, reps)[: int(seconds * source_rate)]
    if rate == source_rate:
        return looped
    return np.clip(np.rint(soxr.resample(looped.astype(np.float64), source_rate, rate, "VHQ")), -32768, 32767).astype(np.int16)


def live_resampler(in_rate: int, out_rate: int, channels: int = 1) -> Any:
    """The resampler a live track uses for this pair (what ``gateway.session.tracks`` builds)."""
    factory = getattr(resample, "live_resampler", None)
    if factory is not None:
        return factory(in_rate, out_rate, channels)
    return resample.Resampler(in_rate, out_rate, channels)


# ---------------------------------------------------------------------------- measures


def best_lag(reference: np.ndarray, received: np.ndarray, max_lag: int) -> tuple[int, float]:
    """(lag in samples, normalised correlation) of ``reference`` inside ``received``, lag in 0..max_lag."""
    a = reference.astype(np.float64)
    b = received.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lag = int(np.argmax(corr[: max_lag + 1]))
    window = b[lag : lag + len(a)]
    ref = a[: len(window)]
    denom = np.linalg.norm(ref) * np.linalg.norm(window)
    return lag, float(np.dot(ref, window) / denom) if denom else 0.0


def pct(values: list[float] | np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def spread(values: list[float] | np.ndarray) -> dict[str, float | None]:
    return {"p50": pct(values, 50), "p99": pct(values, 99), "max": round(float(np.max(values)), 2) if len(values) else None}


def burstiness(arrivals: np.ndarray) -> dict[str, Any]:
    """Frames arriving < BURST_S after the previous one, and the most frames in one slot's time."""
    if len(arrivals) < 2:
        return {"burst_frames_pct": None, "max_per_slot": None}
    gaps = np.diff(arrivals)
    slot = FRAME_MS / 1000
    # the most arrivals inside any window of one slot (minus a millisecond of jitter)
    ends = np.searchsorted(arrivals, arrivals + slot - 0.001, side="right")
    return {
        "burst_frames_pct": round(100.0 * float(np.mean(gaps < BURST_S)), 2),
        "max_per_slot": int(np.max(ends - np.arange(len(arrivals)))),
    }


# ---------------------------------------------------------------------------- gateway and relay runs


async def run_gateway(url: str, rate: int, seconds: float) -> dict[str, Any]:
    """One publisher at ``rate``, five listeners; returns the raw timings per listener."""
    room = f"local://latency-{rate}-{os.getpid()}-{int(time.time())}"
    publisher = await GatewayClient.connect(url)
    listeners: list[GatewayClient] = []
    heard: list[list[Any]] = []
    try:
        joined = await publisher.join(
            room, user_name="speaker", audio_out={"sample_rate": rate, "channels": 1}, audio_in={"enabled": False},
        )
        for out_rate, channels in LISTENERS:
            client = await GatewayClient.connect(url)
            heard.append([])
            client.on_audio = heard[-1].append  # every frame, with its arrival time
            await client.join(
                room, user_name=f"ear-{out_rate}x{channels}", audio_out={"enabled": False},
                audio_in={"sample_rate": out_rate, "channels": channels, "frame_ms": FRAME_MS},
            )
            listeners.append(client)
        pcm = speech(rate, seconds).tobytes()
        step = 2 * rate * FRAME_MS // 1000
        sent = await send_realtime(lambda data: publisher.send_raw(data), pcm, step, rate)
        await asyncio.sleep(0.5)
        out: dict[str, Any] = {"sent": sent, "listeners": {}}
        for (out_rate, channels), got in zip(LISTENERS, heard, strict=True):
            frames = [f for f in got if f.participant_id == joined["participant_id"]]
            frames.sort(key=lambda f: f.seq)
            out["listeners"][f"{out_rate}x{channels}"] = {
                "rate": out_rate, "channels": channels,
                "seq": [f.seq for f in frames],
                "cut_us": [f.timestamp_us for f in frames],
                "arrival": [f.received_at for f in frames],
                "pcm": b"".join(f.pcm for f in frames),
            }
        return out
    finally:
        for client in [publisher, *listeners]:
            await client.close()


async def send_realtime(send: Callable[[bytes], Any], pcm: bytes, step: int, rate: int) -> list[float]:
    """Send ``pcm`` in 20 ms frames at real time on a drift-free clock; returns each frame's send time (monotonic)."""
    sent: list[float] = []
    t0 = time.monotonic() + 0.05
    for k, pos in enumerate(range(0, len(pcm) - step + 1, step)):
        delay = t0 + k * FRAME_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(time.monotonic())
        await send(encode_audio(OutboundTrack.MICROPHONE, k + 1, 0, rate, 1, pcm[pos : pos + step]))
    return sent


async def run_relay(url: str, rate: int, seconds: float) -> dict[str, Any]:
    """The same frames through the bare relay: one-way arrival times."""
    key = f"latency-{rate}-{os.getpid()}"
    base = url.rstrip("/") + "/"
    async with connect(base + key, compression=None, max_size=2**20) as a, connect(
        base + key, compression=None, max_size=2**20
    ) as b:
        arrivals: list[float] = []

        async def read() -> None:
            async for _ in b:
                arrivals.append(time.monotonic())

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.2)
        pcm = speech(rate, seconds).tobytes()
        sent = await send_realtime(a.send, pcm, 2 * rate * FRAME_MS // 1000, rate)
        await asyncio.sleep(0.5)
        reader.cancel()
        return {"sent": sent, "arrival": arrivals}


# ---------------------------------------------------------------------------- analysis


def analyse_relay(raw: dict[str, Any]) -> dict[str, Any]:
    sent = np.array(raw["sent"])
    arrival = np.array(raw["arrival"][: len(sent)])
    first = int(WARMUP_S * 1000 / FRAME_MS)
    latency = (arrival - sent[: len(arrival)])[first:] * 1000
    return {"one_way_ms": spread(latency), "frames": len(arrival), "sent": len(sent),
            **burstiness(arrival[first:])}


def analyse_gateway(raw: dict[str, Any], rate: int, seconds: float, wall_offset: float) -> dict[str, Any]:
    sent = np.array(raw["sent"])
    sent_pcm = speech(rate, seconds)[: len(sent) * rate * FRAME_MS // 1000]
    first = int(WARMUP_S * 1000 / FRAME_MS)
    same = raw["listeners"].get(f"{rate}x1")
    same_cut = {s: c for s, c in zip(same["seq"], same["cut_us"], strict=True)} if same else {}
    out: dict[str, Any] = {}
    for name, lst in raw["listeners"].items():
        out_rate, channels = lst["rate"], lst["channels"]
        received = np.frombuffer(lst["pcm"], dtype=np.int16)
        if channels > 1:
            received = received.reshape(-1, channels)[:, 0]
        reference = sent_pcm if out_rate == rate else soxr.resample(sent_pcm.astype(np.float64), rate, out_rate, "VHQ")
        lag, corr = best_lag(reference, received, max_lag=out_rate // 2)
        lag_ms = 1000.0 * lag / out_rate
        seqs = np.array(lst["seq"])
        arrival = np.array(lst["arrival"])
        cut = np.array(lst["cut_us"], dtype=np.float64) / 1e6
        j = seqs - 1
        keep = (j >= first) & (j < len(sent))
        total = (arrival[keep] - sent[j[keep]]) * 1000 + lag_ms
        outsock = (arrival[keep] + wall_offset - cut[keep]) * 1000
        playout = [(same_cut[s] / 1e6 - wall_offset - sent[s - 1]) * 1000 for s in seqs[keep] if s in same_cut]
        hold = [(c - same_cut[s] / 1e6) * 1000 + lag_ms for s, c in zip(seqs[keep], cut[keep], strict=True) if s in same_cut]
        out[name] = {
            "frames": len(seqs), "sent": len(sent), "gaps": int(np.sum(np.diff(seqs) != 1)) if len(seqs) > 1 else 0,
            "lag_ms": round(lag_ms, 2), "corr": round(corr, 5),
            "total_ms": spread(total), "playout_ms": spread(playout), "resample_framing_ms": spread(hold),
            "outbox_socket_ms": spread(outsock),
            **burstiness(arrival[keep]),
        }
    return out


def replay_stages(in_rate: int, out_rate: int, channels: int, seconds: float = 4.0) -> dict[str, Any]:
    """The track's pipeline in this process, 20 ms chunks: hold per stage (slots) and CPU per frame (us)."""
    pcm = speech(in_rate, seconds)
    step = in_rate * FRAME_MS // 1000
    chunks = [pcm[i : i + step].tobytes() for i in range(0, len(pcm) - step + 1, step)]
    if channels > 1:
        chunks = [np.repeat(np.frombuffer(c, np.int16), channels).tobytes() for c in chunks]
    fbytes = frame_bytes(out_rate, channels, FRAME_MS)
    resampler = live_resampler(in_rate, out_rate, channels) if in_rate != out_rate else None
    framer = Framer(fbytes)
    vad = VoiceActivityDetector(out_rate, channels, VadParams(), frame_ms=FRAME_MS)
    meter = LevelMeter(out_rate, channels)
    cpu = {"resample": 0.0, "framing": 0.0, "vad": 0.0, "level": 0.0, "encode": 0.0}
    produced = 0
    emitted_at: list[int] = []
    resampled_at: list[int] = []
    for k, chunk in enumerate(chunks):
        t0 = time.perf_counter()
        data = resampler.process(chunk) if resampler is not None else chunk
        t1 = time.perf_counter()
        frames = framer.push(data)
        t2 = time.perf_counter()
        cpu["resample"] += t1 - t0
        cpu["framing"] += t2 - t1
        produced += len(data)
        while (len(resampled_at) + 1) * fbytes <= produced:
            resampled_at.append(k)
        for frame in frames:
            emitted_at.append(k)
            t3 = time.perf_counter()
            encode_audio(16, 1, 0, out_rate, channels, frame)
            t4 = time.perf_counter()
            meter.push(frame)
            t5 = time.perf_counter()
            vad.process(frame)
            t6 = time.perf_counter()
            cpu["encode"] += t4 - t3
            cpu["level"] += t5 - t4
            cpu["vad"] += t6 - t5
    n = max(1, len(emitted_at))
    resample_hold = np.array(resampled_at) - np.arange(len(resampled_at))
    framing_hold = np.array(emitted_at) - np.array(resampled_at[: len(emitted_at)])
    return {
        "resampler": describe_resampler(resampler),
        "resample_hold_slots": {"p50": pct(resample_hold, 50), "max": int(resample_hold.max())},
        "framing_hold_slots": {"p50": pct(framing_hold, 50), "max": int(framing_hold.max())},
        "cpu_us_per_frame": {k: round(v / n * 1e6, 1) for k, v in cpu.items()},
    }


def describe_resampler(resampler: Any) -> str:
    if resampler is None:
        return "none (same rate)"
    describe = getattr(resampler, "describe", None)
    return describe() if describe is not None else f"soxr {resampler.quality}"


# ---------------------------------------------------------------------------- resampler candidates


def candidates() -> dict[str, Callable[[int, int], Any]]:
    """Resampler configurations to compare: soxr's recipes, and the live tracks' own when it differs."""
    found: dict[str, Callable[[int, int], Any]] = {
        f"soxr {q}": (lambda i, o, q=q: resample.Resampler(i, o, quality=q)) for q in resample.QUALITIES
    }
    if getattr(resample, "live_resampler", None) is not None:
        found["live (gateway.session.tracks)"] = lambda i, o: live_resampler(i, o)
    return found


def band_edge(make: Callable[[int, int], Any], in_rate: int, out_rate: int) -> float:
    """Highest tone (Hz) that comes out at no less than -3 dB, in steps of 0.5 % of the lower Nyquist."""
    nyquist = min(in_rate, out_rate) / 2
    edge = 0.0
    t = np.arange(int(0.3 * in_rate)) / in_rate
    for fraction in np.arange(0.70, 1.0, 0.005):
        freq = fraction * nyquist
        tone = np.rint(10000 * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes()
        r = make(in_rate, out_rate)
        out = np.frombuffer(r.process(tone) + r.flush(), dtype=np.int16).astype(np.float64)
        body = out[len(out) // 4 : 3 * len(out) // 4]
        gain = np.sqrt(np.mean(body**2)) / (10000 / np.sqrt(2))
        if gain < 10 ** (-3 / 20):
            break
        edge = freq
    return round(edge)


def compare_resamplers(seconds: float = 6.0) -> list[dict[str, Any]]:
    rows = []
    for in_rate in PUBLISHER_RATES:
        signal = speech(in_rate, seconds)
        step = in_rate * FRAME_MS // 1000
        chunks = [signal[i : i + step].tobytes() for i in range(0, len(signal) - step + 1, step)]
        for out_rate in sorted({r for r, _ in LISTENERS}):
            if out_rate == in_rate:
                continue
            reference = soxr.resample(signal.astype(np.float64), in_rate, out_rate, "VHQ")
            fbytes = frame_bytes(out_rate, 1, FRAME_MS)
            for name, make in candidates().items():
                r = make(in_rate, out_rate)
                framer = Framer(fbytes)
                out: list[bytes] = []
                emitted: list[int] = []
                spent = 0.0
                for k, chunk in enumerate(chunks):
                    t0 = time.perf_counter()
                    data = r.process(chunk)
                    spent += time.perf_counter() - t0
                    out.append(data)
                    emitted += [k] * len(framer.push(data))
                y = np.frombuffer(b"".join(out), dtype=np.int16)
                lag, corr = best_lag(reference, y, max_lag=out_rate // 2)
                hold = (np.array(emitted) - np.arange(len(emitted))) * FRAME_MS
                delay = hold + 1000.0 * lag / out_rate
                rows.append({
                    "pair": f"{in_rate // 1000} -> {out_rate // 1000} kHz", "resampler": name,
                    "delay_ms": spread(delay[10:]), "max_per_slot": int(np.bincount(emitted).max()),
                    "corr": round(corr, 5), "band_edge_hz": band_edge(make, in_rate, out_rate),
                    "cpu_us": round(spent / len(chunks) * 1e6, 1),
                })
    return rows


# ---------------------------------------------------------------------------- report


def listener_label(name: str) -> str:
    """``48000x2`` -> ``48 kHz stereo``."""
    rate, channels = name.split("x")
    return f"{int(rate) // 1000} kHz" + (" stereo" if channels == "2" else "")


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# Latency budget: {report['name']}",
        "",
        f"Date {m['date']}; {m['nproc']} cores ({m['cpu_model']}); Python {m['python']}; git {m['git']}; "
        f"hot path: {m['hot path']}. Written by `bench/latency.py` ({report['duration_s']:.0f} s of real-time "
        f"speech per publisher rate, the first {WARMUP_S:.0f} s not counted; harness time {report['harness_s']:.0f} s).",
        "",
        "Per rate pair: **total** is what a listener playing frames as they come hears after the speaker "
        "(`arrival - sent + lag`), **added** is the gateway's total minus the bare relay's one-way time "
        "at the same percentile; stages from the frame headers (module docstring). ms unless said.",
        "",
        "| publisher -> listener | added p50 | added p99 | added max | total p50 / p99 | playout p50 | "
        "resample+framing p50 / p99 | outbox+socket p50 / p99 | lag | bursts % | max/slot | corr | frames |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate_key, run in report["runs"].items():
        relay = run["relay"]["one_way_ms"]
        for name, r in run["gateway"].items():
            t = r["total_ms"]
            added = {q: (None if t[q] is None or relay[q] is None else round(t[q] - relay[q], 1)) for q in ("p50", "p99", "max")}
            lines.append(
                f"| {int(rate_key) // 1000} -> {listener_label(name)} "
                f"| {added['p50']} | {added['p99']} | {added['max']} | {t['p50']} / {t['p99']} "
                f"| {r['playout_ms']['p50']} | {r['resample_framing_ms']['p50']} / {r['resample_framing_ms']['p99']} "
                f"| {r['outbox_socket_ms']['p50']} / {r['outbox_socket_ms']['p99']} | {r['lag_ms']} "
                f"| {r['burst_frames_pct']} | {r['max_per_slot']} | {r['corr']} | {r['frames']}/{r['sent']} |"
            )
    lines += ["", "Bare relay (the floor), one-way client -> relay -> client:", "",
              "| publisher rate | p50 | p99 | max | bursts % | max/slot | frames |", "|---|---|---|---|---|---|---|"]
    for rate_key, run in report["runs"].items():
        r = run["relay"]
        lines.append(f"| {int(rate_key) // 1000} kHz | {r['one_way_ms']['p50']} | {r['one_way_ms']['p99']} | "
                     f"{r['one_way_ms']['max']} | {r['burst_frames_pct']} | {r['max_per_slot']} | {r['frames']}/{r['sent']} |")
    lines += ["", "Each stage of a listener's track, replayed in this process on 20 ms chunks: hold (slots of "
              "20 ms a frame waits in that stage beyond the chunk that completes its content) and CPU per frame:", "",
              "| publisher -> listener | resampler | resample hold p50 / max | framing hold p50 / max | "
              "CPU us: resample | framing | VAD | level | encode |", "|---|---|---|---|---|---|---|---|---|"]
    for key, s in report["stages"].items():
        c = s["cpu_us_per_frame"]
        lines.append(f"| {key} | {s['resampler']} | {s['resample_hold_slots']['p50']} / {s['resample_hold_slots']['max']} "
                     f"| {s['framing_hold_slots']['p50']} / {s['framing_hold_slots']['max']} | {c['resample']} "
                     f"| {c['framing']} | {c['vad']} | {c['level']} | {c['encode']} |")
    if report.get("resamplers"):
        lines += ["", "Resampler configurations offline (mono, 20 ms chunks of speech, framed to 20 ms): delay = "
                  "slots a frame is held + group delay; corr against soxr VHQ one-shot; band edge = highest tone "
                  "at -3 dB or better:", "",
                  "| pair | resampler | delay p50 / p99 / max | max frames per slot | corr | band edge Hz | CPU us/chunk |",
                  "|---|---|---|---|---|---|---|"]
        for r in report["resamplers"]:
            d = r["delay_ms"]
            lines.append(f"| {r['pair']} | {r['resampler']} | {d['p50']} / {d['p99']} / {d['max']} | {r['max_per_slot']} "
                         f"| {r['corr']} | {r['band_edge_hz']} | {r['cpu_us']} |")
    return "\n".join(lines) + "\n"


async def measure(gateway_url: str, relay_url: str, rate: int, seconds: float) -> dict[str, Any]:
    wall_offset = time.time() - time.monotonic()
    raw_gateway = await run_gateway(gateway_url, rate, seconds)
    raw_relay = await run_relay(relay_url, rate, seconds)
    return {"gateway": analyse_gateway(raw_gateway, rate, seconds, wall_offset), "relay": analyse_relay(raw_relay)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of speech per publisher rate")
    parser.add_argument("--name", default="latest", help="results go to bench/results/latency-<name>.md/.json")
    parser.add_argument("--rates", default=",".join(str(r) for r in PUBLISHER_RATES))
    parser.add_argument("--no-resamplers", action="store_true", help="skip the offline resampler table")
    args = parser.parse_args(argv)
    started = time.monotonic()
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {LOADGEN_CORE} if LOADGEN_CORE in cores else cores)
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    gateway = Server(SYSTEMS["gateway"], logs / "latency-gateway.log")
    relay = Server(SYSTEMS["relay"], logs / "latency-relay.log")
    runs: dict[str, Any] = {}
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            print(f"publisher at {rate} Hz: {args.duration:.0f} s through the gateway, then the relay", flush=True)
            runs[str(rate)] = asyncio.run(measure(gateway.url, relay.url, rate, args.duration + WARMUP_S))
    finally:
        gateway.stop()
        relay.stop()
    stages = {
        f"{rate // 1000} -> {out // 1000} kHz{' stereo' if ch > 1 else ''}": replay_stages(rate, out, ch)
        for rate in (int(r) for r in args.rates.split(",")) for out, ch in LISTENERS
    }
    report: dict[str, Any] = {
        "name": args.name, "duration_s": args.duration, "machine": machine_info(), "server_core": SERVER_CORE,
        "runs": runs, "stages": stages,
        "resamplers": [] if args.no_resamplers else compare_resamplers(),
    }
    report["harness_s"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"latency-{args.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    text = render(report)
    (RESULTS / f"latency-{args.name}.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()
