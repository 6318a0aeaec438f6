"""Turns of a conversation from voice activity: response gaps and overlaps (PROTOCOL.md 9.5). Sans-I/O.

:class:`TurnTracker` is fed each participant's speech as it really was (begin and end times on one
clock, in ms: the caller takes the VAD decisions' delays off) and returns the :class:`Turn`\\ s it can
decide. It never reads a clock nor sends anything, so its arithmetic is tested with exact timelines.

The VAD decides a stop ``stop_ms`` after the speech ended but a start only ``start_ms`` after it
began, so B's start may be decided while A is still "speaking" though A had already fallen silent.
A start during someone else's speech is therefore held until one of the two stops: then the real
times say whether it was an overlap (and who gave way) or a response after a gap.

:class:`TurnStats` sums turns up (count, nearest-rank p50 / p95, max), overall and per participant.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

RESPONSE = "response"
OVERLAP = "overlap"

RECENT_TURNS = 200
"""Turns a :class:`TurnStats` keeps for ``get-turn-stats``' ``recent``."""
MAX_SAMPLES = 10_000
"""Gaps (or overlaps) kept per summary for the percentiles: the latest ones, a long call's memory bounded."""


@dataclass(frozen=True)
class Turn:
    """One change of speaker: the ``turn`` event's data (PROTOCOL.md 9.5)."""

    kind: str
    """``response`` or ``overlap``."""
    participant_id: str
    """Who took (or tried to take) the turn."""
    previous_participant_id: str
    """Who spoke before, or was interrupted."""
    at_ms: float
    """When ``participant_id``'s speech began (the tracker's clock)."""
    gap_ms: int = 0
    """``response``: silence between the two."""
    overlap_ms: int = 0
    """``overlap``: how long both spoke."""
    yielded: bool = False
    """``overlap``: the interrupted speaker stopped first."""

    def data(self, clock_offset_ms: float = 0.0) -> dict[str, Any]:
        """As the ``turn`` event's data; ``at`` in seconds on the tracker's clock plus ``clock_offset_ms``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "participant_id": self.participant_id,
            "previous_participant_id": self.previous_participant_id,
            "at": round((self.at_ms + clock_offset_ms) / 1000, 3),
        }
        if self.kind == RESPONSE:
            out["gap_ms"] = self.gap_ms
        else:
            out["overlap_ms"] = self.overlap_ms
            out["yielded"] = self.yielded
        return out


@dataclass
class _Pending:
    """B began while A was speaking: decided when one of them stops."""

    speaker: str
    began_ms: float
    interrupted: str


class TurnTracker:
    """Who speaks when, per participant, and the turns between them (module docstring).

    Call :meth:`started` and :meth:`stopped` in the order the decisions come; each returns the
    turns it decided (often none). A participant's starts and stops alternate; a repeated one is
    ignored.
    """

    def __init__(self) -> None:
        self._speaking: dict[str, float] = {}
        """Participant -> when its current speech began."""
        self._last: tuple[str, float] | None = None
        """The participant whose speech ended last, and when."""
        self._pending: list[_Pending] = []

    @property
    def speaking(self) -> frozenset[str]:
        return frozenset(self._speaking)

    def started(self, participant_id: str, began_ms: float) -> list[Turn]:
        """``participant_id`` began speaking at ``began_ms``."""
        if participant_id in self._speaking:
            return []
        others = [(began, pid) for pid, began in self._speaking.items() if pid != participant_id]
        self._speaking[participant_id] = began_ms
        if others:
            # Interrupting whoever took the floor last among those speaking; decided at a stop.
            _, interrupted = max(others)
            self._pending.append(_Pending(participant_id, began_ms, interrupted))
            return []
        last = self._last
        if last is None or last[0] == participant_id:
            return []  # the first speech of the room, or the same speaker after a pause
        if began_ms < last[1]:  # decided after the other's stop, yet began before its end
            return [self._overlap(_Pending(participant_id, began_ms, last[0]), last[1] - began_ms, yielded=True)]
        return [self._response(participant_id, began_ms, last[0], last[1])]

    def stopped(self, participant_id: str, ended_ms: float) -> list[Turn]:
        """``participant_id`` stopped speaking at ``ended_ms`` (not before its speech began)."""
        began = self._speaking.pop(participant_id, None)
        if began is None:
            return []
        ended_ms = max(ended_ms, began)
        turns: list[Turn] = []
        for pending in list(self._pending):
            if pending.interrupted == participant_id:
                # The interrupted speaker stopped first: a barge-in, or a response it only seemed to overlap.
                self._pending.remove(pending)
                if ended_ms <= pending.began_ms:
                    turns.append(self._response(pending.speaker, pending.began_ms, participant_id, ended_ms))
                else:
                    turns.append(self._overlap(pending, ended_ms - pending.began_ms, yielded=True))
            elif pending.speaker == participant_id:
                # The interrupter stopped while the other still spoke: it did not take the turn.
                self._pending.remove(pending)
                turns.append(self._overlap(pending, ended_ms - pending.began_ms, yielded=False))
        if self._last is None or ended_ms >= self._last[1] or self._last[0] == participant_id:
            self._last = (participant_id, ended_ms)
        return turns

    @staticmethod
    def _response(speaker: str, began_ms: float, previous: str, ended_ms: float) -> Turn:
        return Turn(RESPONSE, speaker, previous, began_ms, gap_ms=max(0, round(began_ms - ended_ms)))

    @staticmethod
    def _overlap(pending: _Pending, overlap_ms: float, *, yielded: bool) -> Turn:
        return Turn(OVERLAP, pending.speaker, pending.interrupted, pending.began_ms,
                    overlap_ms=max(0, round(overlap_ms)), yielded=yielded)


def percentile(sorted_values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile of ascending ``sorted_values`` (None for none): p50 of [1, 2, 3, 4] is 2."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _Samples:
    values: deque[int] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    count: int = 0
    yielded: int = 0

    def add(self, value: int, yielded: bool = False) -> None:
        self.values.append(value)
        self.count += 1
        self.yielded += yielded

    def summary(self, *, overlaps: bool) -> dict[str, Any]:
        ordered = sorted(self.values)
        out: dict[str, Any] = {
            "count": self.count,
            "p50_ms": percentile(ordered, 0.5),
            "p95_ms": percentile(ordered, 0.95),
            "max_ms": ordered[-1] if ordered else None,
        }
        if overlaps:
            out["yielded"] = self.yielded
        return out


class _Totals:
    def __init__(self) -> None:
        self.responses = _Samples()
        self.overlaps = _Samples()

    def add(self, turn: Turn) -> None:
        if turn.kind == RESPONSE:
            self.responses.add(turn.gap_ms)
        else:
            self.overlaps.add(turn.overlap_ms, turn.yielded)

    def summary(self) -> dict[str, Any]:
        return {"responses": self.responses.summary(overlaps=False), "overlaps": self.overlaps.summary(overlaps=True)}


class TurnStats:
    """Turns summed up: overall, per participant who took the turn, and the latest ones (``get-turn-stats``)."""

    def __init__(self) -> None:
        self.total = _Totals()
        self.by_participant: dict[str, _Totals] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_TURNS)

    def add(self, turn: Turn, data: dict[str, Any]) -> None:
        """Count ``turn`` (``data``: its event data, kept for ``recent``)."""
        self.total.add(turn)
        self.by_participant.setdefault(turn.participant_id, _Totals()).add(turn)
        self.recent.append(data)

    def summary(self) -> dict[str, Any]:
        """``responses`` and ``overlaps`` overall (what the history keeps per session)."""
        return self.total.summary()

    def report(self, recent: int) -> dict[str, Any]:
        """``get-turn-stats``' result but ``room_url`` and ``since``."""
        return {
            **self.total.summary(),
            "by_participant": {pid: totals.summary() for pid, totals in self.by_participant.items()},
            "recent": list(self.recent)[-recent:] if recent > 0 else [],
        }


def empty_summary() -> dict[str, Any]:
    """The ``turns`` of a session that saw none."""
    return _Totals().summary()
