"""The daily-python fake inside a real gateway process, driven from the test process over loopback.

End-to-end tests run the gateway as a child process (``tests/conftest.py`` ``start_gateway``); the
fake SDK it uses (:class:`tests.fakes.daily.FakeSdk`) must live in that process, where the Daily
backend calls it. This module is both halves:

* **Gateway side**: :func:`make_sdk`, named through ``GATEWAY_DAILY_SDK=tests.fakes.daily_remote:make_sdk``
  (``gateway/backends/daily/sdk.py`` calls it once), builds a FakeSdk and starts a control server on
  ``127.0.0.1`` (port ``FAKE_DAILY_CONTROL_PORT``, default any free one), whose port it writes to the
  file ``FAKE_DAILY_CONTROL_FILE``.
* **Test side**: :class:`RemoteFake` (asyncio) reads that file, connects, and offers typed methods
  mapping onto the fake's controls; :class:`RemoteClient` is one fake ``CallClient``.

The wire is JSON lines: ``{"id", "cmd", "args"}`` in, ``{"id", "ok", "result" | "error"}`` out.
Bytes travel as base64. Every wait on either side has a bounded timeout, and the server binds to
loopback only. Commands run on the server's per-connection thread, never on the fake's threads, so
a blocking control (``wait_for_renderer``) cannot deadlock the SDK's callbacks.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import os
import socketserver
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.daily import (
    CallClientControl,
    FakeCustomAudioSource,
    FakeCustomAudioTrack,
    FakeCustomVideoSource,
    FakeCustomVideoTrack,
    FakeSdk,
    PushHandle,
    Script,
    _Renderer,
    make_participant,
)

log = logging.getLogger("tests.fakes.daily_remote")

SDK_SPEC = "tests.fakes.daily_remote:make_sdk"
"""What to put in ``GATEWAY_DAILY_SDK`` to run a gateway on this fake."""
CONTROL_FILE_ENV = "FAKE_DAILY_CONTROL_FILE"
CONTROL_PORT_ENV = "FAKE_DAILY_CONTROL_PORT"
MAX_WAIT = 30.0
"""Longest any control command may wait (seconds); longer requests are cut to this."""
_MAX_LINE = 64 * 1024 * 1024


# ---------------------------------------------------------------------------------- gateway side


def _jsonable(value: Any) -> Any:
    """A JSON-safe picture of a recorded call argument (callables, tracks and bytes summarised)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": len(value)}
    if isinstance(value, FakeCustomAudioTrack | FakeCustomVideoTrack):
        return {"track_id": value.id}
    if callable(value):
        return "<callable>"
    return repr(value)


def _walk(value: Any) -> Iterator[Any]:
    """Every value nested in ``value`` (dicts, lists, tuples), itself included."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


class RemoteState:
    """The fake of one gateway process plus what the control server keeps beside it."""

    def __init__(self, sdk: FakeSdk) -> None:
        self.sdk = sdk
        self.audio_tracks: dict[str, FakeCustomAudioTrack] = {}
        """Every custom audio track the gateway made, by id (to find a client's audio source)."""
        self.video_tracks: dict[str, FakeCustomVideoTrack] = {}
        self.video_sources: list[FakeCustomVideoSource] = []
        self.pushes: dict[int, PushHandle] = {}
        self.stamps: dict[tuple[int, str, str], list[float]] = {}
        """Renderer hand-over times by (client, participant, source), once ``stamp_renderer`` asked."""
        self._push_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._install_registries()

    def _install_registries(self) -> None:
        """Subclass the track and video source classes on this SDK so that every instance is registered."""
        state = self

        class CustomAudioTrack(FakeCustomAudioTrack):
            def __init__(self, audio_source: FakeCustomAudioSource) -> None:
                super().__init__(audio_source)
                state.audio_tracks[self.id] = self

        class CustomVideoTrack(FakeCustomVideoTrack):
            def __init__(self, video_source: FakeCustomVideoSource) -> None:
                super().__init__(video_source)
                state.video_tracks[self.id] = self

        class CustomVideoSource(FakeCustomVideoSource):
            def __init__(self, width: int, height: int, color_format: str = "RGBA") -> None:
                super().__init__(width, height, color_format)
                state.video_sources.append(self)

        class CustomAudioSource(self.sdk.CustomAudioSource):  # type: ignore[name-defined,misc]
            def __init__(self, sample_rate: int, channels: int, auto_silence: bool = True) -> None:
                super().__init__(sample_rate, channels, auto_silence)
                self.write_log: list[tuple[float, int]] = []
                """(time.monotonic() of each write_frames call, bytes written in all once it is done)."""

            def write_frames(self, /, frames: bytes, completion: Any = None) -> int:
                total = (self.write_log[-1][1] if self.write_log else 0) + len(frames)
                self.write_log.append((time.monotonic(), total))
                return int(super().write_frames(frames, completion))

        self.sdk.CustomAudioSource = CustomAudioSource
        self.sdk.CustomAudioTrack = CustomAudioTrack  # type: ignore[misc]
        self.sdk.CustomVideoTrack = CustomVideoTrack  # type: ignore[misc]
        self.sdk.CustomVideoSource = CustomVideoSource  # type: ignore[misc]

    # -- lookups

    def client(self, index: int) -> CallClientControl:
        try:
            return self.sdk.clients[index].fake
        except IndexError:
            raise LookupError(f"no fake CallClient #{index} ({len(self.sdk.clients)} exist)") from None

    def _tracks_of(self, control: CallClientControl, registry: dict[str, Any]) -> list[Any]:
        """Custom tracks ``control``'s code used: passed as objects, or named by id in settings."""
        found: dict[str, Any] = {}
        for call in control.calls:
            for value in _walk(call.args):
                if isinstance(value, FakeCustomAudioTrack | FakeCustomVideoTrack) and value.id in registry:
                    found[value.id] = value
                elif isinstance(value, str) and value in registry:
                    found[value] = registry[value]
        return list(found.values())

    # -- commands: each takes JSON arguments and returns a JSON value

    def cmd_ping(self) -> str:
        return "pong"

    def cmd_clients(self) -> list[dict[str, Any]]:
        return [self._describe(i, c.fake) for i, c in enumerate(list(self.sdk.clients))]

    def _describe(self, index: int, c: CallClientControl) -> dict[str, Any]:
        joins = c.calls_named("join")
        return {
            "index": index,
            "room_url": joins[0]["meeting_url"] if joins else None,
            "token": joins[0]["meeting_token"] if joins else None,
            "call_state": c.call_state,
            "local_id": c.local_id,
            "released": c.released,
        }

    def cmd_wait_client(self, room_url: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        """The first client numbered ``after`` or later whose join named ``room_url``."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        while True:
            for index, client in enumerate(list(self.sdk.clients)):
                if index >= after and any(j["meeting_url"] == room_url for j in client.fake.calls_named("join")):
                    return self._describe(index, client.fake)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no fake CallClient joined {room_url} within {timeout} s")
            time.sleep(0.01)

    def cmd_describe(self, client: int) -> dict[str, Any]:
        return self._describe(client, self.client(client))

    def cmd_script(self, client: int | None = None, **changes: Any) -> dict[str, Any]:
        """Change the default script (new clients) or one client's; ``fail_join_unreachable`` is a delay."""
        script = self.sdk.script if client is None else self.client(client).script
        for name, value in changes.items():
            if name == "fail_join_unreachable":
                script.fail_join_unreachable(float(value))
            elif name in Script.__dataclass_fields__:
                setattr(script, name, value)
            else:
                raise AttributeError(f"Script has no {name!r}")
        return {k: _jsonable(getattr(script, k)) for k in Script.__dataclass_fields__}

    def cmd_reset_script(self) -> None:
        self.sdk.script = Script()

    def cmd_add_participant(self, client: int, participant: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.client(client).add_participant(participant, **kw)

    def cmd_make_participant(self, **kw: Any) -> dict[str, Any]:
        return make_participant(**kw)

    def cmd_remove_participant(self, client: int, participant_id: str, reason: str = "leftCall") -> None:
        self.client(client).remove_participant(participant_id, reason)

    def cmd_set_active_speaker(self, client: int, participant_id: str) -> None:
        self.client(client).set_active_speaker(participant_id)

    def cmd_emit(self, client: int, event: str, args: list[Any]) -> None:
        self.client(client).emit(event, *args)

    def cmd_wait_for_renderer(
        self, client: int, participant_id: str, source: str = "microphone", timeout: float = 5.0
    ) -> dict[str, Any]:
        c = self.client(client)
        c.wait_for_renderer(participant_id, source, min(timeout, MAX_WAIT))
        r = c.audio_renderers[(participant_id, source)]
        return {"sample_rate": r.sample_rate, "callback_interval_ms": r.interval_ms}

    def cmd_wait_for_video_renderer(
        self, client: int, participant_id: str, source: str = "camera", timeout: float = 5.0
    ) -> dict[str, Any]:
        c = self.client(client)
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        while (participant_id, source) not in c.video_renderers:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no video renderer for {participant_id}/{source} after {timeout} s")
            time.sleep(0.01)
        return {"color_format": c.video_renderers[(participant_id, source)].color_format}

    def cmd_renderers(self, client: int) -> dict[str, list[list[str]]]:
        c = self.client(client)
        return {"audio": [list(k) for k in c.audio_renderers], "video": [list(k) for k in c.video_renderers]}

    def cmd_push_audio(
        self,
        client: int,
        participant_id: str,
        pcm: str,
        sample_rate: int,
        audio_source: str = "microphone",
        speed: float = 1.0,
    ) -> int:
        handle = self.client(client).push_audio(
            participant_id, base64.b64decode(pcm), sample_rate, audio_source=audio_source, speed=speed
        )
        return self._keep(handle)

    def cmd_stamp_renderer(self, client: int, participant_id: str, source: str = "microphone") -> None:
        """Record when each chunk is handed to the gateway's audio renderer (monotonic seconds; benchmarks)."""
        renderer = self.client(client).audio_renderers[(participant_id, source)]
        times = self.stamps.setdefault((client, participant_id, source), [])
        inner = renderer.callback

        def stamped(*args: Any) -> Any:
            times.append(time.monotonic())
            return inner(*args)

        renderer.callback = stamped

    def cmd_null_renderer(self, client: int, participant_id: str, source: str) -> None:
        """Register a renderer that drops everything, so pushes to it cost only the fake (benchmark baseline)."""
        c = self.client(client)
        c.audio_renderers[(participant_id, source)] = _Renderer(participant_id, lambda *args: None, source)

    def cmd_stamps(self, client: int, participant_id: str, source: str = "microphone") -> list[float]:
        return list(self.stamps.get((client, participant_id, source), []))

    def cmd_push_video(
        self, client: int, participant_id: str, buffer: str, width: int, height: int, video_source: str = "camera"
    ) -> int:
        handle = self.client(client).push_video(
            participant_id, base64.b64decode(buffer), width, height, video_source=video_source
        )
        return self._keep(handle)

    def _keep(self, handle: PushHandle) -> int:
        with self._lock:
            push = next(self._push_ids)
            self.pushes[push] = handle
        return push

    def cmd_wait_push(self, push: int, timeout: float = 10.0) -> dict[str, Any]:
        handle = self.pushes[push]
        done = handle.wait(min(timeout, MAX_WAIT))
        return {"done": done, "chunks": handle.chunks}

    def cmd_cancel_push(self, push: int) -> None:
        self.pushes[push].cancel()

    def cmd_speaker_feed(self, pcm: str) -> dict[str, Any]:
        """Queue PCM in the selected virtual speaker (what the room would play into it): its reads return it."""
        name = self.sdk.selected_speaker
        if name is None:
            raise LookupError("no speaker device is selected")
        device = self.sdk.devices[name]
        device.fake.to_read += base64.b64decode(pcm)
        return {"name": name, "sample_rate": device.sample_rate, "channels": device.channels}

    def cmd_calls(self, client: int, name: str | None = None) -> list[dict[str, Any]]:
        c = self.client(client)
        return [
            {"name": call.name, "args": _jsonable(call.args), "thread": call.thread, "at": call.at}
            for call in list(c.calls)
            if name is None or call.name == name
        ]

    def cmd_delivered(self, client: int, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            {"kind": d.kind, "name": d.name, "thread": d.thread, "args": _jsonable(d.args)}
            for d in list(self.client(client).delivered)
            if kind is None or d.kind == kind
        ]

    def cmd_app_messages(self, client: int) -> list[dict[str, Any]]:
        return [{"message": m, "participant_id": p} for m, p in list(self.client(client).app_messages)]

    def cmd_drain(self, client: int, timeout: float = 5.0) -> None:
        self.client(client).drain(min(timeout, MAX_WAIT))

    def _audio_source(self, client: int) -> Any:
        """The custom audio source ``client``'s code publishes (None before there is one)."""
        tracks = self._tracks_of(self.client(client), self.audio_tracks)
        sources = {id(t._source): t._source for t in tracks}
        if len(sources) > 1:
            raise LookupError(f"client #{client} used {len(sources)} custom audio sources; expected one")
        return next(iter(sources.values()), None)

    def cmd_audio_writes(self, client: int) -> dict[str, Any]:
        """When the gateway called write_frames on ``client``'s audio source, and the bytes written by then."""
        source = self._audio_source(client)
        if source is None:
            return {"sample_rate": None, "channels": None, "writes": []}
        return {"sample_rate": source.sample_rate, "channels": source.channels, "writes": list(source.write_log)}

    def cmd_audio_out(self, client: int, offset: int = 0) -> dict[str, Any]:
        """What the gateway wrote into ``client``'s custom audio source, from byte ``offset``."""
        source = self._audio_source(client)
        if source is None:
            return {"sample_rate": None, "channels": None, "total": 0, "pcm": "", "writes": 0}
        written = bytes(source.fake.written)
        return {
            "sample_rate": source.sample_rate,
            "channels": source.channels,
            "total": len(written),
            "pcm": base64.b64encode(written[offset:]).decode(),
            "writes": len(source.fake.writes),
        }

    def cmd_video_out(self, client: int) -> list[dict[str, Any]]:
        """The custom video sources ``client`` published, with the frames written to each."""
        tracks = self._tracks_of(self.client(client), self.video_tracks)
        return [
            {
                "track_id": t.id,
                "width": t._source.width,
                "height": t._source.height,
                "color_format": t._source.color_format,
                "frames": [base64.b64encode(f).decode() for f in t._source.fake.frames],
            }
            for t in tracks
        ]

    def cmd_errors(self) -> dict[str, list[str]]:
        """Callback exceptions, fake crashes and would-be process aborts (all must stay empty)."""
        return {
            "callback_errors": [f"{e.where}: {e.error!r}" for e in list(self.sdk.callback_errors)],
            "crashes": [f"{where}: {exc!r}" for where, exc in list(self.sdk.crashes)],
            "aborts": list(self.sdk.aborts),
        }

    def cmd_threads(self) -> list[str]:
        """Names of the Python threads alive in the gateway process."""
        return sorted(t.name for t in threading.enumerate())

    def cmd_sdk(self) -> dict[str, Any]:
        return {
            "initialized": self.sdk.initialized,
            "init_calls": len(self.sdk.init_calls),
            "clients": len(self.sdk.clients),
            "vads": len(self.sdk.vads),
        }

    def dispatch(self, cmd: str, args: dict[str, Any]) -> Any:
        method: Callable[..., Any] | None = getattr(self, f"cmd_{cmd}", None)
        if method is None:
            raise LookupError(f"unknown command {cmd!r}")
        return method(**args)


class _Handler(socketserver.StreamRequestHandler):
    server: _ControlServer

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(_MAX_LINE)
            if not line:
                return
            request: dict[str, Any] = {}
            try:
                request = json.loads(line)
                result = self.server.state.dispatch(request["cmd"], request.get("args") or {})
                reply = {"id": request.get("id"), "ok": True, "result": result}
            except Exception as exc:  # any failure goes back to the test, which raises it
                reply = {"id": request.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class _ControlServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, state: RemoteState) -> None:
        self.state = state
        super().__init__(("127.0.0.1", port), _Handler)


def serve(sdk: FakeSdk, *, port: int = 0, control_file: str | os.PathLike[str] | None = None) -> int:
    """Start the control server for ``sdk`` on a daemon thread; return its port (also written to ``control_file``)."""
    server = _ControlServer(port, RemoteState(sdk))
    bound = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, name="fake-daily-control", daemon=True).start()
    if control_file is not None:
        path = Path(control_file)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(f"{bound}\n")
        tmp.replace(path)  # atomic: the test never reads half a port number
    log.info("fake daily-python control server on 127.0.0.1:%d", bound)
    return bound


def make_sdk() -> FakeSdk:
    """The factory named by ``GATEWAY_DAILY_SDK``: a FakeSdk with its control server running."""
    sdk = FakeSdk()
    serve(sdk, port=int(os.environ.get(CONTROL_PORT_ENV, "0")), control_file=os.environ.get(CONTROL_FILE_ENV))
    return sdk


# ------------------------------------------------------------------------------------- test side


class RemoteError(Exception):
    """A control command failed in the gateway process (its exception type and message)."""


class RemoteFake:
    """Test-side handle on the fake daily-python of one gateway process.

    Args:
        control_file: the file the gateway's :func:`make_sdk` writes its port to.
        timeout: seconds to wait for that file (the SDK may load only at the first Daily join).
    """

    def __init__(self, control_file: Path, *, timeout: float = 30.0) -> None:
        self.control_file = control_file
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def ready(self) -> bool:
        """True once the gateway loaded the fake (its control file exists)."""
        return self.control_file.exists()

    async def _connect(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.control_file.exists():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the gateway did not load the fake SDK within {self.timeout} s")
            await asyncio.sleep(0.02)
        port = int(self.control_file.read_text())
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port, limit=_MAX_LINE)

    async def call(self, cmd: str, **args: Any) -> Any:
        """Run one control command in the gateway process; raises :class:`RemoteError` if it failed there.

        A command's own ``timeout`` argument bounds its wait there; the answer must come 10 s after.
        """
        timeout = min(float(args.get("timeout") or 0), MAX_WAIT) + 10
        async with self._lock:
            if self._writer is None:
                await self._connect()
            assert self._reader is not None and self._writer is not None
            request_id = next(self._ids)
            self._writer.write(json.dumps({"id": request_id, "cmd": cmd, "args": args}).encode() + b"\n")
            await self._writer.drain()
            line = await asyncio.wait_for(self._reader.readline(), timeout)
        if not line:
            raise RemoteError("the control connection closed (gateway gone?)")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RemoteError(f"{cmd}: {reply['error']}")
        return reply["result"]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self._writer = None

    # -- process-wide

    async def clients(self) -> list[dict[str, Any]]:
        return list(await self.call("clients"))

    async def client_for(self, room_url: str, *, timeout: float = 10.0, after: int = 0) -> RemoteClient:
        """The fake CallClient whose join named ``room_url`` (the first numbered ``after`` or later)."""
        info = await self.call("wait_client", room_url=room_url, timeout=timeout, after=after)
        return RemoteClient(self, int(info["index"]), info)

    async def script(self, **changes: Any) -> dict[str, Any]:
        """Change the script every CallClient created from now on copies (``Script`` fields)."""
        return dict(await self.call("script", **changes))

    async def reset_script(self) -> None:
        await self.call("reset_script")

    async def errors(self) -> dict[str, list[str]]:
        return dict(await self.call("errors"))

    async def assert_no_errors(self) -> None:
        """Fail if a callback of the gateway raised, the fake crashed, or the real SDK would have aborted."""
        errors = await self.errors()
        assert not any(errors.values()), f"fake daily-python saw errors: {errors}"

    async def threads(self) -> list[str]:
        return list(await self.call("threads"))

    async def speaker_feed(self, pcm: bytes) -> dict[str, Any]:
        """Put PCM in the process's selected virtual speaker (the room's mix, ``join.audio_in.mixed``)."""
        return dict(await self.call("speaker_feed", pcm=base64.b64encode(pcm).decode()))

    async def wait_push(self, push: int, *, timeout: float = 10.0) -> int:
        """Wait until a push_audio/push_video finished; return how many chunks it delivered."""
        result = await self.call("wait_push", push=push, timeout=timeout)
        if not result["done"]:
            raise TimeoutError(f"push {push} not done after {timeout} s ({result['chunks']} chunks)")
        return int(result["chunks"])


@dataclass
class RemoteClient:
    """One fake ``CallClient`` in the gateway process (``index`` in creation order)."""

    remote: RemoteFake
    index: int
    info: dict[str, Any]
    """What :meth:`RemoteFake.client_for` saw: room_url, token, call_state, local_id, released."""

    async def _call(self, cmd: str, **args: Any) -> Any:
        return await self.remote.call(cmd, client=self.index, **args)

    @property
    def local_id(self) -> str:
        return str(self.info["local_id"])

    async def describe(self) -> dict[str, Any]:
        self.info = dict(await self._call("describe"))
        return self.info

    async def script(self, **changes: Any) -> dict[str, Any]:
        """Change this client's script (``errors``, ``delays``...), read by each later request."""
        return dict(await self._call("script", **changes))

    async def add_participant(self, participant: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """A remote participant joins (``make_participant`` keywords: user_name, is_owner, camera...)."""
        return dict(await self._call("add_participant", participant=participant, **kw))

    async def remove_participant(self, participant_id: str, reason: str = "leftCall") -> None:
        await self._call("remove_participant", participant_id=participant_id, reason=reason)

    async def set_active_speaker(self, participant_id: str) -> None:
        await self._call("set_active_speaker", participant_id=participant_id)

    async def emit(self, event: str, *args: Any) -> None:
        """Deliver ``EventHandler.<event>(*args)`` from the fake's emitter thread."""
        await self._call("emit", event=event, args=list(args))

    async def wait_for_renderer(
        self, participant_id: str, source: str = "microphone", *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait until the gateway registered an audio renderer; its sample rate and interval."""
        return dict(
            await self._call("wait_for_renderer", participant_id=participant_id, source=source, timeout=timeout)
        )

    async def wait_for_video_renderer(
        self, participant_id: str, source: str = "camera", *, timeout: float = 5.0
    ) -> dict[str, Any]:
        return dict(
            await self._call("wait_for_video_renderer", participant_id=participant_id, source=source, timeout=timeout)
        )

    async def renderers(self) -> dict[str, list[list[str]]]:
        return dict(await self._call("renderers"))

    async def push_audio(
        self, participant_id: str, pcm: bytes, sample_rate: int, *, audio_source: str = "microphone", speed: float = 1.0
    ) -> int:
        """Feed mono PCM16 to the gateway's renderer at real time; returns a push id for ``wait_push``."""
        return int(
            await self._call(
                "push_audio",
                participant_id=participant_id,
                pcm=base64.b64encode(pcm).decode(),
                sample_rate=sample_rate,
                audio_source=audio_source,
                speed=speed,
            )
        )

    async def stamp_renderer(self, participant_id: str, source: str = "microphone") -> None:
        """From now on, record when each audio chunk of that renderer is handed to the gateway."""
        await self._call("stamp_renderer", participant_id=participant_id, source=source)

    async def null_renderer(self, participant_id: str, source: str = "bench-null") -> None:
        """A renderer of the fake's own that drops the audio: push to ``source`` to measure the fake alone."""
        await self._call("null_renderer", participant_id=participant_id, source=source)

    async def stamps(self, participant_id: str, source: str = "microphone") -> list[float]:
        """The hand-over times recorded since ``stamp_renderer`` (the gateway process's ``time.monotonic``)."""
        return list(await self._call("stamps", participant_id=participant_id, source=source))

    async def push_video(
        self, participant_id: str, buffer: bytes, width: int, height: int, *, video_source: str = "camera"
    ) -> int:
        return int(
            await self._call(
                "push_video",
                participant_id=participant_id,
                buffer=base64.b64encode(buffer).decode(),
                width=width,
                height=height,
                video_source=video_source,
            )
        )

    async def calls(self, name: str | None = None) -> list[dict[str, Any]]:
        """Arguments of every call the gateway made on this client (of ``name`` only if given)."""
        return [c["args"] for c in await self._call("calls", name=name)]

    async def call_names(self) -> list[str]:
        return [c["name"] for c in await self._call("calls")]

    async def wait_call(self, name: str, *, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until the gateway called ``name`` at least ``count`` times; their arguments."""
        deadline = time.monotonic() + timeout
        while True:
            calls = await self.calls(name)
            if len(calls) >= count:
                return calls
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{name} called {len(calls)} times, expected {count}, after {timeout} s")
            await asyncio.sleep(0.02)

    async def wait_released(self, *, timeout: float = 10.0) -> None:
        """Wait until the gateway released this CallClient."""
        deadline = time.monotonic() + timeout
        while not (await self.describe())["released"]:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"CallClient #{self.index} not released after {timeout} s")
            await asyncio.sleep(0.05)

    async def all_arguments(self) -> list[dict[str, Any]]:
        """The arguments of every call the gateway made on this client, in order."""
        return await self.calls()

    async def delivered(self, kind: str | None = None) -> list[dict[str, Any]]:
        return list(await self._call("delivered", kind=kind))

    async def app_messages(self) -> list[dict[str, Any]]:
        return list(await self._call("app_messages"))

    async def drain(self, *, timeout: float = 5.0) -> None:
        """Wait until every queued request ran and every callback was delivered."""
        await self._call("drain", timeout=timeout)

    async def audio_out(self, *, offset: int = 0) -> tuple[bytes, int | None, int]:
        """(PCM written into this client's custom audio source from ``offset``, its rate, total bytes)."""
        result = await self._call("audio_out", offset=offset)
        return base64.b64decode(result["pcm"]), result["sample_rate"], int(result["total"])

    async def audio_writes(self) -> tuple[int | None, list[tuple[float, int]]]:
        """(the custom audio source's rate, [(monotonic time of each write_frames call, bytes written by its end)])."""
        result = await self._call("audio_writes")
        return result["sample_rate"], [(float(t), int(n)) for t, n in result["writes"]]

    async def video_out(self) -> list[dict[str, Any]]:
        """The custom video sources this client published: size, format and frames (bytes)."""
        sources = await self._call("video_out")
        for source in sources:
            source["frames"] = [base64.b64decode(f) for f in source["frames"]]
        return list(sources)


def nested_in(tree: Any, value: Any) -> bool:
    """True if ``value`` is ``tree`` or nested anywhere in it (dicts and lists): where did a setting go?"""
    if tree == value:
        return True
    if isinstance(tree, dict):
        return any(nested_in(v, value) for v in tree.values())
    if isinstance(tree, list):
        return any(nested_in(v, value) for v in tree)
    return False


# ------------------------------------------------------------------------------------- fixtures


def gateway_env(control_file: Path) -> dict[str, str]:
    """Environment for ``start_gateway`` that makes the gateway run its Daily backend on this fake."""
    return {"GATEWAY_DAILY_SDK": SDK_SPEC, CONTROL_FILE_ENV: str(control_file), "GATEWAY_BACKENDS": "local,daily"}


@contextmanager
def fake_daily_gateway(tmp: Path, *args: str, name: str = "gateway-daily") -> Iterator[tuple[Any, Path]]:
    """A gateway process whose ``daily`` backend runs on the fake; yields (GatewayProcess, control file).

    Fails the test if the gateway logged a traceback or did not exit cleanly.
    """
    from tests.conftest import start_gateway

    control_file = tmp / "fake-daily.port"
    gw = start_gateway(*args, name=name, env=gateway_env(control_file))
    try:
        yield gw, control_file
    finally:
        code = gw.stop()
        log_text = gw.log()
        assert "Traceback" not in log_text, f"the gateway logged a traceback:\n{log_text[-5000:]}"
        assert code == 0, f"gateway exited with {code}:\n{log_text[-3000:]}"


def room_url(prefix: str = "t") -> str:
    """A fresh Daily room URL (the fake accepts any https URL; names keep tests apart)."""
    return f"https://example.daily.co/{prefix}-{uuid.uuid4().hex[:10]}"


class DailyHarness:
    """One test's view of a gateway whose Daily backend runs on the fake: clients, rooms, the fake.

    ``join`` returns the fake CallClient of the session that joined, found by its room URL, so
    tests sharing one gateway never see each other's clients.
    """

    def __init__(self, gw: Any, control_file: Path) -> None:
        self.gw = gw
        self.url: str = gw.url
        self.remote = RemoteFake(control_file)
        self._clients: list[Any] = []
        self._errors_before: dict[str, int] = {}

    async def connect(self) -> Any:
        """A new GatewayClient to this gateway (closed at the end of the test)."""
        from gateway_client import GatewayClient

        client = await GatewayClient.connect(self.url)
        self._clients.append(client)
        return client

    async def join(self, client: Any, room: str | None = None, **params: Any) -> tuple[dict[str, Any], RemoteClient]:
        """``client`` joins ``room`` (a fresh one by default); returns the join result and its fake CallClient."""
        room = room or room_url()
        after = len(await self.remote.clients()) if self.remote.ready else 0
        result = await client.join(room, **params)
        return result, await self.remote.client_for(room, after=after)

    async def join_with(self, user_name: str = "bob", **params: Any) -> tuple[Any, RemoteClient, str]:
        """A new client joined to a fresh room in which a remote participant ``user_name`` then joined.

        Returns (client, its fake CallClient, the participant's id), once the client saw participant-joined.
        """
        client = await self.connect()
        _, fake = await self.join(client, **params)
        pid = str((await fake.add_participant(user_name=user_name))["id"])
        await client.wait_for("participant-joined", lambda d: d["participant"]["id"] == pid)
        return client, fake, pid

    async def join_held(
        self, client: Any, *, timeout: float = 20.0, **script: Any
    ) -> tuple[asyncio.Task[Any], RemoteClient]:
        """Start ``client``'s join of a fresh room while the fake follows ``script`` (``join_delay``, ``fail_join_unreachable``...).

        Returns the pending join request (a task: its result or GatewayError) and the session's fake CallClient;
        the default script is restored at once, so only this join is affected.
        """
        room = room_url()
        await self.remote.script(**script)
        try:
            pending = asyncio.create_task(client.request("join", {"room_url": room}, timeout=timeout))
            fake = await self.remote.client_for(room)
        finally:
            await self.remote.reset_script()
        return pending, fake

    async def ensure_loaded(self) -> None:
        """Make the gateway load the fake SDK (a throwaway join) if nothing has yet, so scripts can be set."""
        if not self.remote.ready:
            client = await self.connect()
            await client.join(room_url("warmup"))
            await client.leave()
        self._errors_before = {k: len(v) for k, v in (await self.remote.errors()).items()}

    async def close(self) -> None:
        """Close the test's clients; fail if the fake saw new errors (callbacks that raised, would-be aborts)."""
        for client in self._clients:
            await client.close()
        if self.remote.ready:
            await self.remote.reset_script()
            errors = await self.remote.errors()
            new = {k: v[self._errors_before.get(k, 0) :] for k, v in errors.items()}
            assert not any(new.values()), f"fake daily-python saw errors during the test: {new}"
        await self.remote.close()


def daily_fixtures(*gateway_args: str) -> tuple[Any, Any]:
    """Fixtures for a test module: ``daily_gateway`` (one gateway per module) and ``daily`` (a DailyHarness per test).

    Use as ``daily_gateway, daily = daily_fixtures()`` at module level.
    """
    import pytest

    @pytest.fixture(scope="module", name="daily_gateway")
    def daily_gateway(tmp_path_factory: Any) -> Iterator[tuple[Any, Path]]:
        with fake_daily_gateway(tmp_path_factory.mktemp("daily"), *gateway_args) as started:
            yield started

    @pytest.fixture(name="daily")
    async def daily(daily_gateway: tuple[Any, Path]) -> Any:
        harness = DailyHarness(*daily_gateway)
        await harness.ensure_loaded()
        yield harness
        await harness.close()

    return daily_gateway, daily
