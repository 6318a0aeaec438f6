"""JSON text frames: requests (client -> gateway), hello / reply / event / error (gateway -> client).

Wire shapes (PROTOCOL.md, "Text frames")::

    request  {"type": "<request>", "id": "<client id>", ...params}
    hello    {"type": "hello", "seq": 1, "protocol": ..., "session_id": ..., "resume_token": ..., "limits": {...}, ...}
    reply    {"type": "reply", "seq": n, "id": "<client id>", "ok": true,  "result": {...}}
             {"type": "reply", "seq": n, "id": "<client id>", "ok": false, "error": {"code", "message", "details"?}}
    event    {"type": "event", "seq": n, "event": "<name>", "data": {...}}
    error    {"type": "error", "seq": n, "error": {...}}      an error not tied to a request (bad binary frame, bad JSON)

Every gateway -> client text frame carries ``seq``, increasing by one per frame from 1 (the hello).

Requests nest at most :data:`~protocol.constants.MAX_JSON_DEPTH` levels (PROTOCOL.md, "Security"): the
JSON parser would take 1024, but the encoder writes only 254, and a value accepted here is sent on
to others wrapped in events and replies, so it must always encode again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .constants import MAX_JSON_DEPTH
from .errors import InvalidParams, MalformedJSON, NotAnObject, ProtocolError, TooLarge

MAX_ID_LENGTH = 128


@dataclass(slots=True)
class Request:
    """A decoded client request. ``params`` holds every field but ``type`` and ``id``."""

    type: str
    id: str
    params: dict[str, Any]


@dataclass(slots=True)
class Hello:
    seq: int
    protocol: str
    version: int
    session_id: str
    server: dict[str, Any]
    limits: dict[str, Any]
    capabilities: dict[str, Any]
    resume_token: str = ""
    """Secret for ``resume`` (PROTOCOL.md, "Resume"); empty if the hello had none."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields this codec does not know (a later gateway's), kept rather than refused."""


@dataclass(slots=True)
class Reply:
    seq: int
    id: str | None
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class Event:
    seq: int
    event: str
    data: dict[str, Any]


@dataclass(slots=True)
class ErrorMessage:
    seq: int
    error: dict[str, Any]


ServerMessage = Hello | Reply | Event | ErrorMessage


def _utf8_size(data: str | bytes | bytearray | memoryview) -> int:
    """Bytes of ``data`` on the wire: a ``str`` counts as its UTF-8 encoding, not its characters."""
    if not isinstance(data, str):
        return memoryview(data).nbytes
    if data.isascii():
        return len(data)
    return len(data.encode("utf-8", "surrogatepass"))


def _loads(data: str | bytes | bytearray | memoryview, max_bytes: int | None) -> Any:
    # A str cannot be shorter in UTF-8 than in characters: only measure when it could be over.
    if max_bytes is not None and len(data) * (4 if isinstance(data, str) else 1) > max_bytes:
        size = _utf8_size(data)
        if size > max_bytes:
            raise TooLarge(f"text frame of {size} bytes exceeds max_message_bytes {max_bytes}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"text frame is not valid JSON: {exc}") from None


def nesting_overflow(obj: dict[str, Any], max_depth: int) -> str | None:
    """The top-level key of ``obj`` under which arrays and objects nest deeper than ``max_depth`` (``obj`` is level 1).

    Iterative, so a hostile depth costs no recursion; None when everything fits.
    """
    for key, value in obj.items():
        if not isinstance(value, dict | list):
            continue
        stack: list[tuple[Any, int]] = [(value, 2)]
        while stack:
            node, depth = stack.pop()
            if depth > max_depth:
                return key
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None


def _check_depth(data: str | bytes | bytearray | memoryview, obj: dict[str, Any], rid: str | None,
                 max_depth: int) -> None:
    # Fewer opening brackets than the limit (counted in C, strings included) cannot nest past it.
    raw = data if isinstance(data, str | bytes) else bytes(data)
    brackets = raw.count("[") + raw.count("{") if isinstance(raw, str) else raw.count(b"[") + raw.count(b"{")
    if brackets < max_depth:
        return
    key = nesting_overflow(obj, max_depth)
    if key is not None:
        raise InvalidParams(
            f"{key} nests arrays and objects deeper than {max_depth} levels (max_json_depth)",
            details={"field": key, "max_depth": max_depth}, request_id=rid,
        )


def decode_request(data: str | bytes | bytearray | memoryview, *, max_bytes: int | None = None,
                   max_depth: int = MAX_JSON_DEPTH) -> Request:
    """Parse a client text frame into a :class:`Request` (envelope only; see ``schema.validate_request``).

    Raises:
        TooLarge: over ``max_bytes``.
        MalformedJSON: not JSON.
        NotAnObject: not an object, or no string ``type``.
        InvalidParams: missing or bad ``id`` (``request_id`` is None then); arrays and objects nested
            deeper than ``max_depth`` (``details.field``: the top-level field holding them).
    """
    obj = _loads(data, max_bytes)
    if not isinstance(obj, dict):
        raise NotAnObject(f"a request must be a JSON object, got {type(obj).__name__}")
    raw_id: Any = obj.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    # Answer with a reply only when the id is one the client could have sent validly.
    rid: str | None = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= MAX_ID_LENGTH else None
    _check_depth(data, obj, rid, max_depth)
    rtype = obj.pop("type", None)
    obj.pop("id", None)
    if not isinstance(rtype, str) or not rtype:
        raise NotAnObject("a request needs a non-empty string 'type'", request_id=rid)
    if rid is None:
        raise InvalidParams(
            f"request '{rtype}' needs an 'id': a non-empty string of at most {MAX_ID_LENGTH} characters",
            details={"field": "id"},
        )
    return Request(rtype, rid, obj)


def encode_request(rtype: str, rid: str, params: dict[str, Any] | None = None) -> bytes:
    """Serialize a request (clients)."""
    msg: dict[str, Any] = {"type": rtype, "id": rid}
    if params:
        msg.update(params)
    return orjson.dumps(msg)


def encode_hello(
    seq: int,
    *,
    protocol: str,
    version: int,
    session_id: str,
    resume_token: str,
    server: dict[str, Any],
    limits: dict[str, Any],
    capabilities: dict[str, Any],
    **extra: Any,
) -> bytes:
    return orjson.dumps(
        {
            "type": "hello",
            "seq": seq,
            "protocol": protocol,
            "version": version,
            "session_id": session_id,
            "resume_token": resume_token,
            "server": server,
            "limits": limits,
            "capabilities": capabilities,
            **extra,
        }
    )


def encode_result(seq: int, rid: str, result: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"type": "reply", "seq": seq, "id": rid, "ok": True, "result": result or {}})


def encode_failure(seq: int, rid: str | None, error: ProtocolError) -> bytes:
    return orjson.dumps({"type": "reply", "seq": seq, "id": rid, "ok": False, "error": error.to_dict()})


def encode_event(seq: int, name: str, data: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps(
        {"type": "event", "seq": seq, "event": name, "data": data or {}},
        option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY,
    )


def encode_error(seq: int, error: ProtocolError) -> bytes:
    return orjson.dumps({"type": "error", "seq": seq, "error": error.to_dict()})


def decode_server_message(data: str | bytes | bytearray | memoryview) -> ServerMessage:
    """Parse a gateway text frame (clients).

    Raises:
        MalformedJSON, NotAnObject: the gateway sent something this version cannot read.
    """
    obj = _loads(data, None)
    seq = obj.get("seq") if isinstance(obj, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool):  # JSON true is not a sequence number
        raise NotAnObject("a server message must be an object with an integer 'seq'")
    kind = obj.get("type")
    if kind == "event" and isinstance(obj.get("event"), str):
        data_ = obj.get("data")
        return Event(seq, obj["event"], data_ if isinstance(data_, dict) else {})
    if kind == "reply" and isinstance(obj.get("ok"), bool):
        return Reply(seq, obj.get("id"), obj["ok"], obj.get("result"), obj.get("error"))
    if kind == "error" and isinstance(obj.get("error"), dict):
        return ErrorMessage(seq, obj["error"])
    if kind == "hello":
        known = {"type", "seq", "protocol", "version", "session_id", "resume_token", "server", "limits", "capabilities"}
        token = obj.get("resume_token")
        return Hello(
            seq,
            obj.get("protocol", ""),
            obj.get("version", 0),
            obj.get("session_id", ""),
            obj.get("server", {}),
            obj.get("limits", {}),
            obj.get("capabilities", {}),
            resume_token=token if isinstance(token, str) else "",
            extra={k: v for k, v in obj.items() if k not in known},
        )
    raise NotAnObject(f"unknown server message type {kind!r}")
