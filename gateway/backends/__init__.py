"""Room backends: the interface (``base``), optional abilities (``capabilities``), and the registry
that builds the configured backends and picks one for a room URL (``registry``)."""

from __future__ import annotations

from .base import AudioFormat, Backend, JoinOptions, Transport, TransportListener
from .registry import BackendRegistry, build_backends

__all__ = ["AudioFormat", "Backend", "BackendRegistry", "JoinOptions", "Transport", "TransportListener", "build_backends"]
