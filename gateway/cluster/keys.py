"""Where each thing lives in Redis: one namespace per cluster, one key per node, room and session.

Every key of a cluster starts with its namespace (``daily-gateway`` by default), so several
clusters (or test runs) may share one Redis. The layout, which docs/CLUSTER.md explains:

- ``<ns>:node:<node_id>``        hash: the node's address, version and load; expires ``node_ttl_ms``
  after its last heartbeat, which is how the cluster learns a node is gone
- ``<ns>:nodes``                 set of node ids, pruned of those whose hash expired
- ``<ns>:epoch``                 a random value set once per Redis data set: a node seeing it change
  knows Redis lost its data (a restart without persistence) and re-asserts what it holds
- ``<ns>:rooms:<node_id>``       string: the node's rooms as ``list-rooms`` shows them (JSON), for every node's
  ``list-rooms``; expires with the node (``node_ttl_ms``)
- ``<ns>:room:<room_url>``       hash: the lease on a local room (``node``, ``lease``)
- ``<ns>:session:<session_id>``  hash: the lease on a session (``node``, ``lease``) and its record
  (``data``: what another node needs to resume or re-join it)
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NAMESPACE = "daily-gateway"


@dataclass(frozen=True)
class KeyLayout:
    """The key names of one cluster's namespace."""

    namespace: str = DEFAULT_NAMESPACE

    @property
    def node_prefix(self) -> str:
        """Prefix of node keys: the Lua scripts append a holder's id to test that it is alive."""
        return f"{self.namespace}:node:"

    def node(self, node_id: str) -> str:
        return self.node_prefix + node_id

    @property
    def nodes(self) -> str:
        return f"{self.namespace}:nodes"

    @property
    def epoch(self) -> str:
        return f"{self.namespace}:epoch"

    def node_rooms(self, node_id: str) -> str:
        return f"{self.namespace}:rooms:{node_id}"

    def room(self, room_url: str) -> str:
        return f"{self.namespace}:room:{room_url}"

    def session(self, session_id: str) -> str:
        return f"{self.namespace}:session:{session_id}"
