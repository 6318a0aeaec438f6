"""The Daily backend's threads and memory: nothing grows over many join/leave cycles, and nothing leaks on errors.

Every cycle makes a CallClient of the fake (four threads of its own, like the real one), a writer
thread for published audio, and executor work for release(); all must be gone after leave.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc

import pytest

from gateway.backends.base import AudioFormat
from tests.fakes.daily import FakeSdk, make_participant
from tests.unit.test_daily_transport_fixtures import (  # noqa: F401  (fake_sdk is a fixture)
    Recorder,
    fake_sdk,
    make_backend,
    make_transport,
    until,
)

CYCLES = 200


def live_threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


async def settle_threads(expected: int) -> int:
    """Thread count once the fake's released threads have ended (they stop asynchronously)."""
    for _ in range(200):
        if threading.active_count() <= expected:
            break
        await asyncio.sleep(0.01)
    return threading.active_count()


@pytest.mark.slow
async def test_200_join_leave_cycles_do_not_grow_threads_or_memory(fake_sdk: FakeSdk) -> None:
    """200 join/leave cycles with audio in and out: thread count and traced memory stay flat."""
    fake_sdk.script.remote_participants = [make_participant(user_name="bob")]
    backend = make_backend(fake_sdk)

    async def cycle() -> None:
        listener = Recorder()
        transport = make_transport(backend, listener, audio_out=AudioFormat(16000))
        await transport.join()
        transport.write_audio(b"\x00\x00" * 320)
        await transport.leave()

    for _ in range(10):  # warm up: executor threads, caches, first-time imports
        await cycle()
    baseline_threads = await settle_threads(threading.active_count())
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(CYCLES):
            await cycle()
        after_threads = await settle_threads(baseline_threads)
        fake_sdk.clients.clear()  # the fake keeps every client it made, for tests; not the backend's memory
        fake_sdk.audio_sources.clear()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert after_threads <= baseline_threads, sorted(live_threads())
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 2_000_000, [str(s) for s in after.compare_to(before, "lineno")[:10]]
    assert not backend.transports
    fake_sdk.assert_no_callback_errors()
    await backend.close()


async def test_leave_during_a_pending_join(fake_sdk: FakeSdk) -> None:
    """leave while the join is pending: the join still ends, the client is released, no thread is left."""
    fake_sdk.script.join_delay = 0.3
    backend = make_backend(fake_sdk)
    baseline = threading.active_count()
    transport = make_transport(backend, Recorder())
    join = asyncio.ensure_future(transport.join())
    await until(lambda: fake_sdk.clients, what="a CallClient")
    control = fake_sdk.clients[0].fake
    await until(lambda: control.calls_named("join"))
    await transport.leave()
    assert control.released
    try:
        await join
    except Exception:
        pass  # either outcome is fine; what matters is that nothing is left behind
    await backend.close()
    assert await settle_threads(baseline) <= baseline
    fake_sdk.assert_no_callback_errors()


async def test_errors_in_the_session_do_not_break_the_sdk_thread(fake_sdk: FakeSdk, caplog: pytest.LogCaptureFixture) -> None:
    """A listener that raises runs on the loop, never on the SDK's thread: logged, later events still arrive."""
    fake_sdk.script.remote_participants = [make_participant(user_name="bob")]

    class Exploding(Recorder):
        def on_event(self, name: str, data: dict) -> None:  # type: ignore[type-arg]
            super().on_event(name, data)
            if name == "participant-updated":
                raise RuntimeError("session bug")

    listener = Exploding()
    backend = make_backend(fake_sdk)
    transport = make_transport(backend, listener)
    await transport.join()
    control = fake_sdk.wait_for_client()
    carol = control.add_participant(user_name="carol")
    control.emit("on_participant_updated", carol)
    control.emit("on_app_message", {"after": True}, carol["id"])
    await until(lambda: listener.named("app-message"))
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)
    fake_sdk.assert_no_callback_errors()
    await transport.leave()
    await backend.close()


async def test_backend_close_releases_every_client(fake_sdk: FakeSdk) -> None:
    """Shutdown with sessions still in rooms: every CallClient is left and released, no thread remains."""
    backend = make_backend(fake_sdk)
    baseline = threading.active_count()
    transports = [make_transport(backend, Recorder()) for _ in range(3)]
    for transport in transports:
        await transport.join()
    await backend.close()
    assert all(client.fake.released for client in fake_sdk.clients)
    assert not backend.transports
    assert await settle_threads(baseline) <= baseline, sorted(live_threads())


async def test_backend_close_with_a_join_pending(fake_sdk: FakeSdk) -> None:
    """Shutdown while a join is pending still releases that client once its join ends."""
    fake_sdk.script.join_delay = 0.3
    backend = make_backend(fake_sdk)
    transport = make_transport(backend, Recorder())
    join = asyncio.ensure_future(transport.join())
    await until(lambda: fake_sdk.clients, what="a CallClient")
    await backend.close()
    assert fake_sdk.clients[0].fake.released
    join.cancel()
    await asyncio.gather(join, return_exceptions=True)
