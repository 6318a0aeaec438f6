"""Network statistics of a local participant, in the shape of daily-python's ``get_network_stats()``.

A local room has no network: media moves between sessions inside this process, so nothing is
lost and there is no round trip. The byte counts are real (the media this participant published
into the room and the media the room delivered to it, as raw PCM and pixels, so the bit rates
are those of uncompressed media, higher than Daily's Opus and VP8), the rest is "perfect".
"""

from __future__ import annotations

import time
from typing import Any

WINDOW_S = 2.0
"""Daily recomputes ``stats.latest`` about every two seconds; so do we (on request)."""


class NetworkCounters:
    """Media bytes one participant sent to and received from its room; plain integer adds per chunk."""

    __slots__ = ("audio_sent", "audio_received", "video_sent", "video_received", "_mark")

    def __init__(self) -> None:
        self.audio_sent = 0
        """PCM bytes published into the room."""
        self.audio_received = 0
        """PCM bytes the room delivered to this participant."""
        self.video_sent = 0
        """Video frame bytes published into the room."""
        self.video_received = 0
        """Video frame bytes the room delivered to this participant's captures."""
        self._mark = (time.monotonic(), 0, 0, 0, 0)

    def _totals(self) -> tuple[int, int, int, int]:
        return self.audio_sent, self.audio_received, self.video_sent, self.video_received

    def stats(self) -> dict[str, Any]:
        """Daily's ``get_network_stats()`` shape; bit rates over the time since the last window began.

        A new window begins once the current one is ``WINDOW_S`` old, so requests in quick
        succession see rates over a sensible span instead of a few milliseconds.
        """
        now = time.monotonic()
        started, *before = self._mark
        totals = self._totals()
        elapsed = max(now - started, 1e-3)
        a_out, a_in, v_out, v_in = (8.0 * (t - b) / elapsed for t, b in zip(totals, before, strict=True))
        if now - started >= WINDOW_S:
            self._mark = (now, *totals)
        latest = {
            "timestamp": time.time() * 1000.0,
            "recvBitsPerSecond": round(a_in + v_in),
            "sendBitsPerSecond": round(a_out + v_out),
            "audioRecvBitsPerSecond": round(a_in),
            "audioSendBitsPerSecond": round(a_out),
            "videoRecvBitsPerSecond": round(v_in),
            "videoSendBitsPerSecond": round(v_out),
            "audioRecvPacketLoss": 0.0,
            "audioSendPacketLoss": 0.0,
            "videoRecvPacketLoss": 0.0,
            "videoSendPacketLoss": 0.0,
            "totalRecvPacketLoss": 0.0,
            "totalSendPacketLoss": 0.0,
            "networkRoundTripTime": 0.0,
        }
        return {
            "stats": {"latest": latest, "worstVideoRecvPacketLoss": 0.0, "worstVideoSendPacketLoss": 0.0},
            "threshold": "good",
            "quality": 100,
            "networkState": "good",
            "networkStateReasons": [],
            "local": {
                "bytesSent": totals[0] + totals[2],
                "bytesReceived": totals[1] + totals[3],
                "audioBytesSent": totals[0],
                "audioBytesReceived": totals[1],
                "videoBytesSent": totals[2],
                "videoBytesReceived": totals[3],
            },
        }
