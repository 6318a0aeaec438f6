"""Which backends exist (name -> factory), which are enabled, and which one serves a room URL.

A new backend is a package under ``gateway/backends/`` and one line in :data:`FACTORIES`;
the server never names a backend itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from protocol.errors import CommandError, ErrorCode

from .base import Backend

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger("gateway.backends")

C = TypeVar("C")


def _local(config: Config) -> Backend:
    from .local import LocalBackend

    return LocalBackend(
        recordings_dir=config.recordings_dir,
        transcription_workers=config.transcription_workers,
        demo=(config.demo_room, config.demo_wav) if config.demo else None,
    )


def _daily(config: Config) -> Backend:
    from .daily import DailyBackend  # imports daily-python's wrappers: only when enabled

    return DailyBackend(config)


FACTORIES: dict[str, Callable[[Config], Backend]] = {"local": _local, "daily": _daily}
"""Backend name (``config.backends``, ``--backend``) -> what builds it from the configuration."""


def build_backends(config: Config) -> list[Backend]:
    """The backends named in ``config.backends``; one this build cannot import is left out, with a warning.

    Raises:
        ValueError: a name no factory has.
    """
    out: list[Backend] = []
    for name in config.backends:
        factory = FACTORIES.get(name)
        if factory is None:
            raise ValueError(f"unknown backend {name!r} in config.backends (known: {', '.join(FACTORIES)})")
        try:
            out.append(factory(config))
        except ImportError:
            log.warning("%s backend is not available in this build; continuing without it", name)
    if config.demo and "local" not in config.backends:
        log.warning("demo talker needs the local backend; not started")
    return out


class BackendRegistry:
    """The enabled backends, looked up by name, by room URL scheme, or by capability."""

    def __init__(self, backends: list[Backend]) -> None:
        self._by_name = {b.name: b for b in backends}

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def __iter__(self) -> Iterator[Backend]:
        return iter(self._by_name.values())

    def get(self, name: str) -> Backend:
        try:
            return self._by_name[name]
        except KeyError:
            raise CommandError(
                ErrorCode.UNKNOWN_BACKEND,
                f"backend {name!r} is not enabled (enabled: {', '.join(self._by_name) or 'none'})",
            ) from None

    def with_capability(self, capability: type[C]) -> C:
        """The first enabled backend that has ``capability``; ``not_supported`` when none has.

        Raises:
            CommandError: ``not_supported``.
        """
        for backend in self._by_name.values():
            if isinstance(backend, capability):
                return backend
        ability = getattr(capability, "ability", "") or capability.__name__
        raise CommandError(
            ErrorCode.NOT_SUPPORTED,
            f"no enabled backend offers {ability} (enabled: {', '.join(self._by_name) or 'none'})",
        )

    def for_room(self, room_url: str, backend: str | None = None) -> Backend:
        """The backend named, or the one whose scheme the URL uses; the URL is checked by it."""
        if backend is None:
            scheme = urlsplit(room_url).scheme.lower()
            if not scheme:
                raise CommandError(
                    ErrorCode.BAD_ROOM_URL,
                    f"room URL {room_url!r} has no scheme (use local://<name> or https://<domain>.daily.co/<room>)",
                )
            found = [b for b in self._by_name.values() if scheme in b.schemes]
            if not found:
                raise CommandError(ErrorCode.UNKNOWN_BACKEND, f"no enabled backend serves {scheme}:// room URLs")
            chosen = found[0]
        else:
            chosen = self.get(backend)
        chosen.check_room_url(room_url)
        return chosen
