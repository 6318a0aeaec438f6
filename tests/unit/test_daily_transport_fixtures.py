"""Fixtures shared by the Daily backend unit tests (no tests here): a FakeSdk wired into a DailyBackend, a recording listener."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.backends.base import AudioFormat, JoinOptions, RawVideoFrame
from gateway.backends.daily import DailyBackend, DailyTransport
from gateway.backends.daily import sdk as sdk_loader
from gateway.config import Config
from tests.fakes.daily import FakeSdk

ROOM = "https://example.daily.co/unit-room"


@dataclass
class Recorder:
    """A TransportListener that records everything, and whether each call came on the loop's thread."""

    loop_thread: int = field(default_factory=threading.get_ident)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    audio: list[tuple[str, str, bytes, int, int]] = field(default_factory=list)
    ended: list[tuple[str, str]] = field(default_factory=list)
    video: list[tuple[str, str, RawVideoFrame]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    off_loop: list[str] = field(default_factory=list)
    """Callbacks that ran on another thread than the loop's (must stay empty)."""

    def _check(self, what: str) -> None:
        if threading.get_ident() != self.loop_thread:
            self.off_loop.append(f"{what} on {threading.current_thread().name}")

    def on_event(self, name: str, data: dict[str, Any]) -> None:
        self._check(name)
        self.events.append((name, data))

    def on_audio(self, participant_id: str, source: str, pcm: bytes, sample_rate: int, channels: int) -> None:
        self._check("audio")
        self.audio.append((participant_id, source, pcm, sample_rate, channels))

    def on_track_ended(self, participant_id: str, source: str) -> None:
        self._check("track_ended")
        self.ended.append((participant_id, source))

    def on_video(self, participant_id: str, source: str, frame: RawVideoFrame) -> None:
        self._check("video")
        self.video.append((participant_id, source, frame))

    def on_left(self, cause: str) -> None:
        self._check("left")
        self.left.append(cause)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for n, data in self.events if n == name]


async def until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Wait on the loop until ``predicate()`` is truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
def fake_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSdk]:
    """A fresh fake daily-python, loadable by the backend under its own ``daily_sdk`` name."""
    sdk = FakeSdk()
    spec = f"tests.fake-daily-{id(sdk):x}"
    monkeypatch.setitem(sdk_loader._loaded, spec, sdk)
    sdk.spec = spec  # type: ignore[attr-defined]
    yield sdk
    sdk.close()


def make_backend(sdk: FakeSdk, **kwargs: Any) -> DailyBackend:
    kwargs.setdefault("command_timeout", 3.0)
    kwargs.setdefault("release_timeout", 10.0)
    return DailyBackend(Config(daily_sdk=sdk.spec), **kwargs)  # type: ignore[attr-defined]


def make_transport(
    backend: DailyBackend,
    listener: Recorder,
    *,
    room_url: str = ROOM,
    token: str | None = None,
    audio_in: AudioFormat | None = AudioFormat(16000),
    audio_out: AudioFormat | None = AudioFormat(24000),
    join_params: dict[str, Any] | None = None,
    **params: Any,
) -> DailyTransport:
    params = {**params, **(join_params or {})}
    options = JoinOptions(
        room_url=room_url,
        user_name="unit-bot",
        token=token,
        audio_in=audio_in,
        audio_out=audio_out,
        extra=dict(params),
        params={"room_url": room_url, "user_name": "unit-bot", **params},
    )
    transport = backend.create_transport(options, listener)
    assert isinstance(transport, DailyTransport)
    return transport
