"""The wheel is the whole product: built from the checkout, installed in a new virtual environment, started from elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.compiled import HOT_MODULES

from tests.install.helpers import clean_env, health, http_get, join_demo, start

ROOT = Path(__file__).resolve().parents[2]
SDK_DIST = ROOT / "clients" / "js" / "dist"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _checkout_copy(target: Path) -> Path:
    """The files git would give a clean clone (tracked and new, not ignored), plus the built JS SDK."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copytree(SDK_DIST, target / "clients" / "js" / "dist")
    return target


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the wheel (and its dependencies) installed."""
    if not (SDK_DIST / "index.js").exists():
        pytest.fail("the JS SDK is not built (make test builds it before pytest: make js-build)")
    work = tmp_path_factory.mktemp("wheel")
    source = _checkout_copy(work / "checkout")
    # What `make wheel` runs, in a copy so the checkout's own build folders are not touched; the copy
    # has no .git, so it is told the commit as a build from an unpacked source would be.
    env = {**clean_env(), "DAILY_GATEWAY_COMMIT": _head()}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(work / "dist"), str(source)], check=True, timeout=900, capture_output=True, env=env)
    wheels = sorted((work / "dist").glob("daily_ws_gateway-*.whl"))
    assert len(wheels) == 1, wheels
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
                   check=True, timeout=900, env=clean_env())
    return venv


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty working directory, far from the checkout."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def served(venv: Path, elsewhere: Path):
    """The installed console script, started from another directory."""
    started = start([str(venv / "bin" / "daily-gateway"), "--host", "127.0.0.1", "--port", "0", "--demo"],
                    cwd=elsewhere, env=clean_env())
    yield started
    assert started.stop() == 0


def test_the_wheel_carries_the_compiled_hot_path_and_the_web_files(venv):
    """The wheel is platform-tagged and installs mypyc extensions, the dashboard and the built SDK into site-packages."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    built = sorted(str(p.relative_to(site)).split(".")[0] for p in site.glob("*/**/*.so")
                   if p.parts[len(site.parts)] in ("gateway", "protocol"))
    assert built == [
        "gateway/_hotpath__mypyc",
        "gateway/backends/local/room", "gateway/backends/local/transport",
        "gateway/media/framing", "gateway/media/level", "gateway/media/playout", "gateway/media/vad",
        "gateway/net/connection",
        "gateway/session/link", "gateway/session/outbox", "gateway/session/receiver", "gateway/session/session",
        "gateway/session/tracks",
        "protocol/media",
    ]
    assert (site / "gateway" / "_web" / "dashboard" / "index.html").is_file()
    assert (site / "gateway" / "_web" / "sdk" / "index.js").is_file()
    assert not (site / "gateway_fast__mypyc").exists() and not list(site.glob("*__mypyc*.so"))


def test_version_names_the_package_and_the_commit(venv, elsewhere):
    """`daily-gateway --version` from another directory names the package version and the commit it was built from."""
    commit = _head()
    out = subprocess.run([str(venv / "bin" / "daily-gateway"), "--version"], cwd=elsewhere, env=clean_env(),
                         capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    from gateway import __version__

    assert out == f"daily-gateway {__version__}+g{commit}"


def test_installed_gateway_reports_the_compiled_hot_path(served, venv):
    """The start-up line and /healthz say the installed gateway runs its hot path compiled, from site-packages."""
    version, hot_path = served.startup()
    assert hot_path == f"compiled with mypyc ({len(HOT_MODULES)} of {len(HOT_MODULES)} modules)"
    body = health(served)
    assert body["status"] == "ok" and body["version"] == version and body["hot_path"] == hot_path


def test_installed_gateway_serves_the_dashboard_and_the_sdk(served):
    """/dashboard/ is the dashboard's HTML and /sdk/index.js the built SDK, from the package, not a checkout."""
    status, content_type, body = http_get(served.http_url + "/dashboard/")
    assert status == 200 and content_type.startswith("text/html") and b"<html" in body.lower()
    status, content_type, body = http_get(served.http_url + "/sdk/index.js")
    assert status == 200 and content_type.startswith("text/javascript")
    assert body == (SDK_DIST / "index.js").read_bytes()


def test_installed_client_hears_the_demo_talker(served, venv, elsewhere):
    """The installed Python client joins local://demo on the installed gateway and receives the talker's audio frames."""
    got = join_demo(str(venv / "bin" / "python"), served.url, elsewhere, clean_env())
    assert "Demo Talker" in got["names"]
    assert got["frames"] >= 25 and got["bytes"] == got["frames"] * 640 and len(got["speakers"]) == 1
