"""PCM16 WAV files: the bundled speech sample and reading one whole file.

The demo talker (``make serve``) and the local test phone both speak the bundled sample;
this module is what they share, so neither imports the other.
"""

from __future__ import annotations

import wave
from importlib import resources


def bundled_wav() -> str:
    """Path of the speech sample shipped in the package (``gateway/assets/demo_speech.wav``)."""
    return str(resources.files("gateway").joinpath("assets", "demo_speech.wav"))


def read_wav(path: str) -> tuple[bytes, int, int]:
    """PCM16 bytes, sample rate, channels of a WAV file (PCM16 only).

    Raises:
        ValueError: not 16-bit PCM.
    """
    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        return wav.readframes(wav.getnframes()), wav.getframerate(), wav.getnchannels()
