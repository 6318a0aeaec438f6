"""Event-loop lag: how late the loop runs a timer, the first sign of a gateway doing too much.

Everything the gateway does runs on one loop, so a loop that falls behind delays every session's
audio at once (the playout's slots, the fan-out, replies). Sampled by sleeping a fixed interval and
measuring the overshoot: cheap (four wake-ups a second) and what the sessions feel.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Gauge, Histogram

INTERVAL_S = 0.25
"""Time between samples."""


async def watch_loop_lag(histogram: Histogram, last: Gauge, interval: float = INTERVAL_S) -> None:
    """Observe the loop's lag every ``interval`` into ``histogram`` and ``last`` until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        lag = max(0.0, loop.time() - started - interval)
        histogram.observe(lag)
        last.set(lag)
