"""Local-room recording end to end: WAV files on disk, Daily-shaped events, errors, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech, tone
from tests.conftest import GatewayProcess, start_gateway

RATE = 48000
"""Sample rate of local recordings (gateway.backends.local.recording.RECORDING_RATE)."""


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recordings")


@pytest.fixture(scope="module")
def rec_gateway(recordings: Path) -> Iterator[GatewayProcess]:
    """A gateway of its own that records into a temporary folder."""
    gw = start_gateway("--recordings-dir", str(recordings), name="gateway-recording")
    yield gw
    code = gw.stop()
    assert "Traceback" not in gw.log(), gw.log()[-5000:]
    assert code == 0


@pytest.fixture
async def rconnect(rec_gateway: GatewayProcess) -> AsyncIterator[Callable[..., object]]:
    from gateway_client import GatewayClient

    clients: list[GatewayClient] = []

    async def make() -> GatewayClient:
        client = await GatewayClient.connect(rec_gateway.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16), w.getframerate()


def header_sizes(path: Path) -> tuple[int, int]:
    """(RIFF size, data size) from a 44-byte PCM WAV header."""
    raw = path.read_bytes()[:44]
    return struct.unpack_from("<I", raw, 4)[0], struct.unpack_from("<I", raw, 40)[0]


def validate(client) -> None:
    for e in client.event_log:
        validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def test_mix_holds_the_speech_and_silence_as_silence(rconnect, room, recordings):
    """The room mix WAV holds the speech A sent (correlation) after the silence before it, at wall-clock length."""
    a, b = await rconnect(), await rconnect()
    await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await b.request("start-recording")
    event = await a.wait_for("recording-started")
    assert event.data["status"]["streamId"] == reply["stream_id"] == "00000000-0000-4000-8000-000000000000"
    assert event.data["status"]["startedBy"] == b.participant_id
    await asyncio.sleep(1.0)
    speech = demo_speech(16000, seconds=2.5)
    await a.send_audio(speech)
    await asyncio.sleep(3.0)
    await b.request("stop-recording")
    elapsed = loop.time() - started
    for client in (a, b):
        stopped = await client.wait_for("recording-stopped")
        assert stopped.data == {"stream_id": reply["stream_id"], "path": reply["path"],
                                "url": f"/recordings/{reply['path']}/mix.wav"}
    folder = recordings / reply["path"]
    samples, rate = read_wav(folder / "mix.wav")
    assert rate == RATE
    assert abs(len(samples) / RATE - elapsed) < 0.5, (
        f"mix is {len(samples) / RATE:.2f} s for {elapsed:.2f} s of wall time"
    )
    assert np.abs(samples[: int(0.8 * RATE)]).max() == 0, "the silence before the speech is not silent"
    peak, lag = best_correlation(speech, 16000, samples.tobytes(), RATE)
    assert peak > 0.9, f"mix does not hold the speech sent (correlation {peak:.3f})"
    assert 0.8 * RATE < lag < 1.8 * RATE, f"speech starts at {lag / RATE:.2f} s, expected about 1 s"
    manifest = json.loads((folder / "recording.json").read_text())
    assert manifest["stream_id"] == reply["stream_id"] and manifest["stopped_at"]
    assert a.participant_id in manifest["participants"]
    validate(a)


async def test_raw_tracks_writes_one_file_per_participant(rconnect, room, recordings):
    """type raw-tracks writes each speaker's own WAV (its own audio only) beside the mix of both."""
    a, c, b = await rconnect(), await rconnect(), await rconnect()
    await a.join(room, audio_out={"sample_rate": 16000})
    await c.join(room, audio_out={"sample_rate": 24000})
    await b.join(room, token="owner")
    reply = await b.request("start-recording", {"streaming_settings": {"type": "raw-tracks"}})
    speech, beep = demo_speech(16000, seconds=2.0), tone(24000, 2.0, freq=1000, amplitude=0.05)
    await asyncio.gather(a.send_audio(speech), c.send_audio(beep))
    await asyncio.sleep(2.8)
    await b.request("stop-recording")
    folder = recordings / reply["path"]
    own_a, _ = read_wav(folder / f"{a.participant_id}.wav")
    own_c, _ = read_wav(folder / f"{c.participant_id}.wav")
    mixed, _ = read_wav(folder / "mix.wav")
    assert best_correlation(speech, 16000, own_a.tobytes(), RATE)[0] > 0.9
    assert best_correlation(beep, 24000, own_c.tobytes(), RATE)[0] > 0.9
    assert best_correlation(beep, 24000, own_a.tobytes(), RATE)[0] < 0.3, "A's file holds C's audio"
    # Both are in the mix, each diluted by the other.
    mix_speech, mix_beep = (
        best_correlation(speech, 16000, mixed.tobytes(), RATE)[0],
        best_correlation(beep, 24000, mixed.tobytes(), RATE)[0],
    )
    assert mix_speech > 0.8 and mix_beep > 0.2, (mix_speech, mix_beep)
    assert not (folder / f"{b.participant_id}.wav").exists(), "a silent participant got a file"
    manifest = json.loads((folder / "recording.json").read_text())
    assert manifest["participants"][a.participant_id]["file"] == f"{a.participant_id}.wav"


async def test_recording_survives_the_recorders_disconnect(rconnect, room, recordings):
    """B starts a recording and disconnects; it goes on recording A, and A (an owner too) can stop it."""
    a, b = await rconnect(), await rconnect()
    await a.join(room, token="owner", audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    reply = await b.request("start-recording")
    await a.wait_for("recording-started")
    await b.ws.close()
    await a.wait_for("participant-left")
    speech = demo_speech(16000, seconds=2.0)
    await a.send_audio(speech)
    await a.wait_for("playout-idle", timeout=20)  # all of it played into the room (a loaded machine plays late)
    await asyncio.sleep(0.3)  # the recorder's mixer writes what it heard
    await a.request("stop-recording")
    stopped = await a.wait_for("recording-stopped")
    assert stopped.data["stream_id"] == reply["stream_id"]
    samples, _ = read_wav(recordings / reply["path"] / "mix.wav")
    assert best_correlation(speech, 16000, samples.tobytes(), RATE)[0] > 0.9


async def test_stream_ids_and_force_new(rconnect, room, recordings):
    """Two stream ids record side by side; a second start of one is wrong_state unless force_new, which restarts it."""
    from gateway_client import GatewayError

    a = await rconnect()
    await a.join(room, token="owner")
    first = await a.request("start-recording", {"stream_id": "s1"})
    await a.request("start-recording", {"stream_id": "s2"})
    with pytest.raises(GatewayError) as err:
        await a.request("start-recording", {"stream_id": "s1"})
    assert err.value.code == "wrong_state"
    again = await a.request("start-recording", {"stream_id": "s1", "force_new": True})
    assert again["recording_id"] != first["recording_id"]
    stopped = await a.wait_for("recording-stopped")
    assert stopped.data["stream_id"] == "s1"
    started = [e for e in a.event_log if e.event == "recording-started"]
    assert [e.data["status"]["streamId"] for e in started] == ["s1", "s2", "s1"]
    assert started[2].data["status"]["recordingId"] == again["recording_id"]
    assert started[1].seq < stopped.seq < started[2].seq, "the old s1 did not stop before the new one started"
    await asyncio.sleep(0.5)
    await a.request("stop-recording", {"stream_id": "s1"})
    await a.request("stop-recording", {"stream_id": "s2"})
    read_wav(recordings / first["path"] / "mix.wav")  # closed by force_new: a valid (short) WAV
    samples, _ = read_wav(recordings / again["path"] / "mix.wav")
    assert len(samples) / RATE > 0.4
    validate(a)


async def test_update_recording_layout_goes_to_the_manifest(rconnect, room, recordings):
    """update-recording changes the layout of the running recording (kept in its manifest)."""
    a = await rconnect()
    await a.join(room, token="owner")
    reply = await a.request("start-recording", {"streaming_settings": {"layout": {"preset": "default"}}})
    layout = {"preset": "single-participant", "session_id": a.participant_id}
    await a.request("update-recording", {"update_settings": {"layout": layout}})
    await a.request("stop-recording")
    manifest = json.loads((recordings / reply["path"] / "recording.json").read_text())
    assert manifest["layout"] == layout


async def test_max_duration_stops_the_recording(rconnect, room, recordings):
    """streaming_settings.maxDuration ends the recording by itself, with recording-stopped and a file of that length."""
    a = await rconnect()
    await a.join(room, token="owner")
    reply = await a.request("start-recording", {"streaming_settings": {"maxDuration": 1}})
    await a.wait_for("recording-stopped", timeout=5)
    samples, _ = read_wav(recordings / reply["path"] / "mix.wav")
    assert 0.9 < len(samples) / RATE < 1.3


async def test_recording_stops_when_the_room_empties(rconnect, room, recordings):
    """When the last participant leaves, the recording is closed (manifest has stopped_at, WAV header complete)."""
    a = await rconnect()
    await a.join(room, token="owner")
    reply = await a.request("start-recording")
    await asyncio.sleep(0.5)
    await a.leave()
    folder = recordings / reply["path"]
    for _ in range(50):
        if json.loads((folder / "recording.json").read_text())["stopped_at"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the recording did not stop when the room emptied")
    riff, data = header_sizes(folder / "mix.wav")
    assert data == (folder / "mix.wav").stat().st_size - 44 and riff == data + 36


async def test_recording_errors_are_typed(rconnect, room, recordings):
    """stop/update without a recording are not_found, a bad type is invalid_params, before join is not_joined."""
    from gateway_client import GatewayError

    a = await rconnect()
    with pytest.raises(GatewayError) as err:
        await a.request("start-recording")
    assert err.value.code == "not_joined"
    await a.join(room, token="owner")
    cases = [
        ("stop-recording", {}, "not_found"),
        ("stop-recording", {"stream_id": "nope"}, "not_found"),
        ("update-recording", {"update_settings": {"layout": {"preset": "default"}}}, "not_found"),
        ("update-recording", {}, "invalid_params"),
        ("start-recording", {"streaming_settings": {"type": "local"}}, "invalid_params"),
        ("start-recording", {"streaming_settings": {"maxDuration": -1}}, "invalid_params"),
        ("start-recording", {"force_new": "yes"}, "invalid_params"),
    ]
    for rtype, params, code in cases:
        with pytest.raises(GatewayError) as err:
            await a.request(rtype, params)
        assert err.value.code == code, (rtype, params, err.value)
    assert not [e for e in a.event_log if e.event.startswith("recording-")]



async def test_recording_needs_admin_rights(rconnect, room, recordings):
    """Without owner or canAdmin "streaming", start/stop/update-recording are not_allowed; canAdmin ["participants"] is not enough, ["streaming"] is."""
    from gateway_client import GatewayError

    owner, guest = await rconnect(), await rconnect()
    await owner.join(room, token="owner")
    await guest.join(room, token="not-the-owner-token")
    for rtype, params in [("start-recording", {}), ("stop-recording", {}),
                          ("update-recording", {"update_settings": {"layout": {"preset": "default"}}})]:
        with pytest.raises(GatewayError) as err:
            await guest.request(rtype, params)
        assert err.value.code == "not_allowed", (rtype, err.value)
        assert err.value.details == {"admin": "streaming"}
    reply = await owner.request("start-recording")
    with pytest.raises(GatewayError) as err:
        await guest.request("stop-recording")
    assert err.value.code == "not_allowed"
    await owner.request("update-remote-participants", {"remote_participants": {guest.participant_id: {"permissions": {"canAdmin": ["participants"]}}}})
    await guest.wait_for("participant-updated", lambda d: d["participant"]["info"]["isLocal"])
    with pytest.raises(GatewayError) as err:
        await guest.request("stop-recording")
    assert err.value.code == "not_allowed", "participant admin rights allowed recording"
    await owner.request("update-remote-participants", {"remote_participants": {guest.participant_id: {"permissions": {"canAdmin": ["streaming"]}}}})
    await guest.wait_for("participant-updated", lambda d: d["participant"]["info"]["permissions"]["canAdmin"] == ["streaming"])
    await guest.request("stop-recording")
    stopped = await owner.wait_for("recording-stopped")
    assert stopped.data["stream_id"] == reply["stream_id"] and stopped.data["path"] == reply["path"]
    assert [e.event for e in guest.event_log if e.event.startswith("recording-")] == ["recording-started", "recording-stopped"]

async def test_unwritable_folder_gives_recording_error(rconnect, room, recordings):
    """If the recording's folder cannot be made, everyone gets recording-error and the request backend_error."""
    from gateway_client import GatewayError

    (recordings / room.removeprefix("local://")).write_text("a file where the room's folder should be")
    a, b = await rconnect(), await rconnect()
    await a.join(room, token="owner")
    await b.join(room)
    with pytest.raises(GatewayError) as err:
        await a.request("start-recording", {"stream_id": "broken"})
    assert err.value.code == "backend_error"
    for client in (a, b):
        error = await client.wait_for("recording-error")
        assert error.data["stream_id"] == "broken" and error.data["message"]
    validate(b)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
async def test_wav_is_valid_after_shutdown_or_kill(how, tmp_path):
    """Stopping the gateway closes the WAV with exact sizes; even after kill -9 the file reads as a WAV with the audio so far."""
    from gateway_client import GatewayClient

    gw = start_gateway("--recordings-dir", str(tmp_path), name=f"gateway-rec-{how.lower()}")
    try:
        client = await GatewayClient.connect(gw.url)
        await client.join("local://shutdown", token="owner", audio_out={"sample_rate": 16000})
        reply = await client.request("start-recording")
        await client.send_audio(demo_speech(16000, seconds=3.0))
        await asyncio.sleep(2.5)
        os.kill(gw.process.pid, getattr(signal, how))
        await asyncio.to_thread(gw.process.wait, 10)  # the loop keeps running: the client answers the close
        await client.close()
    finally:
        gw.stop()
    path = tmp_path / reply["path"] / "mix.wav"
    samples, rate = read_wav(path)
    riff, data = header_sizes(path)
    assert riff == data + 36
    if how == "SIGTERM":
        assert data == path.stat().st_size - 44, "header does not cover the whole file after a clean stop"
        assert len(samples) / rate > 2.3
        assert "Traceback" not in gw.log()
    else:
        assert len(samples) / rate > 1.0, "a killed recording lost more than the last header period"
    assert np.abs(samples).max() > 1000, "the recording holds no speech"


async def test_list_rooms_gives_the_running_recordings(rconnect, room):
    """list-rooms lists a local room's running recording (stream id, recording id, path) until it stops, so a page opened later shows it."""
    owner, lister = await rconnect(), await rconnect()
    await owner.join(room, token="owner")
    listed = {r["room_url"]: r for r in (await lister.request("list-rooms"))["rooms"]}
    assert listed[room]["recordings"] == [] and listed[room]["transcriptions"] == []
    reply = await owner.request("start-recording")
    listed = {r["room_url"]: r for r in (await lister.request("list-rooms"))["rooms"]}
    assert listed[room]["recordings"] == [
        {"stream_id": reply["stream_id"], "recording_id": reply["recording_id"], "path": reply["path"]}
    ]
    await owner.request("stop-recording")
    await owner.wait_for("recording-stopped")
    listed = {r["room_url"]: r for r in (await lister.request("list-rooms"))["rooms"]}
    assert listed[room]["recordings"] == []
