"""Compile the per-frame hot path with mypyc into build/hotpath/, outside the sources (``make setup``).

The gateway's per-frame work (frame parsing and writing, the link, the session's media,
playout pacing, room fan-out, framing, level, VAD, outbox) is many small Python calls;
compiled by mypyc the same typed code runs with about 40 % less CPU per stream
(bench/README.md, "Compiled hot path"). The build itself is setup.py's ``build_ext`` (the
same one a wheel runs), here with ``--build-lib build/hotpath``: ``gateway.compiled``'s import
hook then loads each extension from there while its source is unchanged, and ``gateway/``
holds only sources. Without a C compiler the gateway runs the same modules as plain Python.
``gateway.compiled`` reports which modules are compiled and whether any build is stale.

    .venv/bin/python scripts/build_fast.py [--clean]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.compiled import build_dir, built_files  # noqa: E402


def clean() -> None:
    """Remove the build (and what an in-place build of before left beside the sources)."""
    for path in built_files():
        path.unlink()
    shutil.rmtree(build_dir(), ignore_errors=True)
    shutil.rmtree(ROOT / "build" / "fast", ignore_errors=True)


def build() -> int:
    clean()
    target = build_dir().relative_to(ROOT)
    command = [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(target), "--build-temp",
               "build/fast/temp"]
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode != 0:
        return done.returncode
    check = subprocess.run([sys.executable, "-c", "from gateway import compiled; print(compiled.summary())"],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    print(check.stdout.strip() or check.stderr.strip())
    return 0 if "compiled with mypyc" in check.stdout else 1


if __name__ == "__main__":
    if "--clean" in sys.argv[1:]:
        clean()
        sys.exit(0)
    sys.exit(build())
