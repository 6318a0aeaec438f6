"""Which hot-path modules run compiled (scripts/build_fast.py, mypyc) and whether a build is stale.

A compiled module is imported ahead of its ``.py``; one built before the source last changed
would run old code, so when :func:`stale` names any, every hot module runs from its ``.py``
(correct and slower; the gateway warns at start, and ``make setup`` rebuilds them). The group
is all or nothing: its compiled modules call each other's native classes directly.
``GATEWAY_PLAIN_PYTHON=1`` runs the ``.py`` sources in any case.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Mapping
from importlib.machinery import ModuleSpec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUP = "gateway_fast"
"""mypyc's shared runtime library for the group: ``gateway_fast__mypyc.*.so`` at the project root."""
HOT_MODULES = (
    "protocol.media",
    "gateway.media.framing",
    "gateway.media.level",
    "gateway.media.vad",
    "gateway.media.playout",
    "gateway.tracks",
    "gateway.outbox",
    "gateway.backends.local.room",
    "gateway.backends.local.transport",
    "gateway.connection",
    "gateway.session",
)
"""The per-frame path, end to end: the connection's frame parser and writer, the session's
media handlers, frame encode / decode, playout pacing, the local room's fan-out and transport,
per-client tracks (framing, level, VAD) and the outbox."""


def module_source(name: str) -> Path:
    return ROOT.joinpath(*name.split(".")).with_suffix(".py")


def _extensions(name: str) -> list[Path]:
    source = module_source(name)
    return sorted(source.parent.glob(source.stem + ".cpython-*.so"))


def built_files() -> list[Path]:
    """Every file a build left in the tree (extensions and the group's runtime library)."""
    files = [so for name in HOT_MODULES for so in _extensions(name)]
    return files + sorted(ROOT.glob(GROUP + "__mypyc.*.so"))


def compiled_modules() -> list[str]:
    """Hot modules that import as extensions in this interpreter (imported or not yet)."""
    out = []
    for name in HOT_MODULES:
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module is not None else None
        if origin is None:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
        if origin is not None and not origin.endswith(".py"):
            out.append(name)
    return out


def summary() -> str:
    """What this interpreter runs the hot path as, in words (the gateway's log line, bench results)."""
    done = compiled_modules()
    return f"compiled with mypyc ({len(done)} of {len(HOT_MODULES)} modules)" if done else "plain Python"


def stale() -> list[str]:
    """Hot modules whose compiled build is older than their source."""
    out = []
    for name in HOT_MODULES:
        source = module_source(name)
        if any(so.stat().st_mtime < source.stat().st_mtime for so in _extensions(name)):
            out.append(name)
    return out


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the hot modules' ``.py`` sources ahead of any compiled build."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname in HOT_MODULES:
            return importlib.util.spec_from_file_location(fullname, module_source(fullname))
        return None


def prefer_source() -> None:
    """Import the hot modules as plain Python from now on, even where a build exists.

    For ``GATEWAY_PLAIN_PYTHON=1`` (an escape hatch, and before / after comparisons); call
    it before the modules are first imported.
    """
    if not any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())


def use_source(env: Mapping[str, str], stale_modules: list[str]) -> bool:
    """Whether the hot modules must run from source: asked to, or a build is older than its source."""
    return env.get("GATEWAY_PLAIN_PYTHON", "") not in ("", "0") or bool(stale_modules)


STALE_AT_START = stale()
"""Hot modules whose build was older than their source when the gateway was imported."""

if use_source(os.environ, STALE_AT_START):
    prefer_source()
