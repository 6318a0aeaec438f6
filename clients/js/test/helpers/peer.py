"""A Python participant for the JS and browser tests (uses the project's Python client).

    peer.py join --url WS --room R [--name N] [--send-wav WAV] [--echo]
                 [--record-from NAME --seconds S --reference WAV] [--linger S]
    peer.py compare --received PCM --rate HZ --reference WAV

Prints one JSON object per line: {"ready": ..., "participant_id": ...} once joined; with
--record-from, {"peak": ..., "rms": ..., "seconds": ...}: the best normalised correlation of
that participant's audio with the (looped) reference, so a test checks content, not bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
import wave

import numpy as np
from gateway_client import GatewayClient

from tests.audio import best_correlation


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def load_wav(path: str, rate: int) -> np.ndarray:
    """Mono PCM16 of a WAV at ``rate``."""
    import soxr

    with wave.open(path, "rb") as wav:
        src_rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if channels == 2:
        samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
    if src_rate != rate:
        samples = soxr.resample(samples, src_rate, rate).astype(np.int16)
    return samples


def content_peak(received: np.ndarray, reference: np.ndarray, rate: int) -> tuple[float, float]:
    """Best correlation of a loud 1.5 s stretch of ``received`` within the reference looped twice."""
    window = int(1.5 * rate)
    looped = np.concatenate([reference, reference])
    best, loudest = 0.0, 0.0
    for start in range(0, max(1, len(received) - window), rate // 4):
        chunk = received[start:start + window]
        rms = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) / 32768 if len(chunk) else 0.0
        loudest = max(loudest, rms)
        if rms < 0.01:
            continue
        peak, _ = best_correlation(chunk.tobytes(), rate, looped.tobytes(), rate)
        best = max(best, peak)
        if best > 0.95:
            break
    return best, loudest


async def join(args: argparse.Namespace) -> None:
    client = await GatewayClient.connect(args.url)
    body = asyncio.create_task(run_peer(client, args))
    # The tests stop a peer with SIGTERM: close with 1000 then, so that the gateway ends the
    # session at once instead of holding it for a resume (PROTOCOL.md, "Resume").
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, body.cancel)
    try:
        await body
    except asyncio.CancelledError:
        pass
    finally:
        await client.close()


async def run_peer(client: GatewayClient, args: argparse.Namespace) -> None:
    rate = 16000
    joined = await client.join(
        args.room, user_name=args.name, audio_in={"sample_rate": rate}, audio_out={"sample_rate": rate}
    )
    me = joined["participant_id"]
    emit({"ready": True, "participant_id": me})
    tasks = []
    if args.send_wav:
        await client.send_audio(load_wav(args.send_wav, rate).tobytes())
    if args.echo:
        async def echo() -> None:
            async for event in client.events():
                if event.event == "app-message":
                    await client.send_app_message({"echo": event.data["message"]}, event.data["sender"])
                    emit({"echoed": event.data["message"], "from": event.data["sender"]})
        tasks.append(asyncio.create_task(echo()))
    if args.record_from:
        def named(participants: dict) -> str | None:
            return next((p["id"] for p in participants.values() if p["info"].get("userName") == args.record_from), None)

        pid = named(joined["participants"])
        if pid is None:
            event = await client.wait_for(
                "participant-joined", lambda d: d["participant"]["info"].get("userName") == args.record_from,
                timeout=args.timeout,
            )
            pid = event.data["participant"]["id"]
        await client.wait_for("track-started", lambda d: d["participant_id"] == pid, timeout=args.timeout)
        client.drain_audio()
        pcm = await client.record(args.seconds, participant_id=pid)
        received = np.frombuffer(pcm, dtype=np.int16)
        peak, rms = content_peak(received, load_wav(args.reference, rate), rate)
        emit({"peak": round(peak, 4), "rms": round(rms, 4), "seconds": round(len(received) / rate, 2), "participant_id": pid})
    deadline = time.monotonic() + args.linger
    while time.monotonic() < deadline and not client.closed:
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await client.close()


def compare(args: argparse.Namespace) -> None:
    received = np.fromfile(args.received, dtype="<i2")
    peak, rms = content_peak(received, load_wav(args.reference, args.rate), args.rate)
    emit({"peak": round(peak, 4), "rms": round(rms, 4), "seconds": round(len(received) / args.rate, 2)})


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    j = sub.add_parser("join")
    j.add_argument("--url", required=True)
    j.add_argument("--room", required=True)
    j.add_argument("--name", default="python-peer")
    j.add_argument("--send-wav")
    j.add_argument("--echo", action="store_true")
    j.add_argument("--record-from")
    j.add_argument("--seconds", type=float, default=3.0)
    j.add_argument("--reference")
    j.add_argument("--timeout", type=float, default=30.0)
    j.add_argument("--linger", type=float, default=0.0)
    c = sub.add_parser("compare")
    c.add_argument("--received", required=True)
    c.add_argument("--rate", type=int, required=True)
    c.add_argument("--reference", required=True)
    args = parser.parse_args()
    if args.command == "compare":
        compare(args)
    else:
        asyncio.run(join(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
