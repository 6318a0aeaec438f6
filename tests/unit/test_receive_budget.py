"""Receive budgets without I/O: the per-connection cap, the per-connection allowance and the gateway-wide pool."""

from __future__ import annotations

import pytest

from gateway.auth import ConfigError
from gateway.net.budget import ALLOWANCE_BYTES, ReceiveBudget
from gateway.config import Config


def test_bytes_within_the_allowance_never_touch_the_pool():
    """A spent pool still lets every connection hold its first 64 KiB (audio frames never wait on anyone)."""
    budget = ReceiveBudget(total=1, per_connection=1 << 20)
    hog = budget.account()
    assert hog.hold(ALLOWANCE_BYTES + 1) is None and budget.used == 1
    victims = [budget.account() for _ in range(100)]
    assert all(v.hold(ALLOWANCE_BYTES) is None for v in victims)
    assert budget.used == 1


def test_past_the_pool_is_1013_and_the_holder_keeps_what_it_had():
    """Growing past the gateway-wide pool is refused with 1013; what was held stays counted until release."""
    budget = ReceiveBudget(total=100, per_connection=1 << 20, allowance=10)
    a, b = budget.account(), budget.account()
    assert a.hold(90) is None and budget.used == 80
    refusal = b.hold(40)
    assert refusal is not None and refusal.code == 1013 and "max_receive_buffer_bytes_total" in refusal.reason
    assert budget.used == 80 and b.held == 0 and budget.refused == 1
    a.release()
    assert budget.used == 0 and b.hold(40) is None and budget.used == 30


def test_past_the_connection_cap_is_1009():
    """One connection holding more than per_connection is refused with 1009, whatever the pool has left."""
    budget = ReceiveBudget(total=0, per_connection=1000)
    refusal = budget.account().hold(1001)
    assert refusal is not None and refusal.code == 1009 and "max_receive_buffer_bytes" in refusal.reason


def test_holding_less_gives_back_and_the_peak_is_kept():
    """Reporting fewer bytes returns pool bytes at once; peak remembers the most ever held."""
    budget = ReceiveBudget(total=1000, per_connection=0, allowance=0)
    account = budget.account()
    account.hold(600)
    account.hold(100)
    assert (budget.used, budget.peak, account.pooled) == (100, 600, 100)
    account.release()
    account.release()  # idempotent
    assert budget.used == 0


def test_receive_buffer_default_and_a_too_small_setting():
    """0 means twice the largest frame; a setting that cannot hold one frame stops the gateway at start."""
    assert Config().receive_buffer_bytes() == 2 * Config().max_frame_bytes
    assert Config(max_message_bytes=9 << 20).receive_buffer_bytes() == 18 << 20
    from gateway.server import Gateway

    with pytest.raises(ConfigError, match="max_receive_buffer_bytes"):
        Gateway(Config(max_receive_buffer_bytes=1000), backends=[])
    assert Gateway(Config(max_receive_buffer_bytes=5 << 20), backends=[]).receive_budget.per_connection == 5 << 20


def test_max_frame_bytes_default_fits_720p_rgba_and_1080p_i420():
    """The default frame limit is 4 MiB: a 1280x720 RGBA and a 1920x1080 I420 frame fit, a 1080p RGBA one does not."""
    limit = Config().max_frame_bytes
    assert limit == 4 << 20
    assert 28 + 1280 * 720 * 4 <= limit and 28 + 1920 * 1080 * 3 // 2 <= limit < 28 + 1920 * 1080 * 4
