"""Graceful shutdown: clients get 1001 with a reason, recordings are finished as valid WAVs, the process exits in bounded time."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
import wave
from pathlib import Path

import pytest
from gateway_client import GatewayClient

from protocol import CloseCode
from tests.audio import demo_speech
from tests.conftest import start_gateway


async def wait_closed(client: GatewayClient, timeout: float = 15.0) -> None:
    await asyncio.wait_for(asyncio.shield(client._reader), timeout)


def read_recording(folder: Path) -> tuple[float, dict]:
    """(mix.wav duration read by the ``wave`` module, recording.json)."""
    with wave.open(str(folder / "mix.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        frames = wav.getnframes()
        duration = frames / wav.getframerate()
        assert len(wav.readframes(frames)) == frames * 2, "the header claims more audio than the file holds"
    return duration, json.loads((folder / "recording.json").read_text())


async def test_sigterm_during_recording_leaves_valid_wav_and_closes_clients(tmp_path):
    """SIGTERM while recording: both clients get left(shutdown) then 1001 with a reason, mix.wav reads with the recorded duration, exit 0."""
    gw = start_gateway("--recordings-dir", str(tmp_path), name="gateway-shutdown-rec")
    room = f"local://sd-{uuid.uuid4().hex[:8]}"
    try:
        bot = await GatewayClient.connect(gw.url)
        listener = await GatewayClient.connect(gw.url)
        await bot.join(room, token="owner", audio_out={"sample_rate": 16000})
        await listener.join(room)
        reply = await bot.request("start-recording")
        started = time.monotonic()
        await bot.send_audio(demo_speech(16000, seconds=3.0))
        await asyncio.sleep(2.0)
        gw.process.send_signal(signal.SIGTERM)
        recorded = time.monotonic() - started
        for client in (bot, listener):
            await wait_closed(client)
            assert client.close_code == CloseCode.GOING_AWAY
            assert "shutting down" in client.close_reason
            names = [e.event for e in client.event_log]
            assert "left" in names and client.event_log[names.index("left")].data["reason"] == "shutdown"
        assert await asyncio.to_thread(gw.process.wait, 15) == 0
    finally:
        gw.stop()
    duration, manifest = read_recording(tmp_path / reply["path"])
    assert recorded - 0.6 <= duration <= recorded + 1.5, (duration, recorded)
    assert manifest["stopped_at"] is not None and manifest["duration_s"] == round(duration, 3)
    log = gw.log()
    assert "Traceback" not in log and "stopped" in log


async def test_hung_leave_is_bounded_by_shutdown_timeout(tmp_path):
    """A backend whose leave hangs does not keep the gateway up: after shutdown_timeout the client still gets 1001, the recording is finished, exit 0."""
    gw = start_gateway(
        "--recordings-dir", str(tmp_path), "--shutdown-timeout", "1",
        name="gateway-shutdown-hang", env={"GATEWAY_TEST_FAULTS": "1"},
    )
    room = f"local://fault-leave-hang-{uuid.uuid4().hex[:8]}"
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join(room, token="owner", audio_out={"sample_rate": 16000})
        reply = await client.request("start-recording")
        await client.send_audio(demo_speech(16000, seconds=1.0))
        await asyncio.sleep(1.0)
        gw.process.send_signal(signal.SIGTERM)
        await wait_closed(client)
        assert client.close_code == CloseCode.GOING_AWAY and "shutting down" in client.close_reason
        assert await asyncio.to_thread(gw.process.wait, 15) == 0
    finally:
        gw.stop()
    duration, manifest = read_recording(tmp_path / reply["path"])
    assert duration > 0.8 and manifest["stopped_at"] is not None
    assert "did not leave within shutdown_timeout" in gw.log()


async def test_a_stop_delivered_twice_at_once_is_one_clean_stop():
    """Two SIGTERMs back to back (make forwarding the group's signal to its child) shut down cleanly, code 0."""
    gw = start_gateway(name="gateway-shutdown-twice")
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join(f"local://twice-{uuid.uuid4().hex[:8]}")
        gw.process.send_signal(signal.SIGTERM)
        gw.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(gw.process.wait, 30) == 0
        assert "second signal" not in gw.log() and "gateway.server: stopped" in gw.log()
        await client.close()
    finally:
        gw.stop()


async def test_second_signal_forces_exit():
    """While shutdown waits on a hung leave, new connections are refused and a second SIGINT exits at once (code 1)."""
    gw = start_gateway("--shutdown-timeout", "60", name="gateway-shutdown-force", env={"GATEWAY_TEST_FAULTS": "1"})
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join(f"local://fault-leave-hang-{uuid.uuid4().hex[:8]}")
        gw.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1.0)
        assert gw.process.poll() is None, "the gateway did not wait for the hung leave"
        with pytest.raises(OSError):  # stopped accepting: the listening socket is closed
            await GatewayClient.connect(gw.url, open_timeout=3)
        gw.process.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(gw.process.wait, 15) == 1
        assert "second signal" in gw.log()
        await client.close()
    finally:
        gw.stop()
