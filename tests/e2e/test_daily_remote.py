"""The fake daily-python's control server (tests/fakes/daily_remote.py) against a FakeSdk in this process.

The Daily end-to-end tests drive the fake inside a gateway process through this server; here the
"gateway" is a few lines of SDK calls, so a fault in the remote controls shows up on its own.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.audio import best_correlation, demo_speech
from tests.fakes.daily import FakeSdk
from tests.fakes.daily_remote import RemoteError, RemoteFake, serve

ROOM = "https://example.daily.co/remote-test"


class Recorder:
    """An EventHandler stand-in recording every callback with the thread it ran on."""

    def __init__(self, sdk: FakeSdk) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.audio = bytearray()
        self.done = threading.Event()
        outer = self

        class Handler(sdk.EventHandler):  # type: ignore[misc,name-defined]
            def __getattribute__(self, name: str) -> Any:
                if name.startswith("on_"):
                    return lambda *args: outer.events.append((name, args))
                return super().__getattribute__(name)

        self.handler = Handler()

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
async def setup(tmp_path: Path):
    sdk = FakeSdk()
    control = tmp_path / "port"
    serve(sdk, control_file=control)
    remote = RemoteFake(control, timeout=5)
    yield sdk, remote
    await remote.close()
    sdk.close()


def joined_client(sdk: FakeSdk, rec: Recorder, url: str = ROOM):
    """What a Daily backend does first: init, a CallClient with a custom microphone track, join."""
    if not sdk.initialized:
        sdk.Daily.init()
    source = sdk.CustomAudioSource(16000, 1)
    track = sdk.CustomAudioTrack(source)
    client = sdk.CallClient(event_handler=rec.handler)
    settings = {"inputs": {"microphone": {"isEnabled": True, "settings": {"customTrack": {"id": track.id}}}}}
    joined = threading.Event()
    client.join(url, "tok", client_settings=settings, completion=lambda data, error: joined.set())
    assert joined.wait(5)
    return client, source


async def test_remote_controls_reach_the_fake_and_report_back(setup):
    """Through the socket: find the client by room URL, add a participant (event), push audio (renderer, content), read calls and the audio written."""
    sdk, remote = setup
    rec = Recorder(sdk)
    client, source = await asyncio.to_thread(joined_client, sdk, rec)
    fake = await remote.client_for(ROOM, timeout=2)
    assert fake.index == 0 and fake.info["call_state"] == "joined" and fake.info["token"] == "tok"

    bob = await fake.add_participant(user_name="bob")
    await fake.drain()
    assert ("on_participant_joined", (bob,)) in rec.events

    got = bytearray()
    client.set_audio_renderer(bob["id"], lambda pid, audio, src: got.extend(audio.audio_frames), sample_rate=16000)
    assert (await fake.wait_for_renderer(bob["id"]))["sample_rate"] == 16000
    speech = demo_speech(16000, seconds=0.5)
    push = await fake.push_audio(bob["id"], speech, 16000, speed=4.0)
    assert await remote.wait_push(push, timeout=5) == 25
    assert best_correlation(speech, 16000, bytes(got), 16000)[0] > 0.99

    pcm = demo_speech(16000, seconds=0.2)
    await asyncio.to_thread(source.write_frames, pcm)
    written, rate, total = await fake.audio_out()
    assert (written, rate, total) == (pcm, 16000, len(pcm))
    assert (await fake.audio_out(offset=total))[0] == b""

    assert [c["meeting_url"] for c in await fake.calls("join")] == [ROOM]
    await fake.emit("on_app_message", {"x": 1}, bob["id"])
    await fake.set_active_speaker(bob["id"])
    await fake.remove_participant(bob["id"])
    await fake.drain()
    assert rec.names()[-4:] == [
        "on_app_message",
        "on_active_speaker_changed",
        "on_participant_left",
        "on_participant_counts_updated",
    ]
    assert "fake-daily-control" in await remote.threads()
    await remote.assert_no_errors()


async def test_scripts_fail_requests_and_bad_commands_raise(setup):
    """A client's script makes its next request fail with the given error; unknown commands, events and clients raise RemoteError."""
    sdk, remote = setup
    rec = Recorder(sdk)
    client, _ = await asyncio.to_thread(joined_client, sdk, rec)
    fake = await remote.client_for(ROOM)
    await fake.script(errors={"start_recording": "Recording(NotAllowed)"})
    results: list[Any] = []
    client.start_recording(completion=lambda sid, err: results.append((sid, err)))
    await fake.drain()
    assert results == [(None, "Recording(NotAllowed)")]
    assert ("on_error", ("Error handling startRecording: Recording(NotAllowed)",)) in rec.events

    await remote.script(join_error="boom")
    assert (await remote.script())["join_error"] == "boom"
    await remote.reset_script()
    assert (await remote.script())["join_error"] is None

    with pytest.raises(RemoteError, match="unknown command"):
        await remote.call("no-such-command")
    with pytest.raises(RemoteError, match="AttributeError"):
        await fake.emit("on_not_an_event")
    with pytest.raises(RemoteError, match="LookupError"):
        await remote.call("describe", client=7)
    with pytest.raises(RemoteError, match="TimeoutError"):
        await remote.client_for(f"https://example.daily.co/{uuid.uuid4().hex}", timeout=0.2)


async def test_missing_control_file_times_out(tmp_path: Path):
    """A gateway that never loaded the fake makes the test side fail after its timeout, not hang."""
    remote = RemoteFake(tmp_path / "never", timeout=0.2)
    assert not remote.ready
    with pytest.raises(TimeoutError):
        await remote.clients()
