"""Media steps on PCM16 audio, free of I/O: resampling, framing, voice activity, levels.

All audio is PCM16 little-endian interleaved ``bytes``. Each step is a plain object fed chunk by
chunk, so the same code runs on the event loop, in a worker thread, and in unit tests.
"""

from gateway.media.framing import Framer, frame_bytes
from gateway.media.level import LevelMeter, level_dbfs, rms_level
from gateway.media.resample import SUPPORTED_RATES, Resampler, convert_channels
from gateway.media.vad import VadParams, VadTransition, VoiceActivityDetector

__all__ = [
    "SUPPORTED_RATES",
    "Framer",
    "LevelMeter",
    "Resampler",
    "VadParams",
    "VadTransition",
    "VoiceActivityDetector",
    "convert_channels",
    "frame_bytes",
    "level_dbfs",
    "rms_level",
]
