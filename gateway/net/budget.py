"""Memory budgets for bytes received and not yet handled (PROTOCOL.md, "Security").

Sans-I/O and independent of the WebSocket library, so that whatever parses frames can keep
using it. A connection reports how many bytes it holds (a partial frame, the fragments of a
message, data read before its session started) each time that changes; :meth:`ConnectionBudget.hold`
answers whether it may:

- each connection may hold up to ``per_connection`` bytes (past it: close **1009**);
- the first :data:`ALLOWANCE_BYTES` of each connection are its own, so a session's audio frames
  (at most 19 KiB) never wait on anyone else;
- what any connection holds beyond its allowance comes out of one gateway-wide pool of
  ``total`` bytes (past it: close **1013**, try again later).

Memory held for received data is therefore at most ``total`` + ``ALLOWANCE_BYTES`` per connection,
whatever clients send.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.constants import CloseCode

ALLOWANCE_BYTES = 64 * 1024
"""Bytes each connection may hold without drawing on the gateway-wide pool."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a connection may not hold more: the close code to send and its reason."""

    code: int
    reason: str


class ReceiveBudget:
    """The gateway-wide pool, and the per-connection cap, of bytes received but not yet handled."""

    def __init__(self, *, total: int, per_connection: int, allowance: int = ALLOWANCE_BYTES) -> None:
        self.total = total
        """Bytes all connections together may hold beyond their allowances (0: no gateway-wide bound)."""
        self.per_connection = per_connection
        """Bytes one connection may hold (0: no bound)."""
        self.allowance = allowance
        self.used = 0
        """Pool bytes held now."""
        self.peak = 0
        """Most pool bytes ever held at once."""
        self.refused = 0
        """Connections closed because the pool was spent."""

    def account(self) -> ConnectionBudget:
        """A new connection's account against this budget."""
        return ConnectionBudget(self)


class ConnectionBudget:
    """One connection's share: what it holds now, and how much of that comes from the pool."""

    __slots__ = ("_budget", "held", "pooled")

    def __init__(self, budget: ReceiveBudget) -> None:
        self._budget = budget
        self.held = 0
        """Bytes this connection holds now."""
        self.pooled = 0
        """The part of ``held`` drawn from the gateway-wide pool."""

    def hold(self, nbytes: int) -> Refusal | None:
        """Hold ``nbytes`` from now on (more or fewer than before); a :class:`Refusal` when that is too many.

        A refused connection keeps what it held before; the caller closes it and calls :meth:`release`.
        """
        budget = self._budget
        if budget.per_connection and nbytes > budget.per_connection:
            return Refusal(CloseCode.MESSAGE_TOO_BIG, f"more than {budget.per_connection} bytes held for one connection (max_receive_buffer_bytes)")
        pooled = max(0, nbytes - budget.allowance)
        delta = pooled - self.pooled
        if delta > 0 and budget.total and budget.used + delta > budget.total:
            budget.refused += 1
            return Refusal(CloseCode.TRY_AGAIN_LATER, "the gateway's receive budget is spent (max_receive_buffer_bytes_total); try again later")
        budget.used += delta
        budget.peak = max(budget.peak, budget.used)
        self.pooled = pooled
        self.held = nbytes
        return None

    def release(self) -> None:
        """The connection is gone (or refused): give back everything it held."""
        self._budget.used -= self.pooled
        self.pooled = 0
        self.held = 0


UNBOUNDED = ReceiveBudget(total=0, per_connection=0)
"""A budget that refuses nothing (connections made outside a gateway, e.g. in tests)."""
