"""Room backends and the registry that picks one for a room URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from protocol.errors import CommandError, ErrorCode

from .base import AudioFormat, Backend, JoinOptions, Transport, TransportListener


class BackendRegistry:
    """The enabled backends, looked up by name or by room URL scheme."""

    def __init__(self, backends: list[Backend]) -> None:
        self._by_name = {b.name: b for b in backends}

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())

    def get(self, name: str) -> Backend:
        try:
            return self._by_name[name]
        except KeyError:
            raise CommandError(
                ErrorCode.UNKNOWN_BACKEND,
                f"backend {name!r} is not enabled (enabled: {', '.join(self._by_name) or 'none'})",
            ) from None

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


__all__ = ["AudioFormat", "Backend", "BackendRegistry", "JoinOptions", "Transport", "TransportListener"]
