"""Log lines: the JSON format, and the session, room and request id carried through the context into tasks."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from gateway import logs


class Subject:
    """Stands in for a session (or the link serving one): what a record is about."""

    def __init__(self, session_id: str, room: str | None) -> None:
        self.session_id, self.room = session_id, room

    def log_fields(self) -> tuple[str, str | None]:
        return self.session_id, self.room


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    """A logger writing JSON lines through the gateway's filter and formatter into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger(f"tests.logs.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_object_with_its_fields(captured):
    """time (UTC, ms, Z), level, logger, event; session, room and request id only when known; a traceback as exc."""
    logger, stream = captured
    logger.info("plain %s", "line")
    try:
        raise ValueError("boom\nwith a newline")
    except ValueError:
        logger.exception("failed")
    plain, failed = lines(stream)
    assert set(plain) == {"time", "level", "logger", "event"}
    assert plain["event"] == "plain line" and plain["level"] == "info" and plain["logger"] == logger.name
    assert plain["time"].endswith("Z") and len(plain["time"]) == len("2026-12-07T10:15:02.123Z")
    assert failed["level"] == "error" and "ValueError: boom" in failed["exc"]
    assert len(stream.getvalue().splitlines()) == 2, "a record spilled over more than one line"


async def test_request_context_reaches_the_tasks_it_starts_and_nothing_else(captured):
    """run_for_request: records in it and in tasks it creates carry session, room and request id; outside, none."""
    logger, stream = captured
    subject = Subject("session-1", "local://room")
    tasks: list[asyncio.Task[None]] = []

    async def handler() -> None:
        await asyncio.sleep(0)
        logger.info("in the request's task")

    def dispatch() -> None:
        logger.info("while dispatching")
        tasks.append(asyncio.get_running_loop().create_task(handler()))

    logs.run_for_request(subject, "req-9", dispatch)
    logger.info("after dispatching")
    await asyncio.gather(*tasks)
    dispatched, after, in_task = lines(stream)
    for record in (dispatched, in_task):
        assert (record["session_id"], record["room"], record["request_id"]) == ("session-1", "local://room", "req-9")
    assert "session_id" not in after and "request_id" not in after


async def test_the_room_is_read_when_logging(captured):
    """The subject's room is read at each record, so records after a join name the room joined."""
    logger, stream = captured
    subject = Subject("s", None)

    async def connection() -> None:
        logs.serving(subject)
        logger.info("connected")
        subject.room = "local://joined"
        logger.info("joined")

    await asyncio.create_task(connection())
    connected, joined = lines(stream)
    assert "room" not in connected and connected["session_id"] == "s"
    assert joined["room"] == "local://joined"


def test_configure_refuses_an_unknown_format():
    """log_format is text or json; anything else is a configuration error (the CLI exits 2)."""
    with pytest.raises(ValueError, match="log_format"):
        logs.configure("info", "yaml")
