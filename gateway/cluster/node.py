"""What a node says about itself in the directory: where to reach it, which build, how loaded (sans-I/O).

A node publishes a :class:`NodeInfo` with every heartbeat (docs/CLUSTER.md, "What Redis carries");
other nodes read it to bridge or redirect a client to it and to place new rooms and sessions.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any


def new_node_id() -> str:
    """A node id unique to this process's life: host, pid and 32 random bits.

    A restarted process gets a new id, so it never seems to hold the leases of the process it
    replaces (those expire with the old id, and other nodes take them over).
    """
    host = socket.gethostname().split(".", 1)[0][:32] or "node"
    return f"{host}-{os.getpid()}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class NodeInfo:
    """One node as the directory knows it."""

    node_id: str
    """Unique for the process's life (:func:`new_node_id`)."""
    address: str
    """WebSocket URL other nodes use to bridge a client to this node (``ws://10.0.0.2:8766/v1``): this
    node's own listener, never a port shared with other workers."""
    public_url: str = ""
    """URL clients are redirected to (close 4307); empty: this node does not take redirected clients."""
    version: str = ""
    """The build (``build_info.version()``): shown in logs; placement never mixes on it."""
    started_at: float = 0.0
    """Unix seconds."""
    draining: bool = False
    """A draining node takes no new rooms or sessions (docs/CLUSTER.md, "Draining")."""
    sessions: int = 0
    """Sessions hosted (DETACHED ones too), plus the placements other nodes reserved since the last heartbeat."""
    rooms: int = 0
    """Rooms this node is in."""
    streams: int = 0
    """Audio tracks this node sends to clients (what costs CPU)."""
    cpu: float = 0.0
    """Fraction of one core this process used over the last heartbeat interval."""
    rss_mb: float = 0.0
    """Resident memory of the process."""
    max_sessions: int = 0
    """Sessions this node accepts at most (0: no bound); placement skips a full node."""

    def to_fields(self) -> dict[str, str]:
        """The Redis hash fields (all strings)."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    @classmethod
    def from_fields(cls, fields: dict[Any, Any]) -> NodeInfo:
        """Read a Redis hash (bytes or str keys and values); unknown fields (a newer node's) are ignored."""
        text = {_text(k): _text(v) for k, v in fields.items()}
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = text.get(f.name)
            if raw is None:
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__  # type: ignore[union-attr]
            try:
                if kind == "bool":
                    values[f.name] = raw == "1"
                elif kind == "int":
                    values[f.name] = int(raw)
                elif kind == "float":
                    values[f.name] = float(raw)
                else:
                    values[f.name] = raw
            except ValueError:
                continue  # a field written by another version in another shape: keep the default
        if "node_id" not in values or "address" not in values:
            raise ValueError("a node record needs node_id and address")
        return cls(**values)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
