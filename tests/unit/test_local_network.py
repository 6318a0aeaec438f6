"""NetworkCounters: Daily's get_network_stats() shape from a local participant's byte counts."""

from __future__ import annotations

import pytest

from gateway.backends.local import network
from gateway.backends.local.network import NetworkCounters


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable monotonic clock for the module under test."""
    now = [100.0]
    monkeypatch.setattr(network.time, "monotonic", lambda: now[0])
    return now


def test_rates_are_bits_over_the_window_and_totals_are_cumulative(clock):
    """1 s of 16 kHz PCM16 sent is 256 kbit/s; totals add audio and video; loss and round trip are zero."""
    counters = NetworkCounters()
    clock[0] += 1.0
    counters.audio_sent += 32000
    counters.video_received += 1000
    stats = counters.stats()
    latest = stats["stats"]["latest"]
    assert latest["audioSendBitsPerSecond"] == 256000 and latest["sendBitsPerSecond"] == 256000
    assert latest["videoRecvBitsPerSecond"] == 8000 and latest["recvBitsPerSecond"] == 8000
    assert latest["totalSendPacketLoss"] == 0.0 and latest["networkRoundTripTime"] == 0.0
    assert (stats["threshold"], stats["quality"], stats["networkState"]) == ("good", 100, "good")
    assert stats["local"] == {"bytesSent": 32000, "bytesReceived": 1000, "audioBytesSent": 32000,
                              "audioBytesReceived": 0, "videoBytesSent": 0, "videoBytesReceived": 1000}


def test_a_new_window_starts_only_after_two_seconds(clock):
    """Requests within the window share its start; after WINDOW_S the next rates count only newer bytes."""
    counters = NetworkCounters()
    clock[0] += 1.0
    counters.audio_sent += 16000
    assert counters.stats()["stats"]["latest"]["sendBitsPerSecond"] == 128000
    clock[0] += 1.0
    counters.audio_sent += 16000
    assert counters.stats()["stats"]["latest"]["sendBitsPerSecond"] == 128000  # 32000 bytes over 2 s; window rolls
    clock[0] += 1.0
    assert counters.stats()["stats"]["latest"]["sendBitsPerSecond"] == 0, "bytes of the old window counted again"
