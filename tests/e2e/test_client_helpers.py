"""The Python client's playout helpers talk to the real gateway."""

from __future__ import annotations

from tests.audio import demo_speech


async def test_mark_clear_and_buffer_helpers(connect, room):
    """mark_audio, audio_buffer and clear_audio round-trip: the cleared mark is reported as cleared."""
    bot = await connect()
    await bot.join(room, audio_out={"sample_rate": 16000})
    await bot.send_audio(demo_speech(16000, seconds=3.0))
    await bot.mark_audio("end-of-sentence")
    state = await bot.audio_buffer()
    assert state["pending_marks"] == 1 and state["buffered_ms"] > 1000
    cleared = await bot.clear_audio()
    assert cleared["dropped_ms"] > 1000
    mark = await bot.wait_for("playout-mark")
    assert mark.data["name"] == "end-of-sentence" and mark.data["status"] == "cleared"


async def test_small_gateway_buffer_still_allows_a_plain_join():
    """On a gateway with a 1 s playout limit, a join without watermark options succeeds (defaults shrink)."""
    from gateway_client import GatewayClient
    from tests.conftest import start_gateway

    gw = start_gateway("--max-playout-buffer-ms", "1000", name="gateway-small-buffer")
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join("local://small-buffer")
        state = await client.audio_buffer()
        assert state["max_buffer_ms"] == 1000 and state["high_watermark_ms"] == 500 and state["low_watermark_ms"] == 100
        await client.close()
    finally:
        gw.stop()
