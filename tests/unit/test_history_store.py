"""The history's SQLite store and what it keeps (gateway/history, PROTOCOL.md 5.13): bounds, retention, shapes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.config import Config
from gateway.history import History, history_path
from gateway.history.recorder import entry
from gateway.history.store import Entry, HistoryStore, SessionEnd, SessionRow

pytestmark = pytest.mark.unit

DAY = 86400.0


def row(sid: str, started: float, room: str = "local://r") -> SessionRow:
    return SessionRow(sid, room, "local", "participant", f"p-{sid}", sid, None, started)


def store(**bounds: float) -> HistoryStore:
    options = {"max_sessions": 100, "max_events": 100, "retention_s": 7 * DAY, **bounds}
    return HistoryStore(":memory:", max_sessions=int(options["max_sessions"]), max_events=int(options["max_events"]),
                        retention_s=options["retention_s"])


def test_a_session_is_kept_with_its_entries_in_order():
    """A session written in batches reads back with its entries in order, ended with its cause and turns."""
    db = store()
    db.write([row("s1", 1000.0), Entry("s1", 1001.0, "joined", {"participant_id": "p-s1"})])
    db.write([Entry("s1", 1002.0, "turn", {"kind": "response", "gap_ms": 500}),
              SessionEnd("s1", 1003.0, "left", {"responses": {"count": 1}})])
    found = db.get_session("s1", 0, 10)
    assert found is not None
    assert [e["event"] for e in found["events"]] == ["joined", "turn"]
    assert found["events"][1] == {"at": 1002.0, "event": "turn", "data": {"kind": "response", "gap_ms": 500}}
    assert (found["session"]["ended_at"], found["session"]["end_cause"], found["total"]) == (1003.0, "left", 2)
    assert found["session"]["turns"] == {"responses": {"count": 1}}
    assert db.get_session("nope", 0, 10) is None


def test_entries_past_max_events_are_counted_not_kept():
    """With max_events 3, the 4th and 5th entries are dropped_events; the first 3 stay; paging reads them."""
    db = store(max_events=3)
    db.write([row("s1", 1000.0), *(Entry("s1", 1000.0 + i, "error", {"i": i}) for i in range(5))])
    found = db.get_session("s1", 1, 10)
    assert found is not None
    assert [e["data"]["i"] for e in found["events"]] == [1, 2]
    assert (found["session"]["events"], found["session"]["dropped_events"]) == (3, 2)


def test_the_oldest_sessions_go_past_max_sessions():
    """With max_sessions 3, writing a 5th session leaves the 3 newest, entries of the deleted ones gone too."""
    db = store(max_sessions=3)
    for i in range(5):
        db.write([row(f"s{i}", 1000.0 + i), Entry(f"s{i}", 1000.0 + i, "joined", {})])
    listed = db.list_sessions(room_url=None, before=None, limit=10, allows_room=None)
    assert [s["session_id"] for s in listed] == ["s4", "s3", "s2"]
    assert db.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 3


def test_retention_deletes_sessions_that_ended_long_ago_only():
    """prune() deletes sessions ended more than retention_s ago; a recent one and one running since 6 days stay."""
    db = store(retention_s=7 * DAY)
    now = 100 * DAY
    db.write([row("old", now - 10 * DAY), SessionEnd("old", now - 9 * DAY, "left", {}),
              row("recent", now - 2 * DAY), SessionEnd("recent", now - 1 * DAY, "left", {}),
              row("running", now - 6 * DAY)])
    assert db.prune(now) == 1
    assert {s["session_id"] for s in db.list_sessions(room_url=None, before=None, limit=10, allows_room=None)} == {
        "recent", "running"}


def test_listing_filters_by_room_scope_and_pages_with_before():
    """list_sessions: newest first, a room filter, the credential's rooms (allows_room), and before for paging."""
    db = store()
    db.write([row("a1", 1.0, "local://a"), row("b1", 2.0, "local://b"), row("a2", 3.0, "local://a")])
    ids = lambda **kw: [s["session_id"] for s in db.list_sessions(**{"room_url": None, "before": None, "limit": 10,  # noqa: E731
                                                                      "allows_room": None, **kw})]
    assert ids() == ["a2", "b1", "a1"]
    assert ids(room_url="local://a") == ["a2", "a1"]
    assert ids(allows_room=lambda r: r == "local://b") == ["b1"]
    assert ids(before=3.0, limit=1) == ["b1"]


def test_a_session_never_ended_goes_by_its_start():
    """A session whose gateway was killed (no end) is deleted once it started longer ago than the retention."""
    db = store(retention_s=7 * DAY)
    db.write([row("killed", 1.0), Entry("killed", 2.0, "joined", {})])
    assert db.prune(1.0 + 8 * DAY) == 1 and db.count() == 0


def test_the_database_file_survives_a_restart(tmp_path: Path):
    """A file database keeps its sessions when reopened (what a page opens after the gateway restarted)."""
    path = str(tmp_path / "sub" / "history.sqlite3")
    db = HistoryStore(path, max_sessions=10, max_events=10, retention_s=DAY)
    db.write([row("s", 1.0), SessionEnd("s", 2.0, "left", {})])
    db.close()
    again = HistoryStore(path, max_sessions=10, max_events=10, retention_s=DAY)
    assert again.count() == 1


def test_history_path_default_memory_and_off():
    """history_db: empty is data_dir/history.sqlite3; :memory: as is; off is no history."""
    assert history_path(Config(data_dir="/x")) == "/x/history.sqlite3"
    assert history_path(Config(history_db=":memory:")) == ":memory:"
    assert history_path(Config(history_db="off")) is None


async def test_history_writes_in_batches_and_reads_what_was_recorded():
    """History.record never waits; a read afterwards sees every entry recorded before it."""
    history = History(Config(history_db=":memory:"))
    await history.start()
    try:
        history.session_started(row("s", 1.0))
        for i in range(50):
            history.record("s", "error", {"i": i}, at=2.0 + i)
        history.session_ended("s", "left", {"responses": {"count": 0}})
        listed = await history.list_sessions(room_url=None, before=None, limit=5, allows_room=None)
        assert listed["rooms"] == [{"room_url": "local://r", "backend": "local", "sessions": 1, "started_at": 1.0,
                                    "ended_at": listed["sessions"][0]["ended_at"]}]
        found = await history.get_session("s", 0, 100)
        assert found is not None and found["total"] == 50 and found["session"]["end_cause"] == "left"
    finally:
        await history.close()


async def test_history_off_answers_not_supported():
    """With history_db=off nothing is kept and reading is not_supported (details.config history_db)."""
    from protocol.errors import CommandError

    history = History(Config(history_db="off"))
    await history.start()
    history.record("s", "error", {})
    with pytest.raises(CommandError) as caught:
        await history.list_sessions(room_url=None, before=None, limit=5, allows_room=None)
    assert caught.value.code.value == "not_supported" and caught.value.details == {"config": "history_db"}
    await history.close()
    await asyncio.sleep(0)


def test_recorder_keeps_what_the_table_says():
    """Participants are kept as id and name, interim transcripts and levels are not, turns and telephony as they are."""
    joined = {"participant": {"id": "p1", "info": {"userName": "ann", "isLocal": False}, "media": {}}}
    assert entry("participant-joined", joined) == {"participant": {"id": "p1", "info": {"userName": "ann"}}}
    interim = {"message": {"participantId": "p1", "text": "he", "rawResponse": {"is_final": False}}}
    final = {"message": {"participantId": "p1", "text": "hello", "timestamp": "t", "rawResponse": {"is_final": True}}}
    assert entry("transcription-message", interim) is None
    assert entry("transcription-message", final) == {"message": {"participantId": "p1", "text": "hello", "timestamp": "t"}}
    assert entry("audio-levels", {"levels": []}) is None and entry("speech-started", {}) is None
    assert entry("dialout-error", {"data": {"errorMsg": "busy"}}) == {"data": {"errorMsg": "busy"}}


async def test_a_database_that_cannot_be_opened_turns_the_history_off(tmp_path: Path):
    """history_db in a place that cannot be created: the gateway goes on without history (logged), recording is a no-op."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    history = History(Config(history_db=str(blocker / "history.sqlite3")))
    await history.start()
    assert not history.enabled
    history.record("s", "error", {})
    await history.close()
