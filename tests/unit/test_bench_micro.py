"""bench/micro.py still runs against the gateway's current interfaces (a smoke test, not a timing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_micro():
    spec = importlib.util.spec_from_file_location("bench_micro", ROOT / "bench" / "micro.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fan_out_micro_benchmark_delivers_every_frame_through_the_outbox():
    """The fan-out benchmark's stand-in connection satisfies the outbox, and every frame reaches it."""
    micro = load_micro()
    frames = micro.speechlike(40)
    us = await micro.fan_out_us(2, frames)
    assert us > 0


def test_vad_rows_measure_both_frame_sizes():
    """The VAD rows run the detector as tracks use it (20 ms frames) and as before (10 ms)."""
    micro = load_micro()
    frames = micro.speechlike(20)
    classified = {}
    for frame_ms in (None, 20):
        v = micro.VoiceActivityDetector(micro.RATE, 1, micro.VadParams(), frame_ms=frame_ms)
        for f in frames:
            v.process(f)
        classified[frame_ms] = v._frames_seen
    assert classified == {None: 40, 20: 20}  # 20 frames of 20 ms: forty 10 ms calls, or twenty 20 ms ones
