"""Configuration: environment parsing, flags, and the README table kept in sync with the code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.cli import build_parser
from gateway.config import Config, field_docs

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- config-table: generated", "<!-- /config-table -->"


def config_table() -> str:
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for name, default, doc in field_docs():
        shown = ",".join(default) if isinstance(default, tuple) else default
        rows.append(f"| `--{name.replace('_', '-')}` | `GATEWAY_{name.upper()}` | `{shown}` | {doc} |")
    return "\n".join(rows)


def test_readme_config_table_matches_code():
    """README's configuration table lists every Config field with its current default and doc (REGEN_README=1 rewrites it)."""
    text = README.read_text()
    head, rest = text.split(START, 1)
    marker_line, rest = rest.split("\n", 1)
    _, tail = rest.split(END, 1)
    expected = f"{head}{START}{marker_line}\n{config_table()}\n{END}{tail}"
    if text != expected:
        if os.environ.get("REGEN_README"):
            README.write_text(expected)
        else:
            raise AssertionError("README config table is stale: run `REGEN_README=1 pytest tests/unit/test_config.py`")


def test_every_field_has_a_doc():
    """Every setting is documented (the table and --help show it)."""
    assert all(doc for _, _, doc in field_docs())


def test_env_parsing_types():
    """GATEWAY_* values are parsed to the field's type: int, float, bool and comma lists."""
    config = Config.from_env(
        {"GATEWAY_PORT": "9000", "GATEWAY_DEMO": "yes", "GATEWAY_SHUTDOWN_TIMEOUT": "2.5", "GATEWAY_BACKENDS": "local, daily"}
    )
    assert (config.port, config.demo, config.shutdown_timeout, config.backends) == (9000, True, 2.5, ("local", "daily"))


def test_overrides_beat_environment():
    """Explicit overrides (flags) win over the environment; None overrides are ignored."""
    config = Config.from_env({"GATEWAY_PORT": "9000"}, port=9100, host=None)
    assert config.port == 9100 and config.host == "127.0.0.1"


def test_bad_environment_value_raises():
    """A value that does not parse raises ValueError (the CLI turns it into exit code 2)."""
    with pytest.raises(ValueError):
        Config.from_env({"GATEWAY_PORT": "eighty"})


def test_every_field_is_a_flag():
    """Each Config field has a --flag in the CLI."""
    parser = build_parser()
    flags = {a.dest for a in parser._actions}
    for name, _, _ in field_docs():
        assert name in flags
