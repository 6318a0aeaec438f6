"""Build steps pyproject.toml cannot declare: the compiled hot path and the web files in the wheel.

- ``build_ext`` compiles the per-frame hot path (``gateway.compiled.HOT_MODULES``) with mypyc,
  into the wheel (beside the sources, as an installed package has them) or, for a checkout
  (``make setup``: ``--build-lib build/hotpath``), into ``build/hotpath/``, which
  ``gateway.compiled`` loads from; it records the digest of each source it compiled
  (``<build>/gateway/_hotpath.json``). Where it cannot (no C compiler, no mypyc, a type error,
  ``DAILY_GATEWAY_COMPILE=0``) it warns and the gateway runs the same modules as plain Python.
  Editable installs compile nothing: ``make setup`` builds.
- ``build_py`` puts the dashboard (``clients/dashboard``) and the built JS SDK
  (``clients/js/dist``, from ``make js-build``) into the package as ``gateway/_web/``, and the
  commit the wheel was built from (git's, or ``DAILY_GATEWAY_COMMIT``) into ``gateway/_build.json``, so an installed wheel is the
  whole product and depends on no checkout.

``make wheel`` builds the wheel (README, "Install elsewhere").
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

WEB_FILES = {"dashboard": ROOT / "clients" / "dashboard", "sdk": ROOT / "clients" / "js" / "dist"}
"""What ``gateway/_web/<name>`` holds in a built package (gateway/http.py serves it)."""


def compile_wanted() -> bool:
    return os.environ.get("DAILY_GATEWAY_COMPILE", "1") not in ("", "0")


class HotPathDistribution(Distribution):
    """Tags the wheel for this platform: it carries C extensions (when they build)."""

    def has_ext_modules(self) -> bool:
        return compile_wanted()


class BuildHotPath(build_ext):
    """mypyc-compiles the hot path; a failure leaves a working plain-Python package."""

    BUILDING = frozenset({"build_ext", "build", "bdist_wheel", "install"})
    """Commands that really compile; setuptools also finalizes this command to list sources for
    metadata (egg_info, dist_info, sdist) and in editable installs, where nothing is compiled."""

    def finalize_options(self) -> None:
        # The extensions exist only once mypyc has generated their C, so make them before setuptools
        # prepares its list, and only when a build really runs.
        building = self.BUILDING.intersection(self.distribution.commands)
        if building and not self.distribution.ext_modules and compile_wanted() and not self.editable_mode:
            self.distribution.ext_modules = self._generate()
        super().finalize_options()

    def _generate(self) -> list:
        try:
            from mypyc.build import mypycify  # a build requirement (mypy ships mypyc)

            from gateway import compiled

            os.chdir(ROOT)  # mypyc names modules from paths relative to the project
            sources = [str(compiled.module_source(name).relative_to(ROOT)) for name in compiled.HOT_MODULES]
            return list(mypycify(sources, opt_level="3", group_name=compiled.GROUP,
                                 target_dir=str(ROOT / "build" / "mypyc")))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - mypyc exits on type errors: plain Python, loudly
            _not_compiled(exc)
            return []

    def run(self) -> None:
        if not self.extensions:
            print("daily-gateway: hot path not compiled (editable install, DAILY_GATEWAY_COMPILE=0 or no mypyc)",
                  file=sys.stderr)
            return
        from gateway import compiled

        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - a compiler error leaves a plain-Python package
            _not_compiled(exc)
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            return
        compiled.write_manifest(ROOT if self.inplace else Path(self.build_lib))


def _not_compiled(exc: BaseException) -> None:
    print(f"daily-gateway: WARNING: hot path not compiled ({type(exc).__name__}: {exc}); "
          "the gateway runs it as plain Python", file=sys.stderr)


class BuildWithWebFiles(build_py):
    """Adds the dashboard, the built JS SDK and the build's commit to the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # a checkout serves clients/ directly
        package = Path(self.build_lib) / "gateway"
        for name, source in WEB_FILES.items():
            target = package / "_web" / name
            shutil.rmtree(target, ignore_errors=True)
            if not (source / "index.js").exists() and not (source / "index.html").exists():
                print(f"daily-gateway: WARNING: {source} is missing or not built (run `make wheel`); "
                      f"the package will not serve /{name}/", file=sys.stderr)
                continue
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", "*.tsbuildinfo"))
        from gateway.build_info import git_commit

        commit = os.environ.get("DAILY_GATEWAY_COMMIT") or git_commit(ROOT)  # a copy without .git can say it
        (package / "_build.json").write_text(json.dumps({"commit": commit}) + "\n")


setup(distclass=HotPathDistribution, cmdclass={"build_ext": BuildHotPath, "build_py": BuildWithWebFiles})
