"""Which build is running: the package version and, where known, the git commit it was built from.

Shown by ``daily-gateway --version``, the start-up line, ``/healthz`` and the hello's
``server.version`` (``0.1.0+g1a2b3c4d5e6f``: a PEP 440 local version naming the commit).
A wheel carries the commit in ``_build.json`` (written by setup.py); a checkout asks git.
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

from . import __version__

BUILD_FILE = Path(__file__).with_name("_build.json")
"""``{"version": ..., "commit": ...}``, written into the wheel by setup.py; absent in a checkout."""
CHECKOUT = Path(__file__).resolve().parents[1]
"""The folder above the package: a git checkout in development, site-packages when installed."""


def git_commit(folder: Path) -> str | None:
    """The short commit of a git checkout at ``folder``, or None (not a checkout, no git)."""
    if not (folder / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


@functools.cache
def commit() -> str | None:
    """The commit this build came from: recorded in a wheel, else asked of git in a checkout."""
    try:
        recorded = json.loads(BUILD_FILE.read_text()).get("commit")
    except (OSError, ValueError, AttributeError):
        return git_commit(CHECKOUT)
    return str(recorded) if recorded else None


def version() -> str:
    """The package version, with ``+g<commit>`` where the commit is known."""
    found = commit()
    return f"{__version__}+g{found}" if found else __version__
