"""The wheel's package list (pyproject.toml) names every package of the source tree, so an installed gateway imports all of it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_the_gateway_and_protocol_is_in_the_wheel():
    """Each folder with an __init__.py under gateway/ and protocol/ is listed in [tool.setuptools] packages."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("gateway", "protocol")
        for init in (ROOT / top).rglob("__init__.py")
        if "_web" not in init.parts and "__pycache__" not in init.parts
    }
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"
