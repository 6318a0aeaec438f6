"""Turn arithmetic (gateway/session/turns.py, PROTOCOL.md 9.5) on exact timelines: no clock, no I/O."""

from __future__ import annotations

import pytest

from gateway.session.turns import OVERLAP, RESPONSE, Turn, TurnStats, TurnTracker, percentile

pytestmark = pytest.mark.unit


def run(timeline: list[tuple[str, str, float]]) -> list[Turn]:
    """Feed ``(who, "start" | "stop", ms)`` in order; every turn decided, in order."""
    tracker = TurnTracker()
    turns: list[Turn] = []
    for who, what, at in timeline:
        turns += tracker.started(who, at) if what == "start" else tracker.stopped(who, at)
    return turns


def test_a_reply_after_silence_is_a_response_with_its_gap():
    """B starting 640 ms after A stopped is one response turn from A to B, sent at B's start."""
    tracker = TurnTracker()
    assert tracker.started("a", 0) == [] and tracker.stopped("a", 1000) == []
    assert tracker.started("b", 1640) == [Turn(RESPONSE, "b", "a", 1640, gap_ms=640)]


def test_the_same_speaker_after_a_pause_is_no_turn():
    """A pausing and going on is the same turn: nothing is counted."""
    assert run([("a", "start", 0), ("a", "stop", 1000), ("a", "start", 3000), ("a", "stop", 4000)]) == []


def test_the_first_speech_of_the_room_is_no_turn():
    """Nobody spoke before: the first speaker answers no one."""
    assert run([("a", "start", 500), ("a", "stop", 900)]) == []


def test_a_start_decided_before_the_previous_stop_is_still_a_response():
    """A's stop is decided late (stop_ms > start_ms): B's start comes first, yet the real times make it a 100 ms gap."""
    tracker = TurnTracker()
    tracker.started("a", 0)
    assert tracker.started("b", 1100) == []  # A still "speaking" by the VAD: undecided
    assert tracker.stopped("a", 1000) == [Turn(RESPONSE, "b", "a", 1100, gap_ms=100)]


def test_a_barge_in_that_takes_the_turn_is_a_yielded_overlap():
    """B starts at 2000 while A speaks; A stops at 2380: an overlap of 380 ms that A yielded."""
    turns = run([("a", "start", 0), ("b", "start", 2000), ("a", "stop", 2380), ("b", "stop", 5000)])
    assert turns == [Turn(OVERLAP, "b", "a", 2000, overlap_ms=380, yielded=True)]


def test_a_backchannel_that_stops_first_is_an_overlap_not_yielded():
    """B says "mm-hm" (2000-2300) inside A's speech: an overlap of 300 ms, A kept the turn."""
    turns = run([("a", "start", 0), ("b", "start", 2000), ("b", "stop", 2300), ("a", "stop", 4000)])
    assert turns == [Turn(OVERLAP, "b", "a", 2000, overlap_ms=300, yielded=False)]


def test_after_a_kept_turn_the_next_reply_answers_the_one_who_kept_it():
    """After B's backchannel inside A's speech, B's later reply is a response to A, gap from A's end."""
    turns = run([
        ("a", "start", 0), ("b", "start", 2000), ("b", "stop", 2300), ("a", "stop", 4000),
        ("b", "start", 4500), ("b", "stop", 6000),
    ])
    assert turns[-1] == Turn(RESPONSE, "b", "a", 4500, gap_ms=500)


def test_a_conversation_of_three_counts_each_change_of_speaker():
    """User, bot, user, other: each change of speaker is a response from the one who spoke last."""
    turns = run([
        ("user", "start", 0), ("user", "stop", 1000),
        ("bot", "start", 1800), ("bot", "stop", 4000),
        ("user", "start", 4300), ("user", "stop", 5000),
        ("other", "start", 6000), ("other", "stop", 6500),
    ])
    assert [(t.participant_id, t.previous_participant_id, t.gap_ms) for t in turns] == [
        ("bot", "user", 800), ("user", "bot", 300), ("other", "user", 1000),
    ]


def test_a_start_before_the_last_end_decided_after_it_is_an_overlap():
    """With start_ms longer than stop_ms, B's start may be decided after A's stop yet begin before A's end."""
    turns = run([("a", "start", 0), ("a", "stop", 1000), ("b", "start", 900), ("b", "stop", 2000)])
    assert turns == [Turn(OVERLAP, "b", "a", 900, overlap_ms=100, yielded=True)]


def test_repeated_decisions_are_ignored():
    """A second start (or a stop of someone silent) changes nothing."""
    tracker = TurnTracker()
    tracker.started("a", 0)
    assert tracker.started("a", 100) == [] and tracker.stopped("b", 200) == []
    tracker.stopped("a", 1000)
    assert tracker.started("b", 1200) == [Turn(RESPONSE, "b", "a", 1200, gap_ms=200)]


def test_turn_data_is_the_event_shape():
    """A turn's data is the `turn` event's: seconds with ms precision, gap or overlap fields by kind."""
    assert Turn(RESPONSE, "b", "a", 1500, gap_ms=500).data(1_795_504_000_000) == {
        "kind": "response", "participant_id": "b", "previous_participant_id": "a", "at": 1795504001.5, "gap_ms": 500,
    }
    assert Turn(OVERLAP, "b", "a", 0, overlap_ms=80, yielded=False).data() == {
        "kind": "overlap", "participant_id": "b", "previous_participant_id": "a", "at": 0.0,
        "overlap_ms": 80, "yielded": False,
    }


def test_percentile_is_nearest_rank():
    """p50 and p95 by nearest rank; none of nothing."""
    values = list(range(1, 21))  # 1..20
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([7], 0.95)) == (10, 19, 7)
    assert percentile([], 0.5) is None


def test_stats_sum_up_overall_and_per_participant():
    """TurnStats counts responses and overlaps (yielded ones too), per participant who took the turn, and keeps the latest."""
    stats = TurnStats()
    turns = [Turn(RESPONSE, "bot", "user", 0, gap_ms=g) for g in (400, 800, 1200)]
    turns += [Turn(RESPONSE, "user", "bot", 0, gap_ms=100), Turn(OVERLAP, "user", "bot", 0, overlap_ms=300, yielded=True)]
    for turn in turns:
        stats.add(turn, turn.data())
    report = stats.report(recent=2)
    assert report["responses"] == {"count": 4, "p50_ms": 400, "p95_ms": 1200, "max_ms": 1200}
    assert report["overlaps"] == {"count": 1, "yielded": 1, "p50_ms": 300, "p95_ms": 300, "max_ms": 300}
    assert report["by_participant"]["bot"]["responses"] == {"count": 3, "p50_ms": 800, "p95_ms": 1200, "max_ms": 1200}
    assert report["by_participant"]["bot"]["overlaps"]["count"] == 0
    assert [t["kind"] for t in report["recent"]] == ["response", "overlap"]
    assert stats.report(recent=0)["recent"] == []
