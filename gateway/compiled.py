"""Which hot-path modules run compiled (mypyc, built by setup.py) and whether a build is stale.

A compiled module is imported ahead of its ``.py``. The build records a digest of each source
it compiled (:data:`MANIFEST`); a source that no longer matches would run old code, so when
:func:`stale` names any, every hot module runs from its ``.py`` (correct and slower; the
gateway warns at start, and ``make setup`` rebuilds them). Digests, not file times, because a
wheel's installer gives every file a new time. The group is all or nothing: its compiled
modules call each other's native classes directly, through the group's runtime library
(:data:`GROUP`), which lives inside this package so that any working directory imports it.
``GATEWAY_PLAIN_PYTHON=1`` runs the ``.py`` sources in any case.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from importlib.machinery import ModuleSpec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the ``gateway`` and ``protocol`` packages (the checkout, or site-packages)."""
GROUP = "gateway._hotpath"
"""mypyc's group: its shared runtime library is ``gateway/_hotpath__mypyc.*.so``, inside the package."""
MANIFEST_NAME = "_hotpath.json"
"""Written by the build beside this module: ``{"sources": {module: sha256 of the .py compiled}}``."""
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
    "gateway.net.connection",
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


def manifest_path() -> Path:
    return ROOT / "gateway" / MANIFEST_NAME


def source_digest(name: str) -> str:
    """sha256 of a hot module's ``.py``, as the build records it."""
    return hashlib.sha256(module_source(name).read_bytes()).hexdigest()


def manifest() -> dict[str, str]:
    """The digests the build recorded, by module; empty when there is no readable manifest."""
    try:
        sources = json.loads(manifest_path().read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in sources.items()} if isinstance(sources, dict) else {}


def write_manifest(folder: Path) -> Path:
    """Record the digest of every hot module's source in ``folder/gateway`` (called by the build)."""
    path = folder / "gateway" / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sources": {name: source_digest(name) for name in HOT_MODULES}}, indent=1) + "\n")
    return path


def built_files() -> list[Path]:
    """Every file an in-place build left in the tree (extensions, the group's runtime library, the manifest)."""
    files = [so for name in HOT_MODULES for so in _extensions(name)]
    group_dir, _, group_stem = GROUP.rpartition(".")
    files += sorted((ROOT / group_dir.replace(".", "/")).glob(group_stem + "__mypyc.*.so"))
    return files + ([manifest_path()] if manifest_path().exists() else [])


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
    """Hot modules that have a compiled build whose source changed since (or was never recorded)."""
    recorded = manifest()
    return [name for name in HOT_MODULES if _extensions(name) and recorded.get(name) != source_digest(name)]


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
"""Hot modules whose build did not match their source when the gateway was imported."""

if use_source(os.environ, STALE_AT_START):
    prefer_source()
