"""The baseline, POC and validation reports of the specification's phases (pure, over histories)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import fmean

from pydantic import BaseModel

from domain.reports.config import ReportsConfig
from domain.reports.history import CIFact, PRHistory
from domain.reports.roi import RoiProjection, project
from domain.reports.success import Window, figures, hours_saved

MIN_BASELINE_PRS = 50  # fewer PRs make the failure-mode distribution anecdotal


class FailureMode(BaseModel):
    state: str
    stalls: int
    share: float
    detect_hours: float | None
    remediate_hours: float | None


class BaselineReport(BaseModel):
    window_days: float
    prs: int
    enough_prs: bool
    stale_prs: int
    stale_prs_per_week: float
    failure_modes: list[FailureMode]
    ci_failures: int
    monthly_manual_hours: float
    monthly_cost: float  # at the expected context-switch multiplier
    exposure_hours_by_severity: dict[str, float]
    security_prs_per_month: dict[str, float]
    metrics: dict[str, float | None]


def _mean(values: Sequence[float]) -> float | None:
    return round(fmean(values), 4) if values else None


def per_month(count: float, window: Window) -> float:
    return count / window.days * 30


def baseline(
    prs: Sequence[PRHistory], ci: Sequence[CIFact], window: Window, config: ReportsConfig
) -> BaselineReport:
    """What stale PRs and failed pipelines cost before Mender acts (observe mode, or history)."""
    opened = [p for p in prs if window.holds(p.opened_at)]
    stalls = [s for p in prs for s in p.stalls if window.holds(s.since)]
    by_state: dict[str, list] = defaultdict(list)
    for s in stalls:
        by_state[s.state].append(s)
    modes = [
        FailureMode(
            state=state,
            stalls=len(items),
            share=round(len(items) / len(stalls), 4),
            detect_hours=_mean([s.detect_hours for s in items]),
            remediate_hours=_mean([h for s in items if (h := s.remediate_hours()) is not None]),
        )
        for state, items in sorted(by_state.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    failures = [f for f in ci if window.holds(f.at)]
    hours = (
        per_month(len(stalls), window) * config.minutes_per_stale_pr
        + per_month(len(failures), window) * config.minutes_per_ci_failure
    ) / 60
    exposure: dict[str, list[float]] = defaultdict(list)
    for p in opened:
        if p.severity:
            end = min(p.merged_at or window.end, window.end)
            exposure[p.severity].append((end - p.opened_at).total_seconds() / 3600)
    multiplier = config.scenarios["expected"].context_switch_multiplier
    return BaselineReport(
        window_days=round(window.days, 2),
        prs=len(opened),
        enough_prs=len(opened) >= MIN_BASELINE_PRS,
        stale_prs=len({p.key for p in prs for s in p.stalls if window.holds(s.since)}),
        stale_prs_per_week=round(len(stalls) / (window.days / 7), 4),
        failure_modes=modes,
        ci_failures=len(failures),
        monthly_manual_hours=round(hours, 4),
        monthly_cost=round(hours * config.hourly_rate_usd * multiplier, 2),
        exposure_hours_by_severity={k: round(fmean(v), 4) for k, v in sorted(exposure.items())},
        security_prs_per_month={k: round(per_month(len(v), window), 4) for k, v in sorted(exposure.items())},
        metrics=figures(prs, window),
    )


class PocReport(BaseModel):
    window_days: float
    stale_prs_per_day: float
    remediations: dict[str, dict[str, int]]  # action -> outcome -> count
    successful: int  # effect seen and the PR then progressed (`domain/reports/progress.py`)
    failed: int
    still_need_human: list[str]
    ci_fixed: int
    ci_escalated: int
    hours_saved: float
    money_saved: float
    monthly_hours_saved: float
    baseline_monthly_hours: float | None
    share_of_baseline_saved: float | None
    metrics: dict[str, float | None]
    attempts_without_progress: int = 0  # effect seen (GitHub reacted) but the PR did not progress


def poc(prs: Sequence[PRHistory], ci: Sequence[CIFact], window: Window, config: ReportsConfig) -> PocReport:
    """What Mender did in the window, and what it saved against the baseline's manual hours."""
    stalls = [s for p in prs for s in p.stalls if window.holds(s.since)]
    table: dict[str, Counter] = defaultdict(Counter)
    for p in prs:
        for r in p.remedies:
            if window.holds(r.at):
                table[r.action][r.outcome] += 1
    outcomes = Counter(o for counts in table.values() for o in counts.elements())
    judged = [r for p in prs for r in p.remedies if window.holds(r.at)]
    failures = [f for f in ci if window.holds(f.at)]
    saved = hours_saved(prs, ci, window, config)
    monthly = per_month(saved, window)
    base = config.baseline.monthly_manual_hours
    multiplier = config.scenarios["expected"].context_switch_multiplier
    return PocReport(
        window_days=round(window.days, 2),
        stale_prs_per_day=round(len(stalls) / window.days, 4),
        remediations={a: dict(sorted(c.items())) for a, c in sorted(table.items())},
        successful=sum(1 for r in judged if r.saved),
        failed=outcomes["no effect"] + outcomes["failed"],
        still_need_human=sorted(p.key for p in prs if p.state == "NEEDS_INTERVENTION"),
        ci_fixed=sum(1 for f in failures if f.fixed),
        ci_escalated=sum(1 for f in failures if f.outcome in ("escalated", "incident")),
        hours_saved=round(saved, 4),
        money_saved=round(saved * config.hourly_rate_usd * multiplier, 2),
        monthly_hours_saved=round(monthly, 4),
        baseline_monthly_hours=base,
        share_of_baseline_saved=round(monthly / base, 4) if base else None,
        metrics=figures(prs, window),
        attempts_without_progress=sum(1 for r in judged if r.without_progress),
    )


class ValidationReport(BaseModel):
    checkpoint_days: int  # 30 or 90
    window_days: float
    actual_savings: float
    projected: dict[str, float]  # case -> savings projected for the same period
    ratio_to_expected: float | None
    verdict: str  # ahead, on track, behind


def validation(
    prs: Sequence[PRHistory],
    ci: Sequence[CIFact],
    window: Window,
    config: ReportsConfig,
    projection: RoiProjection,
) -> ValidationReport:
    """Savings actually made in the window vs the ROI projection's cases for the same length of time."""
    multiplier = config.scenarios["expected"].context_switch_multiplier
    actual = hours_saved(prs, ci, window, config) * config.hourly_rate_usd * multiplier
    months = window.days / 30
    projected = {c.case: round(c.monthly_savings * months, 2) for c in projection.cases}
    expected = projected["expected"]
    if actual >= projected["best"]:
        verdict = "ahead"
    elif actual >= projected["worst"]:
        verdict = "on track"
    else:
        verdict = "behind"
    return ValidationReport(
        checkpoint_days=30 if window.days <= 60 else 90,
        window_days=round(window.days, 2),
        actual_savings=round(actual, 2),
        projected=projected,
        ratio_to_expected=round(actual / expected, 4) if expected else None,
        verdict=verdict,
    )


def roi_from(base: BaselineReport, config: ReportsConfig) -> RoiProjection:
    """The ROI projection from a baseline (the configured manual hours win when set)."""
    hours = config.baseline.monthly_manual_hours or base.monthly_manual_hours
    return project(hours, config, base.exposure_hours_by_severity, base.security_prs_per_month)
