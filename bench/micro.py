"""Micro-benchmarks of the audio hot path, in microseconds per 20 ms frame.

    .venv/bin/python bench/micro.py            # prints a table, writes bench/results/micro.md

Each case runs a 16 kHz mono PCM16 20 ms frame (640 bytes) through one step, many times;
the figure is the best of several repeats (least disturbed by the noisy machine) divided
by the frames, so it is the step's own cost, not a throughput under load (``run.py``).

Fan-out runs the real objects a published frame goes through in the local backend: the
room's ``publish_audio``, each receiver's ``InboundTrack`` (resample when needed, reframe,
encode, level, VAD) and its ``Outbox`` with a fake socket, writer task included.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "--plain" in sys.argv:
    os.environ["GATEWAY_PLAIN_PYTHON"] = "1"  # read by gateway.compiled, before any hot module loads

import numpy as np  # noqa: E402

from gateway import compiled  # noqa: E402
from gateway.backends.base import AudioFormat  # noqa: E402
from gateway.backends.local.room import LocalParticipant, LocalRoom  # noqa: E402
from gateway.media.level import LevelMeter, rms_level  # noqa: E402
from gateway.media.playout import AudioPlayout  # noqa: E402
from gateway.media.resample import Resampler, live_resampler  # noqa: E402
from gateway.media.vad import VadParams, VoiceActivityDetector  # noqa: E402
from gateway.net.connection import GatewayConnection  # noqa: E402
from gateway.session.outbox import Outbox  # noqa: E402
from gateway.session.tracks import InboundTrack  # noqa: E402
from protocol.media import decode_frame, encode_audio  # noqa: E402

RATE = 16000
FRAME = 2 * RATE * 20 // 1000


def speechlike(frames: int) -> list[bytes]:
    """A 200 Hz buzz with a syllable envelope and a little noise: VAD sees voice, then pauses."""
    rng = np.random.default_rng(1)
    t = np.arange(frames * FRAME // 2) / RATE
    envelope = 0.5 * (1 + np.sin(2 * math.pi * 1.5 * t)) ** 2
    signal = 6000 * envelope * np.sign(np.sin(2 * math.pi * 200 * t)) + rng.normal(0, 200, t.size)
    pcm = np.clip(signal, -32768, 32767).astype("<i2").tobytes()
    return [pcm[i : i + FRAME] for i in range(0, len(pcm), FRAME)]


def best_us(fn: Callable[[int], None], frames: int, repeats: int = 5) -> float:
    """Best of ``repeats`` runs of ``fn(frames)``, in microseconds per frame."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn(frames)
        best = min(best, (time.perf_counter_ns() - start) / 1000 / frames)
    return best


class FakeSocket:
    """Stands in for the gateway's connection: counts what the outbox writes (always writable)."""

    writable = True

    def __init__(self) -> None:
        self.frames = 0

    def write_message(self, data: bytes, *, text: bool) -> bool:
        self.frames += 1
        return True

    async def wait_writable(self) -> None:
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None


class Receiver:
    """A room member that relays to one InboundTrack and Outbox, as a session does."""

    def __init__(self, out_rate: int, vad: bool) -> None:
        self.socket = FakeSocket()
        self.outbox = Outbox(self.socket, media_limit=1000)  # type: ignore[arg-type]
        self.track: InboundTrack | None = None
        self.out = AudioFormat(out_rate)
        self.vad = VadParams() if vad else None

    def deliver_event(self, name: str, data: dict[str, Any]) -> None:
        pass

    def deliver_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        if self.track is None:
            self.track = InboundTrack(16, participant_id, source, self.out, 20, self.outbox.media, vad=self.vad)
        self.track.push(pcm, sample_rate, channels)

    def deliver_audio_flush(self, participant_id: str, source: str) -> None:
        pass

    def deliver_track_ended(self, participant_id: str, source: str) -> None:
        pass


class FakeTransport:
    """Stands in for the socket under a GatewayConnection: keeps nothing it is given."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def is_closing(self) -> bool:
        return False


class AcceptAll:
    """A connection owner that accepts every handshake and sets nothing up."""

    def respond(self, connection: GatewayConnection, request: Any) -> Any:
        return connection.protocol.accept(request)

    def opened(self, connection: GatewayConnection) -> None:
        pass

    def holding(self, connection: GatewayConnection, size: int) -> None:
        pass


def open_connection(received: list[Any]) -> tuple[GatewayConnection, FakeTransport]:
    """A GatewayConnection opened by a real handshake over a fake transport, delivering to ``received``."""
    from websockets.server import ServerProtocol

    connection = GatewayConnection(ServerProtocol(max_size=1 << 20), AcceptAll(), open_timeout=None)
    transport = FakeTransport()
    connection.connection_made(transport)  # type: ignore[arg-type]
    connection.data_received(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    connection.serve(received.append)
    return connection, transport


def client_frame(payload: bytes, mask: bytes) -> bytes:
    """A masked binary client frame (as a browser or the Node load generator sends it)."""
    n = len(payload)
    head = bytes((0x82, 0x80 | n)) if n < 126 else bytes((0x82, 0x80 | 126)) + n.to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


async def connection_us(frames: list[bytes]) -> list[tuple[str, float, str]]:
    """The connection's receive and send paths per frame (a running loop: the connection needs one)."""
    rows: list[tuple[str, float, str]] = []
    wire = [encode_audio(1, i, 0, RATE, 1, f) for i, f in enumerate(frames)]
    for label, mask in (("zero mask, as the load generator", b"\0\0\0\0"), ("random mask, as browsers", b"\x12\x34\x56\x78")):
        chunks = [client_frame(w, mask) for w in wire]
        received: list[Any] = []
        connection, _ = open_connection(received)

        def receive(n: int, connection: GatewayConnection = connection, chunks: list[bytes] = chunks,
                    received: list[Any] = received) -> None:
            for chunk in chunks[:n]:
                connection.data_received(chunk)
            received.clear()

        rows.append((f"connection: receive one 668 B frame ({label})", best_us(receive, len(chunks)),
                     "gateway.net.connection data_received -> handler"))
    connection, _ = open_connection([])

    def send(n: int) -> None:
        for w in wire[:n]:
            connection.write_message(w, text=False)

    rows.append(("connection: write one 668 B frame", best_us(send, len(wire)),
                 "gateway.net.connection write_message -> transport.write"))
    return rows


async def fan_out_us(receivers: int, frames: list[bytes], *, out_rate: int = RATE, vad: bool = True) -> float:
    """Per published frame: room fan-out to ``receivers`` sessions, through to their sockets."""
    room = LocalRoom("micro")
    sender = LocalParticipant(member=Receiver(RATE, False), user_name="sender")
    room.add(sender)
    members = [Receiver(out_rate, vad) for _ in range(receivers)]
    for member in members:
        member.outbox.start()
        room.add(LocalParticipant(member=member, user_name="receiver"))
    best = math.inf
    for _ in range(5):
        start = time.perf_counter_ns()
        for pcm in frames:
            room.publish_audio(sender.id, "microphone", pcm, RATE, 1)
            await asyncio.sleep(0)  # the writers run, as they would between frames
        await asyncio.sleep(0)
        best = min(best, (time.perf_counter_ns() - start) / 1000 / len(frames))
    for member in members:
        await member.outbox.close()
    expected = 5 * len(frames) * (1 if out_rate == RATE else 0.99)
    assert all(m.socket.frames >= expected - 5 for m in members), "fan-out lost frames"
    return best


async def playout_slot_us(playouts: int, seconds: float = 1.0) -> float:
    """Per slot: ``playouts`` playouts each paced through ``seconds`` of audio at real time.

    The figure is CPU time (this process), not wall time, divided by the frames written:
    what pacing costs the loop (timer wake-ups, slot decisions, the frame copy) with a
    sink that does nothing. Wall time is ``seconds`` whatever the cost.
    """
    written = 0

    def sink(chunk: bytes) -> None:
        nonlocal written
        written += 1

    frames = int(seconds * 50)
    audio = bytes(frames * FRAME)
    items = [AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0) for _ in range(playouts)]
    cpu = time.process_time()
    for i, playout in enumerate(items):
        playout.start()
        playout.push(audio)
        if i % 16 == 15:
            await asyncio.sleep(0.001)  # spread the slots over the period, as real sessions are
    while written < playouts * frames:
        await asyncio.sleep(0.05)
    used = time.process_time() - cpu
    for playout in items:
        await playout.stop()
    return used * 1e6 / written


def run(frames_n: int) -> list[tuple[str, float, str]]:
    frames = speechlike(frames_n)
    wire = [encode_audio(1, i, 0, RATE, 1, f) for i, f in enumerate(frames)]
    rows: list[tuple[str, float, str]] = []

    def decode(n: int) -> None:
        for data in wire[:n]:
            decode_frame(data)

    def encode(n: int) -> None:
        for i, f in enumerate(frames[:n]):
            encode_audio(16, i, 0, RATE, 1, f)

    rows.append(("decode binary frame (668 B)", best_us(decode, frames_n), "protocol.media.decode_frame"))
    rows.append(("encode binary frame (668 B)", best_us(encode, frames_n), "protocol.media.encode_audio"))
    for out_rate in (24000, 8000, 16000):
        def resample(n: int, out_rate: int = out_rate) -> None:
            r = Resampler(RATE, out_rate)
            for f in frames[:n]:
                r.process(f)

        def live(n: int, out_rate: int = out_rate) -> None:
            r = live_resampler(RATE, out_rate)
            for f in frames[:n]:
                r.process(f)

        if out_rate == RATE:
            rows.append((f"resample 16 kHz -> {out_rate // 1000} kHz", best_us(resample, frames_n), "pass-through"))
            continue
        rows.append((f"resample 16 kHz -> {out_rate // 1000} kHz, soxr HQ", best_us(resample, frames_n),
                     "gateway.media.resample.Resampler (recordings; live tracks before issue 19)"))
        rows.append((f"resample 16 kHz -> {out_rate // 1000} kHz, live", best_us(live, frames_n),
                     "gateway.media.resample.live_resampler (polyphase FIR, as tracks use it)"))

    for frame_ms in (None, 20):
        def vad(n: int, frame_ms: int | None = frame_ms) -> None:
            v = VoiceActivityDetector(RATE, 1, VadParams(), frame_ms=frame_ms)
            for f in frames[:n]:
                v.process(f)

        label = "2 x 10 ms webrtcvad" if frame_ms is None else "1 x 20 ms webrtcvad, the track's frames"
        rows.append((f"VAD ({label} + hysteresis)", best_us(vad, frames_n),
                     "gateway.media.vad" + (" (before 2026-11-24 pass 2)" if frame_ms is None else " (as tracks use it)")))

    def level(n: int) -> None:
        m = LevelMeter(RATE)
        for f in frames[:n]:
            m.push(f)

    rows.append(("level meter", best_us(level, frames_n), "gateway.media.level.LevelMeter"))

    def rms(n: int) -> None:
        for f in frames[:n]:
            rms_level(f)

    rows.append(("rms_level", best_us(rms, frames_n), "gateway.media.level.rms_level"))
    us = min(asyncio.run(playout_slot_us(256)) for _ in range(3))
    rows.append(("playout pacing, 256 playouts", us,
                 "gateway.media.playout.AudioPlayout per slot, CPU time, no-op sink (best of 3 x 1 s)"))
    for k in (1, 4, 16):
        us = asyncio.run(fan_out_us(k, frames))
        rows.append((f"fan-out to {k} receiver(s), 16 kHz, VAD on", us,
                     f"{us / k:.1f} us per receiver; room + InboundTrack + Outbox + fake socket"))
    us = asyncio.run(fan_out_us(4, frames, vad=False))
    rows.append(("fan-out to 4 receivers, 16 kHz, VAD off", us, f"{us / 4:.1f} us per receiver"))
    us = asyncio.run(fan_out_us(4, frames, out_rate=24000))
    rows.append(("fan-out to 4 receivers, 16 -> 24 kHz, VAD on", us, f"{us / 4:.1f} us per receiver"))
    rows += asyncio.run(connection_us(frames))
    return rows


def render(rows: list[tuple[str, float, str]], frames_n: int) -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# Micro-benchmarks: audio hot path",
        "",
        f"Date {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; {os.cpu_count()} cores ({model}); "
        f"Python {platform.python_version()}. Written by `bench/micro.py`: best of 5 runs of {frames_n} frames of "
        "16 kHz mono PCM16, 20 ms each. A frame is 20 000 us of audio, so a step at 20 us uses 0.1 % of a core per stream.",
        "",
        f"Hot path: {compiled.summary()} (`scripts/build_fast.py`; `--plain` measures the Python source).",
        "",
        "| step | us per frame | what |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {us:.1f} | {what} |" for name, us, what in rows]
    lines += [
        "",
        "Daily backend path (SDK audio callback on a native thread -> bytes sent to a client): "
        "see micro-daily.md (bench/micro_daily.py).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--plain", action="store_true", help="the hot path as plain Python even where it is compiled")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "micro.md"))
    args = parser.parse_args(argv)
    rows = run(args.frames)
    text = render(rows, args.frames)
    print(text)
    if args.output != "-":
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
