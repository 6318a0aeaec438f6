"""The README tour works as written."""

from __future__ import annotations

import importlib.util
import wave
from pathlib import Path

from tests.conftest import ROOT


async def test_tour_saves_the_demo_talker(gateway, tmp_path: Path):
    """The tour script joins local://demo and saves seconds of the demo talker's speech to a WAV."""
    spec = importlib.util.spec_from_file_location("tour", ROOT / "clients" / "python" / "examples" / "tour.py")
    assert spec and spec.loader
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    out = tmp_path / "demo.wav"
    await tour.main(gateway.url, seconds=2.0, out=str(out))
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 16000
        assert wav.getnframes() > 16000  # more than a second of audio arrived


def test_readme_points_to_the_tour():
    """The README's tour section runs the same script the test runs."""
    readme = (ROOT / "README.md").read_text()
    assert "clients/python/examples/tour.py" in readme
    assert "make serve" in readme.split("\n## ", 1)[0] and "make test" in readme.split("\n## ", 1)[0]
