"""`mender report baseline|poc|roi|validation`: read the store, compute, render md, html or json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from domain.config import MenderConfig
from domain.reports.history import PRHistory
from domain.reports.phases import baseline, poc, roi_from, validation
from domain.reports.success import Window
from starter.dashboard import svg
from starter.report_render import render_html, render_markdown

if TYPE_CHECKING:
    from sqlalchemy import Engine


class ReportKind(StrEnum):
    BASELINE = "baseline"
    POC = "poc"
    ROI = "roi"
    VALIDATION = "validation"


class ReportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


TITLES = {
    ReportKind.BASELINE: "Baseline: what stale bot PRs and failed pipelines cost today",
    ReportKind.POC: "Proof of concept: what Mender did and saved",
    ReportKind.ROI: "Return on investment: projection in three cases",
    ReportKind.VALIDATION: "Validation against the ROI projection",
}


class Report(BaseModel):
    kind: ReportKind
    title: str
    window_start: datetime
    window_end: datetime
    generated_at: datetime
    body: dict[str, Any]


def build(
    kind: ReportKind,
    engine: Engine,
    config: MenderConfig,
    window: Window,
    history: list[PRHistory] | None = None,
) -> Report:
    """Compute one report over `window` from the store projection and the audit trail.

    `history`: bot PRs read from GitHub instead (a baseline before Mender ran; no CI failures then).
    """
    from store.report_data import ci_facts, pr_histories  # the database only when a report is built

    prs = pr_histories(engine, config, window.end) if history is None else history
    ci = ci_facts(engine, window.end) if history is None else []
    settings = config.reports
    base = baseline(prs, ci, window, settings)
    if kind is ReportKind.BASELINE:
        body = base.model_dump(mode="json")
        measured = {k: v for k, v in base.metrics.items() if v is not None}
        body["for_mender_yaml"] = {
            "reports": {"baseline": {**measured, "monthly_manual_hours": base.monthly_manual_hours}}
        }
    elif kind is ReportKind.POC:
        body = poc(prs, ci, window, settings).model_dump(mode="json")
    elif kind is ReportKind.ROI:
        projection = roi_from(base, settings)
        body = projection.model_dump(mode="json") | {
            "cumulative_net_savings": projection.savings_by_month(24)
        }
    else:
        body = validation(prs, ci, window, settings, roi_from(base, settings)).model_dump(mode="json")
    if history is not None:
        body["source"] = "github history (CI failures not counted)"
    return Report(
        kind=kind,
        title=TITLES[kind],
        window_start=window.start,
        window_end=window.end,
        generated_at=datetime.now(UTC),
        body=_finite(body),
    )


def _finite(value: Any) -> Any:
    """JSON has no infinity: an endless payback is written as null."""
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def charts(report: Report) -> list[str]:
    """The SVG charts of a report's HTML form: before/after, and projected savings over time."""
    body = report.body
    if report.kind is ReportKind.BASELINE:
        modes = [(m["state"], float(m["stalls"])) for m in body["failure_modes"]]
        return [svg.bars("Stalls by failure mode", modes)]
    if report.kind is ReportKind.POC:
        before = body["baseline_monthly_hours"]
        after = [("hours saved a month", body["monthly_hours_saved"])]
        if before:
            after = [("manual hours a month before", before), *after]
            after.append(("manual hours a month after", max(before - body["monthly_hours_saved"], 0.0)))
        actions = [(a, float(sum(c.values()))) for a, c in body["remediations"].items()]
        return [svg.bars("Before and after", after, " h"), svg.bars("Remediations by type", actions)]
    if report.kind is ReportKind.ROI:
        series = body["cumulative_net_savings"]
        months = [f"month {i}" for i in range(len(next(iter(series.values()))))]
        return [svg.lines("Cumulative savings minus development cost (USD)", series, months)]
    projected = [(f"projected ({case})", value) for case, value in body["projected"].items()]
    return [svg.bars("Actual vs projected savings (USD)", [("actual", body["actual_savings"]), *projected])]


def render(report: Report, fmt: ReportFormat) -> str:
    if fmt is ReportFormat.JSON:
        return json.dumps(report.model_dump(mode="json"), indent=2)
    if fmt is ReportFormat.MD:
        return render_markdown(report.title, _meta(report), report.body)
    return render_html(report.title, _meta(report), report.body, charts(report))


def _meta(report: Report) -> dict[str, str]:
    return {
        "window": f"{report.window_start:%Y-%m-%d %H:%M} to {report.window_end:%Y-%m-%d %H:%M} UTC",
        "generated": f"{report.generated_at:%Y-%m-%d %H:%M} UTC",
    }
