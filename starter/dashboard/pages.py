"""The dashboard pages, rendered from the same views the Admin API answers with."""

from __future__ import annotations

from html import escape
from typing import Any

from domain.reports.ci_view import CIView
from domain.reports.needs_me import NeedsMe, WaitingCI, duration
from starter.dashboard import svg
from starter.dashboard.layout import cell, link, num, page, table
from starter.merge_queues import QueuesView
from starter.ops_data import HealthView, SuccessView


def _tried(attempts: list) -> str:
    if not attempts:
        return '<span class="muted">nothing yet</span>'
    items = "".join(
        f"<li>{escape(f'{a.at:%Y-%m-%d %H:%M}')} {escape(a.action)}: <b>{escape(a.outcome)}</b>"
        f"{(' - ' + escape(a.detail)) if a.detail else ''}</li>"
        for a in attempts
    )
    return f"<ol>{items}</ol>"


def _ci_row(item: WaitingCI) -> str:
    links = [link(item.run_url, "run")] if item.run_url else []
    if item.fix_pr_url:
        links.append(link(item.fix_pr_url, "fix PR"))
    links.append(link(item.workflow_url, "workflow"))
    return (
        f'<tr data-ci="{escape(item.workflow_id)}"><td>{escape(item.project)} #{item.run_id}</td>'
        f"<td>{escape(item.waiting_for)}</td><td>{escape(item.category or '-')} / {escape(item.action or '-')}"
        f"<br><code>{escape(item.key_line or '')}</code></td><td>{escape(f'{item.since:%Y-%m-%d %H:%M}')}</td>"
        f"<td>{escape(item.human_action)}</td><td>{' '.join(links)}</td></tr>"
    )


def needs_me(view: NeedsMe, params: dict[str, Any]) -> str:
    rows = [
        f'<tr data-pr="{escape(p.pr)}"><td>{link(p.pr_url, p.pr)}</td><td>{escape(p.state)}</td>'
        f"<td title='{escape(p.since.isoformat())}'>{escape(duration(p.stuck_seconds))}</td>"
        f"<td>{escape(p.why)}</td><td>{_tried(p.tried)}</td><td>{escape(p.human_action)}</td>"
        f"<td>{link(p.workflow_url, 'workflow')}</td></tr>"
        for p in view.prs
    ]
    counts = (
        f'<p><b data-count="prs">{len(view.prs)}</b> stuck PRs, <b data-count="ci">{len(view.ci)}</b> '
        f'CI failures waiting for a human, <b data-count="review">{len(view.review)}</b> fix PRs to review.</p>'
    )
    body = (
        counts
        + "<h2>Stuck PRs</h2>"
        + table(
            ["PR", "State", "Stuck for", "Why", "What Mender tried", "What you do", "Links"],
            rows,
            "no stuck PRs",
        )
        + "<h2>CI failures waiting for a human</h2>"
        + table(
            ["Run", "Waiting for", "Diagnosis", "Since", "What you do", "Links"],
            [_ci_row(c) for c in view.ci],
            "none",
        )
        + "<h2>Fix PRs to review</h2>"
        + table(
            ["Run", "Waiting for", "Diagnosis", "Since", "What you do", "Links"],
            [_ci_row(c) for c in view.review],
            "none",
        )
    )
    return page("needs-me", "Needs me", body, params)


def success(view: SuccessView, params: dict[str, Any]) -> str:
    rows = []
    for m in view.metrics:
        met = m.meets_target
        verdict = "-" if met is None else ("met" if met else "not met")
        rows.append(
            f'<tr data-metric="{m.name}"><td>{escape(m.name.replace("_", " "))}</td>'
            + cell(m.current, field="current")
            + cell(m.baseline, field="baseline")
            + cell(m.target, field="target")
            + f"<td>{escape(m.unit)}</td><td class='{'ok' if met else 'bad'}'>{verdict}</td></tr>"
        )
    weeks = [f"{start:%m-%d}" for start, _ in view.weekly]
    weekly = {
        "merged/week": [v["pr_throughput_per_week"] or 0.0 for _, v in view.weekly],
        "stale rate x100": [(v["stale_pr_rate"] or 0.0) * 100 for _, v in view.weekly],
    }
    months = [f"{start:%Y-%m-%d}" for start, _ in view.monthly]
    monthly = {"hours to merge": [v["mean_time_to_merge_hours"] or 0.0 for _, v in view.monthly]}
    hours = view.roi[-1][1] if view.roi else 0.0
    money = view.roi[-1][2] if view.roi else 0.0
    tracker = (
        f'<p>Saved so far: <b data-roi="hours">{num(hours)}</b> hours, '
        f'<b data-roi="usd">{num(money)}</b> USD.</p>'
    )
    charts = (
        '<div class="charts">'
        + svg.lines("Weekly trend", weekly, weeks)
        + svg.lines("Monthly trend", monthly, months)
        + svg.lines(
            "ROI tracker: cumulative USD saved",
            {"USD": [r[2] for r in view.roi]},
            [f"{r[0]:%m-%d}" for r in view.roi],
        )
        + "</div>"
    )
    window = f"<p class='muted'>{view.window_start:%Y-%m-%d} to {view.window_end:%Y-%m-%d} UTC</p>"
    body = (
        window
        + table(["Metric", "Current", "Baseline", "Target", "Unit", "Verdict"], rows)
        + tracker
        + charts
        + "<h2>Weekly</h2>"
        + _trend_table(view.weekly, "%m-%d")
        + "<h2>Monthly</h2>"
        + _trend_table(view.monthly, "%Y-%m-%d")
    )
    return page("success", "Success", body, params)


def _trend_table(periods: list, fmt: str) -> str:
    """The seven metrics (rows) per period (columns, by start date)."""
    if not periods:
        return '<p class="muted">no data</p>'
    names = list(periods[0][1])
    rows = [
        f'<tr data-trend="{escape(name)}"><td>{escape(name.replace("_", " "))}</td>'
        + "".join(cell(values[name]) for _, values in periods)
        + "</tr>"
        for name in names
    ]
    return table(["Metric", *(f"{start:{fmt}}" for start, _ in periods)], rows)


def ci(view: CIView, params: dict[str, Any]) -> str:
    rates = [
        f'<tr data-category="{escape(c)}"><td>{escape(c)}</td>' + cell(r, field="fix_rate") + "</tr>"
        for c, r in view.fix_rate_by_category.items()
    ]
    flaky = [
        f"<tr><td>{escape(t.project)}</td><td><code>{escape(t.key_line)}</code></td>"
        + cell(t.failures, field="failures")
        + cell(t.score, field="score")
        + "</tr>"
        for t in view.flaky_tests
    ]
    summary = (
        f'<p><b data-count="failures">{view.failures}</b> failed runs; '
        f'<b data-count="hours_saved">{num(view.hours_saved)}</b> hours saved.</p>'
    )
    charts = (
        '<div class="charts">'
        + svg.lines(
            "Failures per day",
            {"failures": [float(n) for _, n in view.per_day]},
            [f"{d:%m-%d}" for d, _ in view.per_day],
        )
        + svg.bars("Top categories", [(c, float(n)) for c, n in view.top_categories])
        + "</div>"
    )
    body = (
        summary
        + charts
        + "<h2>Remediation success rate by category</h2>"
        + table(["Category", "Fixed share"], rates, "no finished runs")
        + "<h2>Flaky tests</h2>"
        + table(["Project", "Test", "Failures", "Score"], flaky, "no flaky tests")
    )
    return page("ci", "CI", body, params)


def health(view: HealthView, params: dict[str, Any]) -> str:
    hooks = [
        f"<tr data-webhook='{escape(k)}'><td>{escape(k)}</td>" + cell(v) + "</tr>"
        for k, v in sorted(view.webhooks.items())
    ]
    actions = [
        f"<tr data-action='{escape(a)}'><td>{escape(a)}</td><td>"
        + ", ".join(f"{escape(o)}: {n}" for o, n in sorted(c.items()))
        + "</td></tr>"
        for a, c in view.actions.items()
    ]
    breakers = [
        f"<tr data-breaker='{escape(s)}'><td>{escape(s)}</td><td>{escape(str(b['state']))}</td>"
        f"<td>{escape(str(b['since']))}</td><td>{escape(str(b['actor']))}</td></tr>"
        for s, b in view.breakers.items()
    ]
    errors = [
        f"<tr data-error='{escape(k)}'><td>{escape(k)}</td>" + cell(v) + "</tr>"
        for k, v in sorted(view.errors.items())
    ]
    access = [
        f"<tr data-access='{escape(str(a['repository']))}'><td>{escape(str(a['repository']))}</td>"
        f"<td>{escape(str(a['status']))} {escape(str(a['message'] or ''))}</td>"
        f"<td>{escape(str(a['permission'] or '-'))}</td><td>{escape(str(a['call'] or ''))}</td>"
        f"<td>{escape(str(a['at']))}</td></tr>"
        for a in view.github_access
    ]
    sweeps = view.reconciler
    reconciler = (
        f"<p>Reconciler: <b data-reconciler='sweeps'>{num(sweeps.get('sweeps'))}</b> sweeps, last "
        f"{escape(str(sweeps.get('last') or '-'))}, next {escape(str(sweeps.get('next') or '-'))}.</p>"
        if sweeps.get("available")
        else f"<p class='muted'>Reconciler schedule unavailable ({escape(str(sweeps.get('reason', '-')))}).</p>"
    )
    body = (
        f"<p class='muted'>{view.window_start:%Y-%m-%d %H:%M} to {view.window_end:%Y-%m-%d %H:%M} UTC</p>"
        + reconciler
        + "<h2>Webhook intake</h2>"
        + table(["Outcome", "Deliveries"], hooks, "no deliveries")
        + "<h2>Actions by type</h2>"
        + table(["Action", "Outcomes"], actions, "no actions")
        + "<h2>Circuit breakers</h2>"
        + table(["Scope", "State", "Since", "By"], breakers, "no breaker changes: all closed")
        + "<h2>GitHub access</h2>"
        + table(
            ["Repository", "Refused", "Needs", "While", "Last"], access, "no refusals: see `mender doctor`"
        )
        + "<h2>Errors</h2>"
        + table(["Action", "Failed"], errors, "no errors")
    )
    return page("health", "Health", body, params)


def queues(view: QueuesView, params: dict[str, Any]) -> str:
    """The merge queues: per (repository, base), who is being brought up to date and who waits."""
    rows = []
    for q in view.queues:
        key = f"{q.repo}:{q.base_ref}"
        seats = ([q.holder] if q.holder else []) + q.waiting
        for seat in seats:
            turn = "updating" if seat.position == 0 else str(seat.position)
            lease = f"{seat.lease_until:%Y-%m-%d %H:%M:%S}" if seat.lease_until else "-"
            rows.append(
                f'<tr data-queue="{escape(key)}" data-pr="{escape(seat.pr)}"><td>{escape(q.repo)}</td>'
                f"<td>{escape(q.base_ref)}</td><td data-field='turn'>{escape(turn)}</td>"
                f"<td>{escape(seat.pr)}</td>{cell(seat.nearness, field='nearness')}"
                f"<td>{escape(f'{seat.since:%Y-%m-%d %H:%M:%S}')}</td><td>{escape(lease)}</td></tr>"
            )
    counts = (
        f'<p><b data-count="queues">{len(view.queues)}</b> merge queues running, '
        f'<b data-count="seats">{len(rows)}</b> PRs in them.</p>'
    )
    body = counts + table(
        ["Repository", "Base", "Turn", "PR", "Nearness (0-4)", "Asked at (UTC)", "Lease until (UTC)"],
        rows,
        "no merge queue is running: no PR is waiting to be brought up to date",
    )
    return page("queues", "Merge queues", body, params)


def page_unavailable(slug: str, title: str, reason: str) -> str:
    return page(slug, title, f"<p class='bad'>Temporal cannot answer now ({escape(reason)}).</p>", {})
