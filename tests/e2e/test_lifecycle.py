"""Gateway life cycle: configuration from flags and environment, clean shutdown on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.request

import pytest

from gateway_client import GatewayClient
from protocol import CloseCode
from tests.conftest import start_gateway


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_shutdown_closes_clients_going_away_and_leaves_rooms(sig):
    """On SIGTERM/SIGINT clients get 1001 with a reason after their participant left; the process exits 0."""
    gw = start_gateway(name="gateway-shutdown")
    try:
        a = await GatewayClient.connect(gw.url)
        b = await GatewayClient.connect(gw.url)
        await a.join("local://shutdown")
        await b.join("local://shutdown")
        gw.process.send_signal(sig)
        await asyncio.wait_for(a._reader, 10)
        await asyncio.wait_for(b._reader, 10)
        for client in (a, b):
            assert client.close_code == CloseCode.GOING_AWAY
            assert "shutting down" in client.close_reason
            left = [e for e in client.event_log if e.event == "left"]
            assert left and left[0].data["reason"] == "shutdown"
        assert gw.process.wait(10) == 0
        log = gw.log()
        assert "Traceback" not in log
        assert "stopped" in log
    finally:
        gw.stop()


async def test_environment_and_flags_configure_limits():
    """GATEWAY_* variables set limits advertised in hello; a flag overrides the variable."""
    gw = start_gateway(
        "--max-app-message-bytes", "777",
        name="gateway-config",
        env={"GATEWAY_MAX_APP_MESSAGE_BYTES": "555", "GATEWAY_MAX_MESSAGE_BYTES": "12345"},
    )
    try:
        client = await GatewayClient.connect(gw.url)
        assert client.limits["max_message_bytes"] == 12345
        assert client.limits["max_app_message_bytes"] == 777
        await client.close()
        for _ in range(50):  # the session ends just after the close handshake
            with urllib.request.urlopen(gw.http_url + "/healthz", timeout=5) as response:
                if json.loads(response.read())["sessions"] == 0:
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the closed session is still counted by /healthz")
    finally:
        gw.stop()


async def test_bad_configuration_exits_with_message():
    """A malformed environment value makes the CLI exit 2 with a clear message, not a traceback."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--port", "0"],
        env={"GATEWAY_PORT": "not-a-number", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "bad configuration" in result.stderr and "Traceback" not in result.stderr
