"""Which node hosts a new room or session: the least loaded one that takes work (sans-I/O).

Daily sessions need no co-location (Daily's servers are the room), so each goes to the least
loaded node; a local room lives on one node, chosen the same way when its first member or
observer arrives and kept there by its lease (docs/CLUSTER.md, "Placement"). Load is the count
of sessions, which placements raise at once in Redis (:meth:`Directory.reserve`), so a burst of
joins spreads out instead of all landing on the node that looked idlest a heartbeat ago; CPU
breaks ties.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from .node import NodeInfo

DEFAULT_SELF_SLACK = 2
"""Sessions by which the accepting node may be busier than the least loaded and still keep the
work itself: bridging costs a hop per frame, so near-equal loads are not worth it."""


def takes_work(node: NodeInfo) -> bool:
    """Whether new rooms and sessions may be placed on ``node``: not draining, not full."""
    return not node.draining and (node.max_sessions <= 0 or node.sessions < node.max_sessions)


def load_key(node: NodeInfo) -> tuple[float, float]:
    """Sort key: fewer sessions first (as a fraction of capacity when it is known), then less CPU."""
    sessions = node.sessions / node.max_sessions if node.max_sessions > 0 else float(node.sessions)
    return (sessions, node.cpu)


def least_loaded(nodes: Iterable[NodeInfo], *, rng: random.Random | None = None) -> NodeInfo | None:
    """The node taking work with the lowest load; ties broken at random (so idle nodes share a burst)."""
    candidates = [node for node in nodes if takes_work(node)]
    if not candidates:
        return None
    best = min(load_key(node) for node in candidates)
    tied = [node for node in candidates if load_key(node) == best]
    return (rng or random).choice(tied) if len(tied) > 1 else tied[0]


def choose_host(
    nodes: Iterable[NodeInfo], self_id: str, *, slack: int = DEFAULT_SELF_SLACK, rng: random.Random | None = None
) -> NodeInfo | None:
    """Where a new room or session goes, seen from node ``self_id`` (which accepted the client).

    The accepting node keeps the work when it takes work and has at most ``slack`` sessions
    more than the least loaded node; otherwise the least loaded node hosts it. None: no node
    takes work (all draining or full).
    """
    listed = list(nodes)
    best = least_loaded(listed, rng=rng)
    if best is None:
        return None
    me = next((node for node in listed if node.node_id == self_id), None)
    if me is not None and takes_work(me) and _comparable(me, best, slack):
        return me
    return best


def _comparable(me: NodeInfo, best: NodeInfo, slack: int) -> bool:
    if me.max_sessions > 0 and best.max_sessions > 0 and me.max_sessions != best.max_sessions:
        return load_key(me)[0] <= load_key(best)[0] + slack / max(me.max_sessions, 1)
    return me.sessions <= best.sessions + slack
