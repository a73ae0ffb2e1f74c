"""The candidate key lines kept while a log streams: the best-scoring lines of each step, bounded.

Each step keeps its `PER_STEP` best lines (by evidence score, earliest first on ties). A step that did not
fail keeps only its `KEPT_AFTER_PASS` best once the next step starts; at most `MAX_STEPS_KEPT` steps keep
candidates (the weakest passing step's are dropped first). So memory is bounded whatever the log's size,
and the failing step's lines are never crowded out by noise of other steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.diagnosis.reading import body_of
from domain.diagnosis.structure import Step
from domain.shared.redaction import Redactor

PER_STEP = 24
KEPT_AFTER_PASS = 3
MAX_STEPS_KEPT = 12


@dataclass(eq=False)
class Capture:
    """A candidate line and the redacted lines around it."""

    found: Any  # the matcher's match: has .priority, .context, .context_lines
    line_number: int
    line: str
    before: list[str]
    step: str | None
    redactor: Redactor
    need: int  # lines still to collect after it
    pending: bool = False  # waits for its context regex
    feed_from: int = 0  # index in the current block of the next line to collect
    after: list[str] = field(default_factory=list)
    score: int = 0  # evidence score (`domain.diagnosis.evidence`)
    step_index: int = 0  # the step it belongs to (`domain.diagnosis.structure`)
    summary: bool = False  # a summary or exit line
    in_pass: bool = False  # the passing run prints it too
    matches: list[Any] = field(default_factory=list)  # the playbook rules it matches, highest first
    base: int = 0  # the score without the playbook rule's part

    @property
    def top(self) -> Any:
        """The highest-priority match whose context (if the rule has one) occurs in the kept window."""
        for match in self.matches:
            if match.context is None:
                return match
            near = [*self.before[-match.context_lines :], *self.after[: match.context_lines]]
            if any(match.context.search(body_of(text)) for text in near):
                return match
        return None

    @property
    def rank(self) -> tuple[int, int]:
        return (self.found.priority, -self.line_number)


@dataclass
class ScanOutcome:
    best: Capture | None
    tail: list[str]  # the redacted last lines of the log
    total_lines: int
    total_bytes: int
    last_step: str | None
    candidates: list[Capture] = field(default_factory=list)  # the best lines of each step
    exits: list[Capture] = field(default_factory=list)  # the first non-zero exit lines
    steps: list[Step] = field(default_factory=list)


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
