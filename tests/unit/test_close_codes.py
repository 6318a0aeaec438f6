"""The close codes the WebSocket layer and the receive budget send are CloseCodes, marked as sent in PROTOCOL.md 10.5.

test_catalog.py checks that the table and CloseCode list the same codes.
"""

from __future__ import annotations

import re
from pathlib import Path

from protocol.constants import CloseCode

SPEC = Path(__file__).resolve().parents[2] / "protocol" / "PROTOCOL.md"

SENT_BY_THE_WEBSOCKET_LAYER = {1002, 1007, 1009, 1011}
"""Codes websockets itself fails a connection with (framing violation, bad UTF-8, too big, a handler bug)."""


def table_rows() -> dict[int, str]:
    """Close code -> its row in section 10.5."""
    text = SPEC.read_text()
    section = text.split("### 10.5 Close codes", 1)[1].split("\n### ", 1)[0]
    return {int(m.group(1)): m.group(0) for m in re.finditer(r"^\| (\d{4}) \|.*$", section, re.M)}


def test_codes_of_the_websocket_layer_and_the_budgets_are_close_codes():
    """1002 (framing), 1007, 1009, 1011 and 1013 (receive budget) are named close codes, all marked as sent."""
    codes = {int(c) for c in CloseCode}
    assert SENT_BY_THE_WEBSOCKET_LAYER | {1013} <= codes
    rows = table_rows()
    for code in SENT_BY_THE_WEBSOCKET_LAYER | {1013}:
        assert rows[code].rstrip(" |").endswith(("yes", "yes (WebSocket layer)")), rows[code]
