"""daily-python, loaded once per process: which module, and its one-time ``Daily.init``.

Why a module of its own: ``Daily.init()`` may run once per process (a second call aborts the
interpreter), and both the Daily backend and the native VAD (``Daily.create_native_vad``) need
it; the VAD gets it through the session (``session.place.daily_sdk``), never by importing this. Tests run the gateway with a fake SDK by naming a factory in ``config.daily_sdk``
(``"package.module:factory"``); the default ``"daily"`` is the real daily-python.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from protocol.errors import CommandError, ErrorCode

DEFAULT_SDK = "daily"

_lock = threading.Lock()
_loaded: dict[str, Any] = {}
_initialized: dict[int, Any] = {}
"""id -> the SDK itself: holding it keeps its id from being reused by a later object (tests make many fakes)."""


def load(spec: str = DEFAULT_SDK) -> Any:
    """The SDK named by ``spec``: a module (``"daily"``) or ``"module:factory"`` called once.

    Raises ``CommandError(NOT_SUPPORTED)`` when it cannot be imported, so a join or a native VAD
    request says why instead of crashing.
    """
    with _lock:
        if spec in _loaded:
            return _loaded[spec]
        module_name, _, attribute = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise CommandError(ErrorCode.NOT_SUPPORTED, f"daily-python is not installed ({exc})") from None
        sdk: Any = module
        if attribute:
            target = getattr(module, attribute)
            sdk = target() if callable(target) else target
        _loaded[spec] = sdk
        return sdk


def ensure_initialized(sdk: Any) -> None:
    """Run ``sdk.Daily.init()`` unless this process already did (idempotent, thread-safe)."""
    with _lock:
        if id(sdk) in _initialized:
            return
        sdk.Daily.init()
        _initialized[id(sdk)] = sdk


def initialized(spec: str = DEFAULT_SDK) -> Any:
    """The SDK named by ``spec``, its ``Daily.init`` done (blocking; raises as :func:`load`)."""
    sdk = load(spec)
    ensure_initialized(sdk)
    return sdk


__all__ = ["DEFAULT_SDK", "ensure_initialized", "initialized", "load"]
