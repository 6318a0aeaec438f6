"""Request handlers, one module per concern, each registered where it is defined with :func:`handler`.

A handler is ``async def handler(session, request_id, params) -> dict``: ``params`` are
already validated against ``protocol/schema/requests/<type>.json`` with defaults filled in;
the returned dict is the reply's ``result``; a raised ``ProtocolError`` becomes an error
reply. Everything the gateway must know about a request type is declared with it::

    @handler("mint-token", role="admin")
    async def mint_token(session, rid, params): ...

- ``role``: the weakest role whose credential may send it (``observer`` < ``bot`` < ``admin``;
  PROTOCOL.md, "Authentication"); ``bot`` when not said.
- ``every_room``: only a credential valid for every room (room ``*``) may send it: the request
  enters a room it does not name (a phone's call).
- ``in_order``: a synchronous handler run the moment its request is read, between the binary
  frames before and after it (``clear-audio``, ``mark-audio``...), its reply queued at once.

Every module of this package is imported by :func:`discover` (``pkgutil``): a new module needs
no import anywhere. ``tests/unit/test_catalog.py`` keeps the registry, the schemas, the
role table of PROTOCOL.md, its request table and the JS SDK's generated types in agreement.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..auth import ROLES

if TYPE_CHECKING:
    from ..session import Session

Handler = Callable[["Session", str, dict[str, Any]], Awaitable[dict[str, Any] | None]]
"""An ``async`` handler: (session, request id, validated params) -> result."""
InOrderHandler = Callable[["Session", str, dict[str, Any]], dict[str, Any] | None]
"""A synchronous ``in_order`` handler."""


@dataclass(frozen=True)
class RequestHandler:
    """One request type: the function that does it and what it asks of the sender."""

    type: str
    run: Callable[..., Any]
    """:data:`Handler`, or :data:`InOrderHandler` when :attr:`in_order`."""
    role: str = "bot"
    """The weakest role that may send it (``gateway.auth.ROLES``)."""
    every_room: bool = False
    """Needs a credential valid for every room (room ``*``)."""
    in_order: bool = False
    """Run synchronously as it is read (between binary frames), not as a task."""


HANDLERS: dict[str, RequestHandler] = {}
"""Request type -> its handler. Every type here has a schema file (tests/unit/test_catalog.py)."""


def handler(
    rtype: str, *, role: str = "bot", every_room: bool = False, in_order: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the handler of request type ``rtype`` (module docstring)."""
    if role not in ROLES:
        raise ValueError(f"{rtype}: role must be one of {', '.join(ROLES)}, not {role!r}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if rtype in HANDLERS:
            raise RuntimeError(f"two handlers for {rtype!r}: {HANDLERS[rtype].run.__module__} and {fn.__module__}")
        HANDLERS[rtype] = RequestHandler(rtype, fn, role, every_room, in_order)
        return fn

    return register


def discover() -> dict[str, RequestHandler]:
    """Import every module of this package once, so that their ``@handler``\\ s register; the registry."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return HANDLERS


discover()
