"""The CI figures: failure trend, top categories, fix rate by category, time saved, flaky tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from domain.reports.config import ReportsConfig
from domain.reports.history import CIFact
from domain.reports.success import Window

FINISHED = frozenset({"auto_fixed", "approved_fixed", "escalated", "incident"})


class FlakyTest(BaseModel):
    project: str
    key_line: str
    failures: int
    fixed_by_rerun: int
    score: float  # share of its failures a re-run fixed: 1.0 = surely flaky


class CIView(BaseModel):
    failures: int
    per_day: list[tuple[datetime, int]]
    top_categories: list[tuple[str, int]]
    fix_rate_by_category: dict[str, float]
    hours_saved: float
    flaky_tests: list[FlakyTest]


def ci_view(facts: Sequence[CIFact], window: Window, config: ReportsConfig) -> CIView:
    inside = [f for f in facts if window.holds(f.at)]
    per_day = [(d.start, sum(1 for f in inside if d.holds(f.at))) for d in window.split(timedelta(days=1))]
    categories = Counter(f.category or "unknown" for f in inside)
    finished: dict[str, list[CIFact]] = defaultdict(list)
    for f in inside:
        if f.outcome in FINISHED:
            finished[f.category or "unknown"].append(f)
    rates = {
        c: round(sum(1 for f in items if f.fixed) / len(items), 4) for c, items in sorted(finished.items())
    }
    flaky: dict[tuple[str, str], list[CIFact]] = defaultdict(list)
    for f in inside:
        if f.category == "flaky_test" and f.key_line:
            flaky[(f.project, f.key_line[:200])].append(f)
    tests = [
        FlakyTest(
            project=project,
            key_line=line,
            failures=len(items),
            fixed_by_rerun=(fixed := sum(1 for f in items if f.fixed)),
            score=round(fixed / len(items), 4),
        )
        for (project, line), items in flaky.items()
    ]
    return CIView(
        failures=len(inside),
        per_day=per_day,
        top_categories=categories.most_common(),
        fix_rate_by_category=rates,
        hours_saved=round(sum(1 for f in inside if f.fixed) * config.minutes_per_ci_failure / 60, 4),
        flaky_tests=sorted(tests, key=lambda t: (-t.failures, -t.score, t.key_line)),
    )
