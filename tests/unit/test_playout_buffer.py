"""The playout: slot decisions, marks, clear, watermarks, idle grace (sans-I/O), then the real-time runner."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.media.playout import MAX_PENDING_MARKS, AudioPlayout, FrameClock, PlayoutBuffer, PlayoutOptions
from protocol.errors import CommandError, InvalidParams

RATE = 8000
FRAME = RATE * 20 // 1000  # samples per 20 ms frame
FB = FRAME * 2  # bytes per frame (mono)


def ramp(start: int, count: int) -> bytes:
    """``count`` samples whose values are their stream index + 1 (never 0, so silence is visible)."""
    return (np.arange(start, start + count, dtype=np.int64) % 30000 + 1).astype(np.int16).tobytes()


class Rig:
    """A PlayoutBuffer with its events recorded; ``play(n)`` runs n slots and keeps what was written."""

    def __init__(self, **kwargs: Any) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.core = PlayoutBuffer(sample_rate=RATE, on_event=lambda n, d: self.events.append((n, d)), **kwargs)
        self.written: list[bytes] = []
        self.pushed = 0

    def push_samples(self, count: int) -> None:
        self.core.push(ramp(self.pushed, count))
        self.pushed += count

    def play(self, slots: int) -> list[bytes | None]:
        out = [self.core.next_frame() for _ in range(slots)]
        self.written += [f for f in out if f is not None]
        return out

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self.events if n == name]

    def audio(self) -> np.ndarray:
        """All written samples, silence included."""
        return np.frombuffer(b"".join(self.written), dtype=np.int16)


# ---------------------------------------------------------------------------- pacing and content


def test_frames_are_whole_and_in_order_from_irregular_chunks(irregular_chunks):
    """Audio pushed in random-sized chunks comes out as exact frames, same samples, same order, padding only at the end."""
    rig = Rig()
    pushed = ramp(0, 10 * FRAME + 37)
    pos = 0
    for chunk in irregular_chunks(pushed, seed=3, largest=700):  # whole samples only: the codec guarantees it
        end = pos + len(chunk) - len(chunk) % 2
        rig.core.push(pushed[pos:end])
        pos = end
    rig.core.push(pushed[pos:])
    rig.play(12)
    assert all(len(f) == FB for f in rig.written)
    out = b"".join(rig.written)
    assert out[: len(pushed)] == pushed
    assert set(out[len(pushed):]) <= {0}, "only silence may follow the audio"
    assert rig.core.played_bytes == len(pushed)


def test_nothing_buffered_writes_nothing_and_stays_idle():
    """With no audio ever pushed, a slot writes nothing and no event is emitted."""
    rig = Rig(idle_grace_ms=200)
    assert rig.play(3) == [None, None, None]
    assert rig.events == []


def test_partial_frame_is_padded_with_silence():
    """Less than a frame at a slot plays the samples then silence; played counts the samples only."""
    rig = Rig()
    rig.push_samples(50)
    (frame,) = rig.play(1)
    assert frame is not None and len(frame) == FB
    samples = np.frombuffer(frame, dtype=np.int16)
    assert list(samples[:50]) == list(range(1, 51)) and not samples[50:].any()
    assert rig.core.played_bytes == 100


def test_odd_rate_frame_and_period_are_exact_samples():
    """At 11025 Hz a 20 ms frame is 220 samples and the period is exactly 220/11025 s, so the clock cannot drift."""
    core = PlayoutBuffer(sample_rate=11025)
    assert core.frame_samples == 220 and core.frame_bytes == 440
    assert core.period_s == pytest.approx(220 / 11025, abs=1e-12)


def test_stereo_counts_samples_per_channel():
    """Stereo frames carry both channels; marks report samples per channel."""
    events: list[tuple[str, dict[str, Any]]] = []
    core = PlayoutBuffer(sample_rate=RATE, channels=2, on_event=lambda n, d: events.append((n, d)))
    core.push(bytes(4 * FRAME))
    core.mark("m")
    assert len(core.next_frame() or b"") == 4 * FRAME
    assert [d for n, d in events if n == "playout-mark"][0]["audio_samples"] == FRAME


def test_push_of_partial_sample_is_bad_payload():
    """A push that is not whole samples is refused with bad_payload, nothing queued."""
    core = PlayoutBuffer(sample_rate=RATE, channels=2)
    with pytest.raises(CommandError) as err:
        core.push(bytes(6))
    assert err.value.code == "bad_payload" and core.buffered_bytes == 0


# ---------------------------------------------------------------------------- marks


def test_mark_at_exact_frame_boundary_fires_with_that_frame():
    """A mark after exactly 2 frames fires when the second frame is written, not before, not after."""
    rig = Rig()
    rig.push_samples(2 * FRAME)
    reply = rig.core.mark("two")
    rig.push_samples(FRAME)
    assert reply == {"name": "two", "buffered_ms": 40.0}
    rig.play(1)
    assert rig.named("playout-mark") == []
    rig.play(1)
    (mark,) = rig.named("playout-mark")
    assert mark == {"name": "two", "status": "played", "played_ms": 40.0, "audio_ms": 40.0,
                    "played_samples": 2 * FRAME, "audio_samples": 2 * FRAME}


def test_mark_inside_a_frame_fires_with_the_frame_that_contains_it():
    """A mark 1.5 frames in fires with the second frame."""
    rig = Rig()
    rig.push_samples(FRAME + FRAME // 2)
    rig.core.mark("m")
    rig.push_samples(FRAME)
    rig.play(1)
    assert rig.named("playout-mark") == []
    rig.play(1)
    assert rig.named("playout-mark")[0]["played_samples"] == FRAME + FRAME // 2


def test_mark_with_nothing_buffered_is_played_at_once():
    """A mark with nothing queued is played immediately, with 0 ms, before mark() returns."""
    rig = Rig()
    reply = rig.core.mark("empty")
    assert reply["buffered_ms"] == 0
    assert rig.named("playout-mark") == [{"name": "empty", "status": "played", "played_ms": 0.0, "audio_ms": 0.0,
                                          "played_samples": 0, "audio_samples": 0}]


def test_mark_after_everything_played_is_played_at_once():
    """Once the buffer has drained, a new mark fires at once with an empty segment."""
    rig = Rig()
    rig.push_samples(FRAME)
    rig.play(1)
    rig.core.mark("late")
    assert rig.named("playout-mark")[-1]["status"] == "played"
    assert rig.named("playout-mark")[-1]["audio_samples"] == FRAME  # segment: since the start


def test_many_marks_fire_once_each_in_order_with_their_segments():
    """200 marks between chunks of varied sizes fire once each, in order, and their segments add up to the stream."""
    rig = Rig()
    sizes = [(i * 37) % 300 for i in range(200)]
    for i, size in enumerate(sizes):
        rig.push_samples(size)
        rig.core.mark(f"m{i}")
    rig.play(sum(sizes) // FRAME + 2)
    marks = rig.named("playout-mark")
    assert [m["name"] for m in marks] == [f"m{i}" for i in range(200)]
    assert [m["audio_samples"] for m in marks] == sizes
    assert all(m["status"] == "played" and m["played_samples"] == m["audio_samples"] for m in marks)


def test_back_to_back_marks_share_a_position():
    """Two marks with no audio between fire together; the second's segment is empty."""
    rig = Rig()
    rig.push_samples(FRAME)
    rig.core.mark("a")
    rig.core.mark("b")
    rig.play(1)
    a, b = rig.named("playout-mark")
    assert (a["name"], a["audio_samples"], b["name"], b["audio_samples"]) == ("a", FRAME, "b", 0)


def test_too_many_pending_marks_is_buffer_full():
    """Past MAX_PENDING_MARKS pending marks, one more is refused with buffer_full."""
    core = PlayoutBuffer(sample_rate=RATE)
    core.push(bytes(FB))
    for i in range(MAX_PENDING_MARKS):
        core.mark(str(i))
    with pytest.raises(CommandError) as err:
        core.mark("one too many")
    assert err.value.code == "buffer_full"


# ---------------------------------------------------------------------------- clear


def test_clear_drops_everything_and_next_slot_writes_none_of_it():
    """After clear the next slot writes nothing of the old audio; the reply says how many ms were dropped."""
    rig = Rig(idle_grace_ms=100)
    rig.push_samples(10 * FRAME)
    rig.play(3)
    result = rig.core.clear()
    assert result == {"dropped_ms": 140.0, "dropped_samples": 7 * FRAME, "cleared_marks": []}
    assert rig.play(1) == [None], "audio (or silence) was written after clear"
    assert rig.core.buffered_bytes == 0 and rig.core.dropped_bytes == 7 * FB


def test_clear_reports_pending_marks_with_played_ms_of_their_segment():
    """Marks pending at clear come back cleared: the first with what of its segment was written, the later with 0."""
    rig = Rig()
    rig.push_samples(2 * FRAME)
    rig.core.mark("a")  # segment [0, 2F)
    rig.push_samples(3 * FRAME)
    rig.core.mark("b")  # segment [2F, 5F)
    rig.push_samples(3 * FRAME)
    rig.core.mark("c")  # segment [5F, 8F)
    rig.play(3)  # writes [0, 3F): a played, b has 1 frame played
    result = rig.core.clear()
    assert result["cleared_marks"] == ["b", "c"]
    a, b, c = rig.named("playout-mark")
    assert (a["name"], a["status"], a["played_samples"]) == ("a", "played", 2 * FRAME)
    assert (b["status"], b["played_samples"], b["audio_samples"]) == ("cleared", FRAME, 3 * FRAME)
    assert (c["status"], c["played_samples"], c["audio_samples"]) == ("cleared", 0, 3 * FRAME)
    # What the receiver got of b's segment is exactly what b reports.
    got = rig.audio()
    assert int(((got > 2 * FRAME) & (got <= 5 * FRAME)).sum()) == b["played_samples"]


def test_clear_ends_the_span_and_a_new_segment_starts_after_it():
    """clear emits playout-idle (cleared); audio after it starts a new span and its mark's segment starts at the clear."""
    rig = Rig()
    rig.push_samples(4 * FRAME)
    rig.play(1)
    rig.core.clear()
    assert rig.named("playout-idle") == [{"reason": "cleared", "played_ms": 20.0, "played_samples": FRAME}]
    rig.push_samples(FRAME)
    rig.core.mark("after")
    rig.play(1)
    assert len(rig.named("playout-started")) == 2
    assert rig.named("playout-mark")[-1]["audio_samples"] == FRAME
    new = np.frombuffer(rig.written[-1], dtype=np.int16)
    assert new[0] == 4 * FRAME + 1, "the new audio did not follow the clear directly"


def test_clear_when_idle_is_harmless():
    """clear with nothing buffered drops 0 ms and emits no idle event."""
    rig = Rig()
    assert rig.core.clear() == {"dropped_ms": 0.0, "dropped_samples": 0, "cleared_marks": []}
    assert rig.events == []


# ---------------------------------------------------------------------------- watermarks and limits


def test_watermarks_fire_at_thresholds_with_hysteresis():
    """high fires once when the buffer reaches high; low fires once when it falls to low; then high can fire again."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    rig.push_samples(4 * FRAME)  # 80 ms
    assert rig.named("playout-buffer-high") == []
    rig.push_samples(FRAME)  # 100 ms: reaches high
    rig.push_samples(FRAME)  # 120 ms: no second high
    assert rig.named("playout-buffer-high") == [{"buffered_ms": 100.0, "high_watermark_ms": 100}]
    rig.play(3)  # 60 ms left
    assert rig.named("playout-buffer-low") == []
    rig.play(1)  # 40 ms left: low
    assert rig.named("playout-buffer-low") == [{"buffered_ms": 40.0, "low_watermark_ms": 40}]
    rig.play(1)
    rig.push_samples(5 * FRAME)
    assert len(rig.named("playout-buffer-high")) == 2


def test_clear_above_high_watermark_fires_low():
    """A clear while above the high watermark fires playout-buffer-low with 0 ms buffered."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    rig.push_samples(10 * FRAME)
    rig.core.clear()
    assert rig.named("playout-buffer-low") == [{"buffered_ms": 0.0, "low_watermark_ms": 40}]


def test_high_reports_the_level_after_the_crossing_frame():
    """playout-buffer-high's buffered_ms is what the crossing push left buffered, which may exceed the watermark."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    rig.push_samples(3 * FRAME)  # 60 ms
    rig.push_samples(3 * FRAME + FRAME // 2)  # 130 ms: crosses 100 inside this push
    assert rig.named("playout-buffer-high") == [{"buffered_ms": 130.0, "high_watermark_ms": 100}]
    assert rig.core.snapshot()["above_high_watermark"] is True


def test_clear_with_a_high_outstanding_sends_low_even_below_the_high_watermark():
    """After a high, a clear sends the one low that answers it, whatever the level was (here between low and high)."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    rig.push_samples(6 * FRAME)  # 120 ms: high
    rig.play(2)  # 80 ms: below high, above low: still waiting for its low
    assert rig.named("playout-buffer-low") == [] and rig.core.snapshot()["above_high_watermark"] is True
    rig.core.clear()
    assert rig.named("playout-buffer-low") == [{"buffered_ms": 0.0, "low_watermark_ms": 40}]
    assert rig.core.snapshot()["above_high_watermark"] is False


def test_clear_without_a_high_outstanding_sends_no_low():
    """A clear sends playout-buffer-low only to answer an outstanding high, not because the buffer emptied."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    rig.push_samples(4 * FRAME)  # 80 ms, never reached high
    rig.core.clear()
    assert rig.named("playout-buffer-low") == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["push", "play", "clear"]), st.integers(1, 4 * FRAME)), max_size=60))
def test_highs_and_lows_alternate(ops):
    """Watermark events alternate high, low, high...: each high's level is at least the watermark, each low's at most its own."""
    rig = Rig(high_watermark_ms=100, low_watermark_ms=40)
    for op, n in ops:
        if op == "push":
            rig.push_samples(n)
        elif op == "play":
            rig.play(n % 5 + 1)
        else:
            rig.core.clear()
    marks = [(n, d) for n, d in rig.events if n.startswith("playout-buffer")]
    assert [n for n, _ in marks] == ["playout-buffer-high", "playout-buffer-low"] * (len(marks) // 2) + (
        ["playout-buffer-high"] if len(marks) % 2 else []
    )
    assert all(d["buffered_ms"] >= 100 for n, d in marks if n == "playout-buffer-high")
    assert all(d["buffered_ms"] <= 40 for n, d in marks if n == "playout-buffer-low")
    assert rig.core.snapshot()["above_high_watermark"] is (len(marks) % 2 == 1)


def test_watermarks_off_when_high_is_zero():
    """high_watermark_ms 0 emits no watermark events at all."""
    rig = Rig(high_watermark_ms=0, low_watermark_ms=0)
    rig.push_samples(50 * FRAME)
    rig.play(50)
    assert not [n for n, _ in rig.events if n.startswith("playout-buffer")]


def test_buffer_full_refuses_the_whole_push_and_keeps_the_rest():
    """Filling to exactly the maximum is accepted; one more sample is refused with buffer_full and nothing is queued."""
    core = PlayoutBuffer(sample_rate=RATE, max_buffer_ms=100)
    core.push(bytes(5 * FB))
    with pytest.raises(CommandError) as err:
        core.push(bytes(2))
    assert err.value.code == "buffer_full"
    assert err.value.details == {"buffered_ms": 100.0, "max_buffer_ms": 100}
    assert core.buffered_bytes == 5 * FB
    core.next_frame()
    core.push(bytes(FB))  # room again after a frame played
    assert core.buffered_bytes == 5 * FB


def test_playout_options_check_watermarks_and_limit():
    """max_buffer_ms above the gateway limit, high above max, or low >= high give invalid_params naming the field."""
    assert PlayoutOptions.from_params({}, 60_000).max_buffer_ms == 60_000
    cases = [
        ({"max_buffer_ms": 70_000}, "audio_out.max_buffer_ms"),
        ({"max_buffer_ms": 5_000, "high_watermark_ms": 6_000}, "audio_out.high_watermark_ms"),
        ({"high_watermark_ms": 3_000, "low_watermark_ms": 3_000}, "audio_out.low_watermark_ms"),
    ]
    for params, field in cases:
        with pytest.raises(InvalidParams) as err:
            PlayoutOptions.from_params(params, 60_000)
        assert err.value.details["field"] == field
    off = PlayoutOptions.from_params({"high_watermark_ms": 0, "low_watermark_ms": 9_000, "max_buffer_ms": 1_000}, 60_000)
    assert off.high_watermark_ms == 0


# ---------------------------------------------------------------------------- idle, started, grace


def test_started_once_per_span_and_idle_after_the_grace():
    """playout-started on the first frame; silence for idle_grace_ms after the buffer drains; then playout-idle (drained)."""
    rig = Rig(idle_grace_ms=100)
    rig.push_samples(3 * FRAME)
    frames = rig.play(3 + 5 + 1)
    assert rig.named("playout-started") == [{"buffered_ms": 60.0}]
    assert frames[3:8] == [bytes(FB)] * 5, "the grace is not played as silence"
    assert frames[8] is None
    assert rig.named("playout-idle") == [{"reason": "drained", "played_ms": 60.0, "played_samples": 3 * FRAME}]
    assert rig.core.silence_frames == 5


def test_audio_within_the_grace_continues_the_span():
    """Audio arriving during the grace plays on with no idle/started pair (no false bot-stopped-speaking)."""
    rig = Rig(idle_grace_ms=100)
    rig.push_samples(2 * FRAME)
    rig.play(2 + 4)  # 4 silent slots of 5
    rig.push_samples(2 * FRAME)
    rig.play(2)
    assert len(rig.named("playout-started")) == 1 and rig.named("playout-idle") == []


def test_zero_grace_goes_idle_at_the_first_empty_slot():
    """With idle_grace_ms 0 the slot after the last audio is idle: no silence is written."""
    rig = Rig(idle_grace_ms=0)
    rig.push_samples(FRAME)
    assert rig.play(2)[1] is None
    assert rig.named("playout-idle")[0]["reason"] == "drained" and rig.core.silence_frames == 0


# ---------------------------------------------------------------------------- the accounting, for any sequence

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(1, 700)),
        st.tuples(st.just("mark"), st.just(0)),
        st.tuples(st.just("play"), st.integers(1, 6)),
        st.tuples(st.just("clear"), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_ops)
def test_accounting_matches_what_was_written(ops):
    """For any sequence of pushes, marks, slots and clears: each mark is reported once, in order, and its
    played_samples equals the samples of its segment found in the written frames."""
    rig = Rig(idle_grace_ms=40)
    segments: dict[str, tuple[int, int, int]] = {}
    boundary = cleared_at = 0
    for i, (op, n) in enumerate(ops):
        if op == "push":
            rig.push_samples(n)
        elif op == "mark":
            segments[f"m{i}"] = (boundary, rig.pushed, cleared_at)
            boundary = rig.pushed
            rig.core.mark(f"m{i}")
        elif op == "play":
            rig.play(n)
        else:
            rig.core.clear()
            boundary = cleared_at = rig.pushed
    rig.play(rig.core.buffered_bytes // FB + 4)
    got = rig.audio().astype(np.int64)
    real = got[got > 0] - 1  # stream index of every written sample
    assert list(real) == sorted(real), "samples out of order"
    assert len(set(real.tolist())) == len(real), "a sample was written twice"
    marks = rig.named("playout-mark")
    assert [m["name"] for m in marks] == list(segments), "marks missing, repeated or out of order"
    for mark in marks:
        start, end, since = segments[mark["name"]]
        assert mark["audio_samples"] == end - start
        assert mark["played_samples"] == int(((real >= start) & (real < end)).sum())
        # played: everything queued before it since the last clear was written; else cleared.
        all_written = int(((real >= since) & (real < end)).sum()) == end - since
        assert mark["status"] == ("played" if all_written else "cleared")
    assert rig.core.played_bytes == 2 * len(real)


# ---------------------------------------------------------------------------- the real-time runner


class Sink:
    """Records (time, frame) for every write."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []

    def __call__(self, chunk: bytes) -> None:
        self.writes.append((time.monotonic(), chunk))


async def _play_until_idle(playout: AudioPlayout, events: list[tuple[str, dict[str, Any]]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(n == "playout-idle" for n, _ in events):
        assert time.monotonic() < deadline, "playout did not go idle"
        await asyncio.sleep(0.01)


@pytest.mark.slow
async def test_runner_plays_a_burst_at_real_time():
    """1 s pushed at once is written as 50 frames over ~1 s (not at once, not much slower), content intact."""
    sink, events = Sink(), []
    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0, on_event=lambda n, d: events.append((n, d)))
    playout.start()
    data = ramp(0, RATE)
    started = time.monotonic()
    playout.push(data)
    await _play_until_idle(playout, events, 5)
    await playout.stop()
    assert b"".join(c for _, c in sink.writes) == data
    span = sink.writes[-1][0] - started
    assert 0.9 < span < 1.5, f"50 frames written over {span:.2f} s"


async def test_runner_clear_takes_effect_before_the_next_frame():
    """After clear, no frame of the old audio is written, even one slot later."""
    sink = Sink()
    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0)
    playout.start()
    playout.push(ramp(0, RATE))
    await asyncio.sleep(0.2)
    result = playout.clear()
    count = len(sink.writes)
    await asyncio.sleep(0.1)
    await playout.stop()
    assert len(sink.writes) == count, "old audio written after clear"
    assert result["dropped_samples"] + count * FRAME == RATE


async def test_runner_waits_one_period_to_complete_a_partial_frame():
    """Half a frame followed 5 ms later by the other half plays as one whole frame, no silence inserted."""
    sink = Sink()
    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0)
    playout.start()
    data = ramp(0, FRAME)
    playout.push(data[: FB // 2])
    await asyncio.sleep(0.005)
    playout.push(data[FB // 2:])
    await asyncio.sleep(0.1)
    await playout.stop()
    assert [c for _, c in sink.writes] == [data]


async def test_runner_prebuffer_waits_for_audio_or_time():
    """With prebuffer_ms 200, the first frame waits until 200 ms are queued; a short utterance still plays after 200 ms."""
    sink = Sink()
    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0, prebuffer_ms=200)
    playout.start()
    playout.push(ramp(0, FRAME))
    await asyncio.sleep(0.05)
    assert sink.writes == [], "played before 200 ms were queued"
    playout.push(ramp(FRAME, 10 * FRAME))
    await asyncio.sleep(0.05)
    assert sink.writes, "did not start once 200 ms were queued"
    await asyncio.sleep(0.4)
    sink.writes.clear()
    t0 = time.monotonic()
    playout.push(ramp(11 * FRAME, FRAME))
    await asyncio.sleep(0.4)
    await playout.stop()
    assert len(sink.writes) == 1 and sink.writes[0][0] - t0 >= 0.19


@pytest.mark.slow
async def test_runner_catches_up_late_ticks_without_drift():
    """A sink that stalls the loop 45 ms every 10th frame: 100 frames still take 2 s (catch-up, no drift)."""
    calls = []

    def slow(chunk: bytes) -> None:
        calls.append(time.monotonic())
        if len(calls) % 10 == 0:
            time.sleep(0.045)

    playout = AudioPlayout(slow, sample_rate=RATE, idle_grace_ms=0)
    playout.start()
    playout.push(bytes(100 * FB))
    await asyncio.sleep(2.3)
    await playout.stop()
    assert len(calls) == 100
    span = calls[-1] - calls[0]
    # A stall of this shared machine longer than the catch-up bound moves the schedule: counted.
    expected = 1.98 + 0.02 * playout.late_frames
    assert abs(span - expected) < 0.06, f"100 frames spanned {span:.3f} s, expected {expected:.2f}"
    assert playout.late_frames <= 5


@pytest.mark.slow
async def test_runner_bounds_the_catch_up_burst_after_a_long_stall():
    """After a 300 ms stall at most max_catchup_ms of frames are written back to back; the rest is delayed, counted."""
    calls = []

    def stall_once(chunk: bytes) -> None:
        calls.append(time.monotonic())
        if len(calls) == 5:
            time.sleep(0.3)

    playout = AudioPlayout(stall_once, sample_rate=RATE, idle_grace_ms=0, max_catchup_ms=60)
    playout.start()
    playout.push(bytes(40 * FB))
    await asyncio.sleep(1.4)
    await playout.stop()
    assert len(calls) == 40
    gaps = np.diff(calls[5:])
    burst = int(np.argmax(gaps > 0.01))  # frames written back to back after the stall
    assert burst <= 3, f"{burst} frames burst after the stall; the bound is 3"
    assert 10 <= playout.late_frames <= 20


@pytest.mark.slow
async def test_runner_repays_a_stall_fully_for_a_real_time_sender():
    """After a 300 ms stall a real-time sender's frames are played as soon as they arrive again: no slot left unpaid."""
    pushed: dict[int, float] = {}
    written: dict[int, float] = {}

    def sink(chunk: bytes) -> None:
        index = int(np.frombuffer(chunk, dtype=np.int16)[0]) - 1
        written[index // FRAME] = time.monotonic()
        if index // FRAME == 20:
            time.sleep(0.3)

    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=200)
    playout.start()
    t0 = time.monotonic()
    for k in range(120):  # 2.4 s at real time, on an absolute schedule (a stalled sender catches up)
        await asyncio.sleep(max(0.0, t0 + k * 0.02 - time.monotonic()))
        pushed[k] = time.monotonic()
        playout.push(ramp(k * FRAME, FRAME))
    await asyncio.sleep(0.1)
    await playout.stop()
    assert playout.late_frames > 0, "no stall beyond the catch-up bound happened"
    delays = sorted(written[k] - pushed[k] for k in range(100, 120))
    assert delays[len(delays) // 2] < 0.012, f"median delay {delays[len(delays) // 2] * 1000:.1f} ms after the stall"


@pytest.mark.slow
async def test_runner_gives_back_silence_padded_while_a_real_time_sender_was_late():
    """Frames held up 130 ms upstream pad silence, and that delay is given back: the stream is not left slots late."""
    pushed: dict[int, float] = {}
    written: dict[int, float] = {}

    def sink(chunk: bytes) -> None:
        first = int(np.frombuffer(chunk, dtype=np.int16)[0])
        if first:
            written[(first - 1) // FRAME] = time.monotonic()

    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=200)
    playout.start()
    t0 = time.monotonic()
    for k in range(120):  # real time on an absolute schedule, frames 20-26 held up and sent at once
        send_at = t0 + (26 * 0.02 + 0.01 if 20 <= k <= 26 else k * 0.02)
        await asyncio.sleep(max(0.0, send_at - time.monotonic()))
        pushed[k] = time.monotonic()
        playout.push(ramp(k * FRAME, FRAME))
    await asyncio.sleep(0.1)
    await playout.stop()
    assert playout.silence_frames > 0, "the hold-up padded no silence"
    assert len(written) == 120
    delays = sorted(written[k] - pushed[k] for k in range(60, 120))
    assert delays[len(delays) // 2] < 0.012, f"median delay {delays[len(delays) // 2] * 1000:.1f} ms after the hold-up"


async def test_runner_serves_many_playouts_from_one_timer():
    """64 playouts started 1 ms apart each write 25 frames at real time, content intact, and stopping one spares the rest."""
    sinks = [Sink() for _ in range(64)]
    playouts = [AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=0) for sink in sinks]
    data = ramp(0, 25 * FRAME)
    started = []
    for playout in playouts:
        playout.start()
        playout.push(data)
        started.append(time.monotonic())
        await asyncio.sleep(0.001)
    await playouts[0].stop()
    await asyncio.sleep(0.8)
    for playout in playouts[1:]:
        await playout.stop()
    assert len(sinks[0].writes) < 25
    for sink, t0 in zip(sinks[1:], started[1:], strict=True):
        assert b"".join(c for _, c in sink.writes) == data
        span = sink.writes[-1][0] - t0
        assert 0.45 < span < 0.6, f"25 frames written over {span:.3f} s"


async def test_stop_reports_pending_marks_as_cleared():
    """Leaving with audio queued reports its marks cleared and ends the span with reason stopped."""
    events: list[tuple[str, dict[str, Any]]] = []
    playout = AudioPlayout(Sink(), sample_rate=RATE, on_event=lambda n, d: events.append((n, d)))
    playout.start()
    playout.push(bytes(50 * FB))
    playout.mark("end")
    await asyncio.sleep(0.1)
    await playout.stop()
    mark = next(d for n, d in events if n == "playout-mark")
    assert mark["status"] == "cleared" and 0 < mark["played_samples"] < mark["audio_samples"]
    assert next(d for n, d in events if n == "playout-idle")["reason"] == "stopped"


async def test_frame_clock_ticks_from_its_origin():
    """FrameClock: 20 ticks of 10 ms end 200 ms after the origin even when the caller works 5 ms per tick."""
    clock = FrameClock(0.01)
    t0 = time.monotonic()
    for _ in range(20):
        time.sleep(0.005)
        await clock.tick()
    assert clock.ticks == 20
    assert 0.195 < time.monotonic() - t0 < 0.28


@pytest.mark.slow
def test_runner_after_a_stall_reads_the_socket_before_padding_a_dry_slot():
    """Under uvloop, a 115 ms loop stall over a dry slot pads no silence and leaves a real-time stream no slot late."""
    import socket
    import threading

    import uvloop

    frames = 80
    stall_after = 20  # frame index whose write schedules the stall
    pushed: dict[int, float] = {}
    written: dict[int, float] = {}

    async def main() -> AudioPlayout:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setblocking(False)

        def sink(chunk: bytes) -> None:
            first = int(np.frombuffer(chunk, dtype=np.int16)[0])
            if first == 0:
                return  # silence: counted by the playout
            index = (first - 1) // FRAME
            written[index] = time.monotonic()
            if index == stall_after:
                # Mid-period, so the next slot's dry wait runs out during the stall; in an
                # I/O callback (as a heavy message would stall the gateway), after which
                # libuv runs due timers before it polls the socket again.
                loop.call_later(0.012, poke_in.send, b"x")

        playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=200)
        playout.start()
        pending = bytearray()

        def readable() -> None:
            pending.extend(ours.recv(65536))
            while len(pending) >= FB:
                chunk = bytes(pending[:FB])
                del pending[:FB]
                pushed[(int(np.frombuffer(chunk[:2], dtype=np.int16)[0]) - 1) // FRAME] = time.monotonic()
                playout.push(chunk)

        loop.add_reader(ours.fileno(), readable)
        poke_out, poke_in = socket.socketpair()
        poke_out.setblocking(False)

        def stall() -> None:
            poke_out.recv(1)
            time.sleep(0.115)

        loop.add_reader(poke_out.fileno(), stall)

        def send() -> None:  # a real-time sender on its own thread, unaffected by the loop's stall
            t0 = time.monotonic()
            for k in range(frames):
                time.sleep(max(0.0, t0 + k * 0.02 - time.monotonic()))
                theirs.sendall(ramp(k * FRAME, FRAME))

        sender = threading.Thread(target=send)
        sender.start()
        await loop.run_in_executor(None, sender.join)
        await asyncio.sleep(0.1)
        loop.remove_reader(ours.fileno())
        loop.remove_reader(poke_out.fileno())
        await playout.stop()
        for sock in (ours, theirs, poke_out, poke_in):
            sock.close()
        return playout

    playout = uvloop.run(main())
    assert len(written) == frames, "frames missing"
    assert playout.silence_frames == 0, f"{playout.silence_frames} slots padded with silence after the stall"
    delays = sorted(written[k] - pushed[k] for k in range(40, frames))
    assert delays[len(delays) // 2] < 0.012, f"median delay {delays[len(delays) // 2] * 1000:.1f} ms after the stall"


# ---------------------------------------------------------------------------- the underrun wait and the idle grace


async def _drain_with_grace(grace_ms: int) -> tuple[Sink, float, float, AudioPlayout]:
    """Ten frames at once, then nothing: (sink, time of the last audio write, time of playout-idle, playout)."""
    sink, events = Sink(), []
    idle_at: list[float] = []

    def on_event(name: str, data: dict[str, Any]) -> None:
        events.append((name, data))
        if name == "playout-idle":
            idle_at.append(time.monotonic())

    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=grace_ms, on_event=on_event)
    playout.start()
    playout.push(ramp(0, 10 * FRAME))
    await _play_until_idle(playout, events, 5)
    await playout.stop()
    last_audio = max(t for t, chunk in sink.writes if any(chunk))
    return sink, last_audio, idle_at[0], playout


@pytest.mark.parametrize(("grace_ms", "silent_slots"), [(0, 0), (60, 0), (200, 5), (400, 15)])
async def test_runner_goes_idle_when_the_grace_ends_the_underrun_wait_included(grace_ms, silent_slots):
    """playout-idle comes idle_grace_ms after the buffer ran dry (the end of the last audio slot), not 100 ms later;
    the wait for audio (100 ms, or the grace if shorter) is its first part and writes nothing, the rest is silence."""
    sink, last_audio, idle_at, playout = await _drain_with_grace(grace_ms)
    dry_at = last_audio + 0.02
    assert -0.005 < idle_at - dry_at - grace_ms / 1000 < 0.035, (
        f"idle {1000 * (idle_at - dry_at):.0f} ms after the buffer ran dry, grace {grace_ms} ms"
    )
    assert playout.silence_frames == silent_slots
    silence = [t for t, chunk in sink.writes if not any(chunk)]
    if silence:
        assert silence[0] - dry_at > 0.09, "silence was written before the underrun wait ended"
        gaps = np.diff(silence)
        assert gaps.min() > 0.01, "grace silence was written in a burst"


async def _loop_stall_watch(stalls: list[float]) -> None:
    """Records how late a 5 ms sleep wakes: a busy machine stalls the loop, and a stalled runner rightly catches up."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.005)
        stalls.append(time.monotonic() - before - 0.005)


async def _repay_after_dry_gap() -> tuple[list[float], float]:
    """Ten frames, 150 ms dry, then 60 frames: the times of the audio writes after the comeback, and the worst stall."""
    sink = Sink()
    playout = AudioPlayout(sink, sample_rate=RATE, idle_grace_ms=300)
    stalls: list[float] = []
    watch = asyncio.create_task(_loop_stall_watch(stalls))
    playout.start()
    playout.push(ramp(0, 10 * FRAME))
    await asyncio.sleep(0.2 + 0.15)  # ten slots, then 150 ms dry
    resumed = time.monotonic()
    playout.push(ramp(10 * FRAME, 60 * FRAME))
    await asyncio.sleep(1.6)
    await playout.stop()
    watch.cancel()
    return [t for t, chunk in sink.writes if any(chunk) and t >= resumed], max(stalls, default=0.0)


@pytest.mark.slow
async def test_runner_repays_a_short_dry_gap_one_extra_frame_every_other_slot():
    """After a 150 ms gap within the grace, a burst plays with no more than two frames in a period, and the
    slots of the whole gap (wait and silence) are what is given back: no catch-up burst of stale slots."""
    for _ in range(5):  # judged on a run the machine did not stall (a stalled loop must catch up)
        audio, stall = await _repay_after_dry_gap()
        if stall < 0.008:
            break
    assert len(audio) == 60
    within = [np.searchsorted(audio, t + 0.015, side="right") - i for i, t in enumerate(audio)]
    assert max(within) <= 2, f"{max(within)} frames written within 15 ms: a catch-up burst (loop stalled {stall:.3f} s)"
    doubles = sum(1 for a, b in zip(audio, audio[1:], strict=False) if b - a < 0.008)
    gap_slots = 8  # the dry slot at +200 ms to the slot after the audio came (+360 ms): 5 waited, 3 silent
    assert abs(doubles - gap_slots) <= 1, f"{doubles} slots repaid, the gap was {gap_slots}"


async def test_runner_flushes_its_sink_when_a_span_ends_or_the_client_marked_the_end():
    """The flush sink runs when the span ends (drained, cleared, stopped) and at the first dry slot after a mark."""
    flushed: list[float] = []
    sink = Sink()
    playout = AudioPlayout(sink, flush=lambda: flushed.append(time.monotonic()), sample_rate=RATE, idle_grace_ms=200)
    playout.start()
    playout.push(ramp(0, 5 * FRAME))
    playout.mark("end")
    await asyncio.sleep(0.15)
    assert len(flushed) == 1, "no flush at the dry slot after the mark"
    assert abs(flushed[0] - (sink.writes[4][0] + 0.02)) < 0.01, "the flush was not at the dry slot's time"
    await asyncio.sleep(0.25)
    assert len(flushed) == 2, "no flush when the span drained"
    playout.push(ramp(0, 50 * FRAME))
    await asyncio.sleep(0.1)
    playout.clear()
    assert len(flushed) == 3, "no flush at clear"
    playout.push(ramp(0, 50 * FRAME))
    await asyncio.sleep(0.1)
    await playout.stop()
    assert len(flushed) == 4, "no flush at stop"
