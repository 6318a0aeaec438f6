"""The mypyc-compiled hot path (scripts/build_fast.py): built in CI, outside the sources, fresh, and equal to its source."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import random
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gateway import compiled

ROOT = Path(__file__).resolve().parents[2]
BUILT = (ROOT / "build" / "fast" / ".built").exists()


def _plain(name: str) -> ModuleType:
    """The module loaded from its .py source under another name, whatever is compiled."""
    package, _, stem = name.rpartition(".")  # inside its package, so relative imports resolve
    spec = importlib.util.spec_from_file_location(f"{package}._plain_{stem}", compiled.module_source(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _fields(frame: object) -> list[object]:
    return [bytes(v) if isinstance(v, memoryview) else v
            for v in (getattr(frame, f.name) for f in dataclasses.fields(frame))]  # type: ignore[arg-type]


def test_makefile_compiles_exactly_the_hot_modules():
    """The Makefile's FAST_SOURCES (what triggers a rebuild) names the modules gateway.compiled lists."""
    text = (ROOT / "Makefile").read_text()
    block = re.search(r"^FAST_SOURCES\s*:=(.*?)^FAST_STAMP", text, re.S | re.M)
    assert block is not None
    listed = block.group(1).replace("\\", " ").split()
    assert sorted(listed) == sorted(str(compiled.module_source(n).relative_to(ROOT)) for n in compiled.HOT_MODULES)


@pytest.mark.skipif(not (BUILT or os.environ.get("CI")), reason="hot path not built here (make setup builds it)")
def test_every_hot_module_runs_compiled_and_fresh():
    """After `make setup` (always in CI) every hot module imports as a mypyc extension no older than its source."""
    assert compiled.compiled_modules() == list(compiled.HOT_MODULES)
    assert compiled.stale() == []
    assert compiled.summary() == f"compiled with mypyc ({len(compiled.HOT_MODULES)} of {len(compiled.HOT_MODULES)} modules)"


def test_stale_names_a_build_whose_source_changed(tmp_path, monkeypatch):
    """A compiled module whose .py no longer has the digest the build recorded is stale; file times do not matter."""
    monkeypatch.setattr(compiled, "ROOT", tmp_path)
    monkeypatch.setattr(compiled, "HOT_MODULES", ("pkg.mod",))
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "mod.py"
    source.write_text("x = 1\n")
    so = tmp_path / "pkg" / "mod.cpython-311-x86_64-linux-gnu.so"
    so.write_bytes(b"")
    assert compiled.stale() == ["pkg.mod"]  # a build with no manifest is never trusted
    compiled.write_manifest(tmp_path)
    os.utime(so, (1_000, 1_000))  # older than its source, as after a wheel is unpacked: still fresh
    assert compiled.stale() == []
    source.write_text("x = 2\n")
    assert compiled.stale() == ["pkg.mod"]
    so.unlink()
    assert compiled.stale() == []  # nothing compiled, nothing stale


def test_stale_works_the_same_for_a_build_outside_the_sources(tmp_path, monkeypatch):
    """A checkout's build in build/hotpath is the one looked at (not the package folder): fresh, then stale once edited."""
    monkeypatch.setattr(compiled, "ROOT", tmp_path)
    monkeypatch.setattr(compiled, "HOT_MODULES", ("pkg.mod",))
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "mod.py"
    source.write_text("x = 1\n")
    built = compiled.build_dir() / "pkg"
    built.mkdir(parents=True)
    (built / "mod.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert compiled.build_root() == tmp_path  # nothing recorded there yet: not a build
    compiled.write_manifest(compiled.build_dir())
    assert compiled.build_root() == compiled.build_dir() and compiled.stale() == []
    source.write_text("x = 2\n")
    assert compiled.stale() == ["pkg.mod"]
    assert compiled.built_files() == []  # nothing beside the sources for --clean to remove


@pytest.mark.skipif(not (BUILT or os.environ.get("CI")), reason="hot path not built here (make setup builds it)")
def test_the_checkout_holds_only_sources_and_the_build_is_loaded_from_build_hotpath():
    """After `make setup` no extension sits beside a source; every hot module and the group library load from build/hotpath."""
    import json
    import subprocess

    beside = [str(p.relative_to(ROOT)) for folder in ("gateway", "protocol") for p in (ROOT / folder).rglob("*.so")]
    assert beside == []
    script = ("import json, sys, importlib, gateway; from gateway import compiled; "
              "mods = [importlib.import_module(n) for n in compiled.HOT_MODULES]; "
              "print(json.dumps([m.__file__ for m in mods] + [sys.modules[compiled.GROUP + '__mypyc'].__file__]))")
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_PLAIN_PYTHON"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    files = json.loads(out.stdout)
    assert all(Path(f).is_relative_to(ROOT / "build" / "hotpath") and not f.endswith(".py") for f in files), files


def test_compiled_frame_codec_framer_and_level_match_the_source():
    """Frame encode/decode, the framer and the RMS level give identical results compiled and as plain Python."""
    from gateway.media import framing, level
    from protocol import media

    plain_media, plain_framing, plain_level = (_plain(n) for n in ("protocol.media", "gateway.media.framing",
                                                                   "gateway.media.level"))
    rng = random.Random(8)
    for _ in range(50):
        pcm = rng.randbytes(2 * rng.randrange(1, 700))
        args = (rng.randrange(1, 2**16), rng.randrange(2**32), rng.randrange(2**50), 16000, 1, pcm)
        frame = media.encode_audio(*args)
        assert frame == plain_media.encode_audio(*args)
        assert _fields(media.decode_frame(frame)) == _fields(plain_media.decode_frame(frame))
        assert level.rms_level(pcm) == plain_level.rms_level(pcm)
        size = 2 * rng.randrange(1, 400)
        ours, theirs = framing.Framer(size), plain_framing.Framer(size)
        for start in range(0, len(pcm), 97):
            assert ours.push(pcm[start:start + 97]) == theirs.push(pcm[start:start + 97])
        assert ours.flush() == theirs.flush()


def test_plain_python_switch_loads_every_hot_module_from_source():
    """GATEWAY_PLAIN_PYTHON=1 imports each hot module from its .py, built or not (the escape hatch)."""
    import json
    import subprocess

    script = ("import importlib, json, gateway; from gateway import compiled; "
              "print(json.dumps([importlib.import_module(n).__file__ for n in compiled.HOT_MODULES]))")
    env = {**os.environ, "GATEWAY_PLAIN_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [str(compiled.module_source(n)) for n in compiled.HOT_MODULES]


def test_a_stale_build_or_the_switch_runs_the_sources():
    """use_source: plain Python when asked (GATEWAY_PLAIN_PYTHON) or when any build is stale, compiled otherwise."""
    assert compiled.use_source({}, []) is False
    assert compiled.use_source({"GATEWAY_PLAIN_PYTHON": "0"}, []) is False
    assert compiled.use_source({"GATEWAY_PLAIN_PYTHON": "1"}, []) is True
    assert compiled.use_source({}, ["gateway.media.playout"]) is True


@pytest.mark.skipif(not (BUILT or os.environ.get("CI")), reason="hot path not built here (make setup builds it)")
def test_a_source_edited_after_the_build_runs_as_plain_python(tmp_path):
    """Edit one hot module's .py after the build: a fresh process runs every hot module from source, never the old build."""
    import json
    import shutil
    import subprocess

    for package in ("gateway", "protocol", "build/hotpath"):  # a copy of the built tree: the checkout is never edited
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    edited = tmp_path / "gateway" / "media" / "playout.py"
    edited.write_text(edited.read_text() + "\n# edited after the build\n")
    script = ("import importlib, json, gateway; from gateway import compiled; "
              "print(json.dumps([compiled.STALE_AT_START, [importlib.import_module(n).__file__ "
              "for n in compiled.HOT_MODULES]]))")
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_PLAIN_PYTHON", "PYTHONPATH")}
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    stale, files = json.loads(out.stdout)
    assert stale == ["gateway.media.playout"]
    assert files == [str(tmp_path.joinpath(*n.split(".")).with_suffix(".py")) for n in compiled.HOT_MODULES]
