"""bench/latency.py still runs against the gateway's current interfaces, and its replay sees no held frames."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def load_latency():
    spec = importlib.util.spec_from_file_location("bench_latency", ROOT / "bench" / "latency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replayed_track_holds_no_frame_at_8khz_and_stereo():
    """A 24 kHz publisher's 20 ms chunks come out of an 8 kHz (and a 48 kHz stereo) track's stages in the same slot."""
    latency = load_latency()
    for out_rate, channels in ((8000, 1), (48000, 2)):
        stages = latency.replay_stages(24000, out_rate, channels, seconds=0.6)
        assert stages["resampler"].startswith("polyphase FIR")
        assert stages["resample_hold_slots"] == {"p50": 0.0, "max": 0}
        assert stages["framing_hold_slots"] == {"p50": 0.0, "max": 0}


def test_burstiness_counts_frames_that_arrive_together():
    """Two frames 1 ms apart in a steady 20 ms stream are one burst; the slot with both holds two."""
    latency = load_latency()
    arrivals = np.array([0.0, 0.02, 0.04, 0.041, 0.06, 0.08])
    assert latency.burstiness(arrivals) == {"burst_frames_pct": 20.0, "max_per_slot": 2}
