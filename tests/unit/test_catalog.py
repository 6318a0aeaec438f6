"""The catalog agrees with itself: schemas, handlers, roles, PROTOCOL.md tables, JS types, error and close codes.

Adding a request, event, error code or close code means touching several places
(docs/ARCHITECTURE.md, "Rules"); these tests fail when one of them is forgotten.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import gateway.handlers
import protocol
from gateway.auth import ROLES
from protocol.constants import DEFAULT_LIMITS, CloseCode
from protocol.errors import ErrorCode
from protocol.schema import event_names, load_schema, request_types

SPEC_PATH = Path(protocol.__file__).resolve().parent / "PROTOCOL.md"
SPEC = SPEC_PATH.read_text("utf-8")
NAME = re.compile(r"^`([^`]+)`$")
WIRE_TS = SPEC_PATH.parents[1] / "clients" / "js" / "src" / "wire.ts"
HANDLERS = gateway.handlers.HANDLERS


def table(header: str) -> list[list[str]]:
    """The body rows (cells stripped) of the one PROTOCOL.md table whose header row starts with ``header``."""
    lines = SPEC.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"PROTOCOL.md needs exactly one table starting {header!r}, found {len(starts)}"
    rows = []
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def names(rows: list[list[str]]) -> list[str]:
    """The backticked names of the first column."""
    out = []
    for row in rows:
        match = NAME.match(row[0])
        assert match, f"first cell {row[0]!r} is not a single `name`"
        out.append(match.group(1))
    return out


def test_every_request_schema_has_a_handler_and_back():
    """The request types with a schema file are exactly the types with a handler in gateway.handlers.HANDLERS."""
    assert set(request_types()) == set(HANDLERS)


def test_handlers_are_found_in_every_module_of_the_package():
    """Discovery imports every module of gateway/handlers: each one registers at least one request, none is missed."""
    folder = Path(gateway.handlers.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    registering = {h.run.__module__.rsplit(".", 1)[1] for h in HANDLERS.values()}
    assert registering == modules


def test_each_handler_is_declared_as_it_runs():
    """A handler declares a known role; in_order handlers are plain functions, the others coroutine functions."""
    for rtype, entry in HANDLERS.items():
        assert entry.type == rtype and entry.role in ROLES, rtype
        assert inspect.iscoroutinefunction(entry.run) is not entry.in_order, rtype


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([a-z][a-z-]*)`", text)


def test_role_table_of_the_spec_is_the_registry():
    """PROTOCOL.md's role claim row lists the observer's and the admin's requests exactly as the handlers declare them."""
    rows = {row[0]: row[1] for row in table("| Claim | Meaning |")}
    observer, rest = rows["`role`"].split("`bot`", 1)
    _, admin = rest.split("`admin`", 1)
    by_role = {role: sorted(t for t, h in HANDLERS.items() if h.role == role) for role in ROLES}
    assert sorted(_backticked(observer.split("`observer`", 1)[1])) == by_role["observer"]
    assert sorted(_backticked(admin)) == by_role["admin"]


def test_every_room_requests_of_the_spec_are_the_registry():
    """PROTOCOL.md 13.2 names exactly the requests whose handler needs a credential for every room (room *)."""
    sentence = re.search(r"`room_url` is outside `room`; (.*?) unless `room` is `\*`", SPEC, re.S)
    assert sentence, "PROTOCOL.md 13.2 no longer says which requests need room *"
    assert sorted(_backticked(sentence.group(1))) == sorted(t for t, h in HANDLERS.items() if h.every_room)


def test_generated_js_types_know_every_request():
    """The JS SDK's generated wire.ts maps exactly the registered request types (RequestParamsMap, KNOWN_REQUESTS)."""
    wire = WIRE_TS.read_text("utf-8")
    body = re.search(r"export interface RequestParamsMap \{(.*?)\n\}", wire, re.S)
    known = re.search(r"KNOWN_REQUESTS: readonly RequestType\[\] = \[(.*?)\];", wire, re.S)
    assert body and known, "wire.ts has no RequestParamsMap or KNOWN_REQUESTS: regenerate it (make js-types)"
    mapped = re.findall(r"^\s+'?([a-z][a-z-]*)'?: \w+Params;", body.group(1), re.M)
    assert sorted(mapped) == sorted(HANDLERS)
    assert sorted(re.findall(r"'([a-z][a-z-]*)'", known.group(1))) == sorted(HANDLERS)


def test_requests_table_lists_every_request_once():
    """PROTOCOL.md's request table has one row per request type, and no row for a type without a schema."""
    listed = names(table("| Type | Parameters | Result | Errors |"))
    assert len(listed) == len(set(listed)), "a request is listed twice"
    assert sorted(listed) == request_types()


@pytest.mark.parametrize("rtype", request_types())
def test_every_request_has_a_section_with_an_example(rtype):
    """Each request has its own ### section in PROTOCOL.md with an example request of that type."""
    match = re.search(rf"^### `{re.escape(rtype)}`\n(.*?)(?=^##)", SPEC + "\n##", re.M | re.S)
    assert match, f"PROTOCOL.md has no '### `{rtype}`' section"
    examples = [json.loads(body) for body in re.findall(r"^```json\n(.*?)^```", match.group(1), re.M | re.S)]
    assert any(e.get("type") == rtype and "id" in e for e in examples), f"the {rtype} section has no example request"


def test_events_table_lists_every_event_once():
    """PROTOCOL.md's event table has one row per event schema, and no row for an event without a schema."""
    listed = names(table("| Event | When | Data |"))
    assert len(listed) == len(set(listed)), "an event is listed twice"
    assert sorted(listed) == event_names()


def test_every_error_code_is_documented():
    """The error code table of PROTOCOL.md lists every ErrorCode, and nothing else."""
    assert sorted(names(table("| Code | Meaning | Sent when |"))) == sorted(code.value for code in ErrorCode)


def test_error_code_enum_matches_error_code():
    """common.json's error_code (the codes the gateway's own output may carry) equals ErrorCode exactly."""
    common = load_schema("common.json")["$defs"]
    assert sorted(common["error_code"]["enum"]) == sorted(code.value for code in ErrorCode)
    assert common["error_object"]["properties"]["code"]["x-strict"] == {"$ref": "#/$defs/error_code"}
    assert load_schema("events/error.json")["$ref"] == "../common.json#/$defs/error_object", "the error event is an error object"


def test_every_close_code_is_documented():
    """The close code table of PROTOCOL.md lists every CloseCode with its number and name, and nothing else."""
    rows = table("| Code | Name | When |")
    documented = {(int(row[0]), names([row[1:]])[0]) for row in rows}
    assert documented == {(int(code), code.name) for code in CloseCode}
    assert len(rows) == len(CloseCode)


def test_limits_table_matches_default_limits():
    """The limits table of PROTOCOL.md names every hello limit with its default value, as the hello schema requires."""
    rows = table("| Limit | Default | Meaning |")
    documented = {names([row])[0]: int(row[1].split()[0]) for row in rows}
    assert documented == DEFAULT_LIMITS
    assert set(load_schema("server.json")["$defs"]["hello"]["properties"]["limits"]["required"]) == set(DEFAULT_LIMITS)


REFERENCE = re.compile(r'PROTOCOL\.md[,:]? ?\(?((?:"[^"]+"(?:, )?)+)')
SOURCES = ("protocol", "gateway", "clients/python", "clients/js/src")


def test_code_references_name_spec_sections():
    """Every `PROTOCOL.md, "Section"` reference in the code names a heading that exists in PROTOCOL.md."""
    root = SPEC_PATH.parents[1]
    headings = [line.lstrip("#").replace("`", "").strip().lower() for line in SPEC.splitlines() if line.startswith("#")]
    missing = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".py", ".ts") or "node_modules" in path.parts:
                continue
            for match in REFERENCE.finditer(path.read_text("utf-8")):
                for section in re.findall(r'"([^"]+)"', match.group(1)):
                    if not any(section.lower() in heading for heading in headings):
                        missing.append(f"{path.relative_to(root)}: {section!r}")
    assert not missing, "references to sections PROTOCOL.md does not have:\n" + "\n".join(missing)
