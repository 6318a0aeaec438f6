"""Finished local recordings over HTTP (gateway/recordings.py, PROTOCOL.md 1.3 and 5.4): who gets them, and attacks that get nothing."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_client import GatewayClient

from tests.audio import demo_speech
from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.hostile_tools import http_exchange
from tests.e2e.test_auth import KEYS, OPS, signer

ROOM = "local://rec-http"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings-http")


@pytest.fixture(scope="module")
def gw(recordings: Path) -> Iterator[GatewayProcess]:
    """A gateway with keys, recording into a folder of its own."""
    process = start_gateway("--recordings-dir", str(recordings), "--history-db", ":memory:",
                            name="gateway-recordings-http", env={"GATEWAY_API_KEYS": KEYS})
    yield process
    assert process.stop() == 0
    assert "Traceback" not in process.log()


def fetch(gw: GatewayProcess, path: str, token: str | None = None) -> asyncio.Future[tuple[int, dict[str, str], bytes]]:
    """GET ``path`` as raw HTTP (sent exactly as written); (status, headers, body)."""
    host = gw.url.split("//", 1)[1].split("/", 1)[0]
    auth = f"Authorization: Bearer {token}\r\n" if token else ""

    async def run() -> tuple[int, dict[str, str], bytes]:
        raw = await http_exchange(gw.url, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode())
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0][9:12]) if lines[0].startswith("HTTP/1.1 ") else 0, {k.lower(): v for k, v in headers.items()}, body

    return asyncio.ensure_future(run())


async def record(gw: GatewayProcess, clients: list, *, stop: bool = True) -> tuple[GatewayClient, dict]:
    """A recording of ROOM with some speech in it; the recording-stopped data (or the start reply, not stopped)."""
    owner = await GatewayClient.connect(gw.url, token=OPS)
    clients.append(owner)
    await owner.join(ROOM, token="owner", audio_out={"sample_rate": 16000})
    started = await owner.request("start-recording", {"streaming_settings": {"type": "raw-tracks"}, "force_new": True})
    await owner.send_audio(demo_speech(16000, seconds=1.0))
    await asyncio.sleep(1.3)
    if not stop:
        return owner, started
    await owner.request("stop-recording")
    stopped = (await owner.wait_for("recording-stopped", timeout=10)).data
    return owner, stopped


@pytest.mark.slow
async def test_a_finished_recording_is_served_to_its_rooms_credentials_only(gw, recordings, clients):
    """recording-stopped's url (kept in the history too) gives the mix (the file on disk, a valid WAV) to an admin key and a token of the room (header or ?token=); no credential is 401, another room's token 404."""
    owner, stopped = await record(gw, clients)
    assert stopped["url"] == f"/recordings/{stopped['path']}/mix.wav"
    kept = (await owner.get_history(str((await owner.stats())["session_id"])))["events"]
    assert [e["data"].get("url") for e in kept if e["event"] == "recording-stopped"] == [stopped["url"]], "not in the history"
    on_disk = (recordings / stopped["path"] / "mix.wav").read_bytes()

    status, headers, body = await fetch(gw, stopped["url"], OPS)
    assert status == 200 and headers["content-type"] == "audio/wav" and body == on_disk
    with wave.open(io.BytesIO(body)) as wav:
        assert wav.getframerate() == 48000 and wav.getnframes() > 48000 * 0.8
    room_token = signer().mint(sub="viewer", room=ROOM, role="observer")[0]
    assert (await fetch(gw, stopped["url"], room_token))[2] == on_disk
    assert (await fetch(gw, f"{stopped['url']}?token={room_token}"))[2] == on_disk
    manifest = await fetch(gw, f"/recordings/{stopped['path']}/recording.json", OPS)
    assert manifest[0] == 200 and b'"room_url": "local://rec-http"' in manifest[2]

    assert (await fetch(gw, stopped["url"]))[0] == 401
    assert (await fetch(gw, stopped["url"], "not-a-credential"))[0] == 401
    other = signer().mint(sub="other", room="local://elsewhere", role="admin")[0]
    hidden = await fetch(gw, stopped["url"], other)
    missing = await fetch(gw, f"/recordings/{stopped['path']}/nobody.wav", OPS)
    assert hidden[0] == missing[0] == 404 and hidden[2] == missing[2]


@pytest.mark.slow
async def test_a_running_recording_is_409(gw, clients):
    """A recording still being written is not served (its WAV header is not final): 409 until it stops."""
    owner, started = await record(gw, clients, stop=False)
    status, _, body = await fetch(gw, f"/recordings/{started['path']}/mix.wav", OPS)
    assert status == 409 and b"still running" in body
    await owner.request("stop-recording")
    await owner.wait_for("recording-stopped", timeout=10)
    assert (await fetch(gw, f"/recordings/{started['path']}/mix.wav", OPS))[0] == 200


@pytest.mark.slow
async def test_path_attacks_get_404_and_nothing_else(gw, recordings, clients, tmp_path):
    """Traversal (plain, encoded, backslash, NUL), hidden and other files, a symlink out of the folder, wrong depth: 404, never a file."""
    _, stopped = await record(gw, clients)
    folder = recordings / stopped["path"]
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF-secret")
    (folder / "link.wav").symlink_to(secret)
    (folder / "notes.txt").write_text("not a recording")
    (folder / ".hidden.wav").write_bytes(b"RIFF-hidden")
    room, rec = stopped["path"].split("/")
    attacks = [
        "/recordings/../../etc/passwd",
        "/recordings/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"/recordings/{room}/{rec}/..%2f..%2f..%2fetc%2fpasswd",
        f"/recordings/{room}/{rec}/%2e%2e/mix.wav",
        f"/recordings/{room}/..%5c{rec}/mix.wav",
        f"/recordings/{room}/{rec}/mix.wav%00.txt",
        f"/recordings/{room}/{rec}/%252e%252e",
        f"/recordings/{room}/{rec}/link.wav",
        f"/recordings/{room}/{rec}/notes.txt",
        f"/recordings/{room}/{rec}/.hidden.wav",
        f"/recordings/{room}/{rec}/",
        f"/recordings/{room}/{rec}",
        f"/recordings/{room}/{rec}/sub/mix.wav",
        f"/recordings/{room}//{rec}/mix.wav",
        "/recordings/" + "a/" * 2 + "b" * 5000 + ".wav",
    ]
    for path in attacks:
        status, _, body = await fetch(gw, path, OPS)
        assert status in (404, 414), (path, status)
        assert b"secret" not in body and b"root:" not in body and b"RIFF" not in body, path
    log = gw.log()
    assert "Traceback" not in log


async def test_an_open_gateway_serves_its_finished_recordings_to_anyone(clients, tmp_path):
    """Without keys (loopback only) a finished recording is served without a credential, as /metrics is."""
    process = start_gateway("--recordings-dir", str(tmp_path), "--history-db", "off", name="gateway-recordings-open")
    try:
        owner = await GatewayClient.connect(process.url)
        await owner.join("local://rec-open", token="owner", audio_out={"sample_rate": 16000})
        await owner.request("start-recording")
        await owner.send_audio(demo_speech(16000, seconds=0.5))
        await asyncio.sleep(0.7)
        await owner.request("stop-recording")
        url = (await owner.wait_for("recording-stopped", timeout=10)).data["url"]
        await owner.close()
        status, headers, body = await fetch(process, url)
        assert status == 200 and body.startswith(b"RIFF") and headers["content-disposition"] == 'inline; filename="mix.wav"'
    finally:
        assert process.stop() == 0
