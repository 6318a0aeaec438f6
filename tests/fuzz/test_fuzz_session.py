"""Property-based tests of a live session: random and mutated frames over a real WebSocket to a real gateway.

For each example a fresh connection (joined to the room, or not) sends a hypothesis-made
sequence of text and binary frames: mutated protocol vectors, random JSON requests, random
bytes. Afterwards the connection got only well-formed, schema-valid messages with documented
error codes (never ``internal``) and, if it was closed, a documented close code; if it is
open it still answers ``ping``. A well-behaved session in the same room still works, and no
ghost of the fuzzed session stays in the room. One gateway process for the module; bounded.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import SUBPROTOCOL
from protocol.constants import CloseCode
from protocol.errors import ErrorCode
from protocol.media import encode_audio
from protocol.schema import request_types, validate_server_message
from tests.conftest import GatewayProcess, start_gateway
from tests.fuzz.mutation import mutate

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"
REQUEST_TEXTS = [v["text"].encode() for v in json.loads((VECTORS / "json.json").read_text())["requests"]]
VALID_FRAMES = [bytes.fromhex(v["hex"]) for v in json.loads((VECTORS / "binary.json").read_text())["decode"] if "expect" in v]
CODES = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL.value}
"""Documented codes a fuzzed session may see; ``internal`` (a gateway bug) fails the test."""
CLOSE_CODES = {CloseCode.NORMAL, CloseCode.INVALID_DATA, CloseCode.MESSAGE_TOO_BIG, CloseCode.PROTOCOL_VIOLATION}
"""Close codes bad input may cause (PROTOCOL.md 10.3, 10.5); 1011 or 1006 would be a crash."""
MAX_ERRORS = 6
AUDIO_OUT = {"sample_rate": 16000, "channels": 1}
READ_TIMEOUT_S = 10.0
# Requests whose valid forms start slow machinery (recognizer processes, phone calls) are fuzzed
# by their schema but kept out of the "valid vector" pool.
TYPES = [t for t in request_types() if t not in ("resume",)]


@pytest.fixture(scope="module")
def fuzz_gateway() -> Iterator[GatewayProcess]:
    """A gateway that closes after a few protocol errors in a row, so examples reach 4002 too."""
    gw = start_gateway("--max-consecutive-errors", str(MAX_ERRORS), name="gateway-fuzz")
    yield gw
    code = gw.stop()
    log = gw.log()
    assert "Traceback" not in log, f"the gateway logged a traceback while fuzzed:\n{log[-5000:]}"
    assert code == 0



edits = st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
random_request = st.builds(
    lambda rtype, rid, params: orjson.dumps({**params, "type": rtype, "id": rid}),
    st.sampled_from(TYPES),
    st.one_of(st.text(min_size=1, max_size=8), st.integers(0, 10**6)),
    st.dictionaries(st.sampled_from(["room_url", "message", "participant_id", "audio_in", "name", "settings", "x"]),
                    json_values, max_size=3),
)
text_frame = st.one_of(
    st.builds(mutate, st.sampled_from(REQUEST_TEXTS), edits, st.none() | st.integers(0, 200)),  # may be bad UTF-8
    random_request,
    st.text(max_size=60).map(str.encode),
    st.sampled_from(REQUEST_TEXTS),
)
audio = st.builds(lambda seq, n: encode_audio(1, seq, 0, AUDIO_OUT["sample_rate"], 1, bytes(2 * n)), st.integers(0, 2**32 - 1),
                  st.integers(0, 320))
binary_frame = st.one_of(
    st.builds(mutate, st.sampled_from(VALID_FRAMES), st.lists(st.tuples(st.integers(0, 27), st.integers(0, 255)), min_size=1,
                                                                 max_size=3), st.none() | st.integers(0, 64)),
    st.binary(max_size=64),
    audio,
)
frames = st.lists(st.one_of(text_frame.map(lambda b: ("text", b)), binary_frame.map(lambda b: ("binary", b))),
                  min_size=1, max_size=12)


async def read_until_reply(ws: Any, rid: str, seen: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Collect text frames until the reply to ``rid``; None if the connection closed first."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue  # media (a joined session may hear the room)
                message = orjson.loads(raw)
                seen.append(message)
                if message.get("type") == "reply" and message.get("id") == rid:
                    return message
    except websockets.ConnectionClosed:
        pass
    return None


async def request(ws: Any, rtype: str, seen: list[dict[str, Any]], **params: Any) -> dict[str, Any] | None:
    rid = f"check-{uuid.uuid4().hex[:8]}"
    await ws.send(orjson.dumps({"type": rtype, "id": rid, **params}), text=True)
    return await read_until_reply(ws, rid, seen)


def check_messages(seen: list[dict[str, Any]]) -> None:
    """Every gateway frame is schema-valid, numbered without gaps, and carries only documented codes."""
    seqs = [m["seq"] for m in seen]
    assert seqs == list(range(1, len(seqs) + 1)), f"seq gaps or repeats: {seqs}"
    for message in seen:
        validate_server_message(message)
        error = message.get("error") or (message.get("data") if message.get("event") == "error" else None)
        if error is not None:
            assert error["code"] in CODES, f"undocumented or internal error: {error}"


async def one_example(url: str, joined: bool, sequence: list[tuple[str, bytes]]) -> None:
    room = f"local://fuzz-{uuid.uuid4().hex[:8]}"
    witness_seen: list[dict[str, Any]] = []
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as witness:
        reply = await request(witness, "join", witness_seen, room_url=room, user_name="witness")
        assert reply is not None and reply["ok"], reply
        witness_id = reply["result"]["participant_id"]
        seen: list[dict[str, Any]] = []
        fuzzed_id = None
        async with websockets.connect(url, subprotocols=[SUBPROTOCOL], max_size=None) as ws:
            if joined:
                reply = await request(ws, "join", seen, room_url=room, user_name="fuzzed", audio_out=AUDIO_OUT)
                assert reply is not None and reply["ok"], reply
                fuzzed_id = reply["result"]["participant_id"]
            try:
                for kind, data in sequence:
                    await ws.send(data, text=kind == "text")
                pong = await request(ws, "ping", seen)
            except websockets.ConnectionClosed:
                pong = None
            if pong is None:
                assert ws.close_code in CLOSE_CODES, f"closed with {ws.close_code} {ws.close_reason!r}"
            else:
                assert pong["ok"], pong
                stats = await request(ws, "get-stats", seen)
                assert stats is not None and stats["ok"]
                # A valid join among the frames may still be running (requests run concurrently).
                assert stats["result"]["state"] in ("open", "joining", "joined", "observing", "left"), stats
            check_messages(seen)
        # The well-behaved session never noticed, and the fuzzed one left no ghost once closed.
        pong = await request(witness, "ping", witness_seen)
        assert pong is not None and pong["ok"]
        for _ in range(50):
            reply = await request(witness, "get-participants", witness_seen)
            assert reply is not None and reply["ok"], reply
            participants = reply["result"]["participants"]
            if fuzzed_id is None or fuzzed_id not in participants:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the closed fuzzed session {fuzzed_id} is still in the room")
        assert witness_id in participants and all(p["id"] == pid for pid, p in participants.items())
        stats = await request(witness, "get-stats", witness_seen)
        assert stats is not None and stats["result"]["state"] == "joined"
        check_messages(witness_seen)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(joined=st.booleans(), sequence=frames)
def test_random_frames_never_break_a_session_or_its_room(fuzz_gateway, joined, sequence):
    """Random and mutated frames get documented errors or close codes; the room's other session and the gateway go on."""
    asyncio.run(one_example(fuzz_gateway.url, joined, sequence))
    assert fuzz_gateway.process.poll() is None, "the gateway died"
