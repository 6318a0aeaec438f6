"""Placement and node records, without Redis: who hosts a new room or session, and what a node publishes."""

from __future__ import annotations

import random

import pytest

from gateway.cluster.directory import SessionRecord, Timing, resume_digest
from gateway.cluster.node import NodeInfo, new_node_id
from gateway.cluster.placement import choose_host, least_loaded, takes_work


def node(node_id: str, **fields: object) -> NodeInfo:
    return NodeInfo(node_id=node_id, address=f"ws://{node_id}/v1", **fields)  # type: ignore[arg-type]


def test_least_loaded_skips_draining_and_full_nodes():
    """The node with fewest sessions wins, unless it drains or is full; nobody taking work gives None."""
    nodes = [node("a", sessions=1, draining=True), node("b", sessions=9, max_sessions=9), node("c", sessions=5)]
    assert least_loaded(nodes).node_id == "c"
    assert least_loaded([nodes[0], nodes[1]]) is None
    assert not takes_work(nodes[0]) and not takes_work(nodes[1]) and takes_work(nodes[2])


def test_capacity_counts_as_a_fraction_and_cpu_breaks_ties():
    """A big node with more sessions but a smaller share of its capacity wins; equal loads go to less CPU."""
    assert least_loaded([node("small", sessions=5, max_sessions=10), node("big", sessions=20, max_sessions=100)]).node_id == "big"
    assert least_loaded([node("hot", sessions=3, cpu=0.9), node("cool", sessions=3, cpu=0.2)]).node_id == "cool"


def test_equal_nodes_share_a_burst():
    """Ties are broken at random, so idle nodes split new work instead of one taking it all."""
    rng = random.Random(7)
    picks = {least_loaded([node("a"), node("b"), node("c")], rng=rng).node_id for _ in range(50)}
    assert picks == {"a", "b", "c"}


@pytest.mark.parametrize(("mine", "best", "keeps"), [(3, 1, True), (4, 1, False), (0, 0, True)])
def test_the_accepting_node_keeps_work_within_the_slack(mine, best, keeps):
    """The accepting node keeps a new session when it has at most `slack` (2) sessions more than the least loaded."""
    chosen = choose_host([node("me", sessions=mine), node("other", sessions=best)], "me", slack=2)
    assert (chosen.node_id == "me") is keeps


def test_a_draining_accepting_node_never_keeps_work():
    """A draining node sends every new session elsewhere, however idle it is."""
    chosen = choose_host([node("me", draining=True), node("other", sessions=50)], "me")
    assert chosen.node_id == "other"


def test_node_records_round_trip_and_ignore_what_they_do_not_know():
    """What a node publishes reads back the same from Redis's bytes; unknown or malformed fields keep defaults."""
    info = node("a", public_url="wss://a.example/v1", version="1.2", draining=True, sessions=4, cpu=0.5, rss_mb=12.5)
    raw = {k.encode(): v.encode() for k, v in info.to_fields().items()}
    assert NodeInfo.from_fields(raw) == info
    raw[b"future_field"] = b"x"
    raw[b"sessions"] = b"not a number"
    assert NodeInfo.from_fields(raw).sessions == 0
    with pytest.raises(ValueError):
        NodeInfo.from_fields({b"node_id": b"a"})
    assert new_node_id() != new_node_id()


def test_session_records_keep_a_digest_of_the_resume_token_never_the_token():
    """A session record serializes without the token itself and checks a token against its digest."""
    record = SessionRecord("s", "join", "local://r", "local", resume_digest=resume_digest("s.secret"))
    assert b"s.secret" not in record.to_json()
    again = SessionRecord.from_json(record.to_json())
    assert again == record and again.token_matches("s.secret") and not again.token_matches("s.secreT")
    assert not SessionRecord("s", "join", "local://r", "local").token_matches("")


def test_session_records_outlive_a_dead_node_by_the_resume_grace():
    """Session TTLs leave a resuming client resume_grace_ms after its node's death, plus detection and renewals."""
    timing = Timing.for_resume_grace(30000)
    assert timing.session_ttl_ms == 30000 + timing.node_ttl_ms + 2 * timing.renew_ms
    assert Timing.for_resume_grace(0, node_ttl_ms=900).session_ttl_ms == 900 + 2 * timing.renew_ms
    assert timing.node_ttl_ms >= 3 * timing.heartbeat_ms
