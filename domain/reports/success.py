"""The seven success metrics of the PR reconciler, current vs baseline vs target, with trends.

Over a window [start, end):
- PR throughput: bot PRs merged per week.
- Mean time to merge: opened to merged, hours, over PRs merged in the window.
- Stale PR rate: share of PRs opened in the window that stalled at least once.
- MTTR: stall start to recovery, hours, over stalls recovered in the window.
- Vulnerability exposure window: security PRs opened in the window, opened to merged (or to the
  window's end while open), hours.
- Manual intervention rate: share of PRs opened in the window that a human had to touch.
- False positive rate: share of judged remediations (effect seen or not) that had no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from pydantic import BaseModel

from domain.reports.config import ReportsConfig
from domain.reports.history import CIFact, PRHistory

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"the window must end after it starts ({self.start} .. {self.end})")

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def split(self, step: timedelta) -> list[Window]:
        """Consecutive sub-windows of `step` (the last one may be shorter)."""
        parts, start = [], self.start
        while start < self.end:
            parts.append(Window(start, min(start + step, self.end)))
            start += step
        return parts


class Metric(BaseModel):
    name: str
    unit: str
    current: float | None
    baseline: float | None
    target: float
    lower_is_better: bool

    @property
    def meets_target(self) -> bool | None:
        if self.current is None:
            return None
        return self.current <= self.target if self.lower_is_better else self.current >= self.target


METRICS: tuple[tuple[str, str, bool], ...] = (  # name, unit, lower is better
    ("pr_throughput_per_week", "PRs/week", False),
    ("mean_time_to_merge_hours", "hours", True),
    ("stale_pr_rate", "ratio", True),
    ("mttr_hours", "hours", True),
    ("exposure_window_hours", "hours", True),
    ("manual_intervention_rate", "ratio", True),
    ("false_positive_rate", "ratio", True),
)


def _mean(values: Sequence[float]) -> float | None:
    return round(fmean(values), 4) if values else None


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def figures(prs: Sequence[PRHistory], window: Window) -> dict[str, float | None]:
    """The seven metrics over `window` (None where nothing in the window can say)."""
    opened = [p for p in prs if window.holds(p.opened_at)]
    merged = [p for p in prs if window.holds(p.merged_at)]
    recovered = [s for p in prs for s in p.stalls if window.holds(s.recovered_at)]
    security = [p for p in opened if p.severity]
    judged = [
        r for p in prs for r in p.remedies if window.holds(r.at) and r.outcome in ("effect seen", "no effect")
    ]
    return {
        "pr_throughput_per_week": round(len(merged) / (window.days / 7), 4),
        "mean_time_to_merge_hours": _mean([_hours(p.opened_at, p.merged_at) for p in merged if p.merged_at]),
        "stale_pr_rate": round(sum(1 for p in opened if p.stalls) / len(opened), 4) if opened else None,
        "mttr_hours": _mean([h for s in recovered if (h := s.remediate_hours()) is not None]),
        "exposure_window_hours": _mean(
            [_hours(p.opened_at, min(p.merged_at or window.end, window.end)) for p in security]
        ),
        "manual_intervention_rate": round(sum(1 for p in opened if p.human_touched) / len(opened), 4)
        if opened
        else None,
        "false_positive_rate": round(sum(1 for r in judged if r.outcome == "no effect") / len(judged), 4)
        if judged
        else None,
    }


def scorecard(prs: Sequence[PRHistory], window: Window, config: ReportsConfig) -> list[Metric]:
    """Current vs baseline (`reports.baseline`) vs target (`reports.targets`) for the seven metrics."""
    current = figures(prs, window)
    return [
        Metric(
            name=name,
            unit=unit,
            current=current[name],
            baseline=getattr(config.baseline, name),
            target=getattr(config.targets, name),
            lower_is_better=lower,
        )
        for name, unit, lower in METRICS
    ]


def trend(prs: Sequence[PRHistory], window: Window, step: timedelta) -> list[tuple[datetime, dict]]:
    """The seven metrics per sub-window (weekly: 7 days, monthly: 30 days)."""
    return [(part.start, figures(prs, part)) for part in window.split(step)]


def hours_saved(
    prs: Sequence[PRHistory], ci: Sequence[CIFact], window: Window, config: ReportsConfig
) -> float:
    """Human time Mender saved: remediations after which the PR progressed (`RemedyAttempt.saved`) and
    pipelines it fixed, at the configured minutes."""
    effective = sum(1 for p in prs for r in p.remedies if window.holds(r.at) and r.saved)
    fixed = sum(1 for f in ci if window.holds(f.at) and f.fixed)
    return (effective * config.minutes_per_stale_pr + fixed * config.minutes_per_ci_failure) / 60


def roi_tracker(
    prs: Sequence[PRHistory], ci: Sequence[CIFact], window: Window, config: ReportsConfig
) -> list[tuple[datetime, float, float]]:
    """Per day: cumulative hours saved and their cost (rate x expected multiplier)."""
    multiplier = config.scenarios["expected"].context_switch_multiplier
    rows, total = [], 0.0
    for day in window.split(timedelta(days=1)):
        total += hours_saved(prs, ci, day, config)
        rows.append((day.start, round(total, 4), round(total * config.hourly_rate_usd * multiplier, 2)))
    return rows
