"""The candidate key lines kept while a log streams: the best-scoring lines of each step, bounded.

Each step keeps its `PER_STEP` best lines (by evidence score, earliest first on ties). A step that did not
fail keeps only its `KEPT_AFTER_PASS` best once the next step starts; at most `MAX_STEPS_KEPT` steps keep
candidates (the weakest passing step's are dropped first). So memory is bounded whatever the log's size,
and the failing step's lines are never crowded out by noise of other steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PER_STEP = 24
KEPT_AFTER_PASS = 3
MAX_STEPS_KEPT = 12


def _rank(capture: Any) -> tuple[int, int]:
    return (capture.score, -capture.line_number)


class CandidatePool:
    """Candidates by step index; `drop` is told about every capture that leaves the pool."""

    def __init__(self, drop: Callable[[Any], None]) -> None:
        self.by_step: dict[int, list[Any]] = {}
        self.failed: set[int] = set()
        self._drop = drop

    def floor(self, step: int) -> int | None:
        """The score a new candidate of `step` must beat (None while the step has room)."""
        kept = self.by_step.get(step, [])
        return min(c.score for c in kept) if len(kept) >= PER_STEP else None

    def add(self, capture: Any) -> None:
        kept = self.by_step.setdefault(capture.step_index, [])
        kept.append(capture)
        if len(kept) > PER_STEP:
            weakest = min(kept, key=_rank)
            kept.remove(weakest)
            self._drop(weakest)

    def step_ended(self, step: int, failed: bool) -> None:
        """A step is over: a passing step keeps only its best few; the oldest weak steps go."""
        if failed:
            self.failed.add(step)
        kept = self.by_step.get(step)
        if kept and not failed and len(kept) > KEPT_AFTER_PASS:
            kept.sort(key=_rank, reverse=True)
            for capture in kept[KEPT_AFTER_PASS:]:
                self._drop(capture)
            del kept[KEPT_AFTER_PASS:]
        while len(self.by_step) > MAX_STEPS_KEPT:
            passing = [s for s in self.by_step if s not in self.failed and s != step] or list(self.by_step)
            weakest = min(passing, key=lambda s: max((c.score for c in self.by_step[s]), default=0))
            for capture in self.by_step.pop(weakest):
                self._drop(capture)

    def all(self) -> list[Any]:
        return [capture for kept in self.by_step.values() for capture in kept]
