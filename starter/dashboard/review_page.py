"""The review queue page of the dashboard: what `GET /api/review` answers, and how to work each item.

Read-only (the dashboard has no script and no write action): approving and rejecting stay with
`mender review approve|reject ID`, the Admin API and Slack's buttons, whose commands the page shows.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from domain.ci_healing.review_queue import ReviewItem, ReviewStatus
from domain.reports.needs_me import duration
from starter.dashboard.layout import cell, link, page, table


def _row(item: ReviewItem, now: datetime) -> str:
    waited = duration((now - item.created_at).total_seconds())
    reasons = "".join(f"<li>{escape(r)}</li>" for r in item.reasons[:8])
    pr = link(item.pr_url, item.pr_ref) if item.pr_url else escape(item.pr_ref)
    if item.status is ReviewStatus.PENDING and item.route != "blocked":
        work = f"<code>mender review approve {item.id}</code><br><code>mender review reject {item.id}</code>"
    elif item.status is ReviewStatus.PENDING:
        work = "review and merge it yourself: a high-severity finding blocks Mender"
    else:
        work = escape(f"{item.status.value} by {item.decided_by or '-'}: {item.reason or '-'}")
    return (
        f'<tr data-review="{item.id}"><td>{item.id}</td><td>{pr}<br>{escape(item.title[:200])}</td>'
        + cell(round(item.score, 2), field="score")
        + f"<td data-route>{escape(item.route)}</td><td><ol>{reasons}</ol></td>"
        f"<td title='{escape(item.created_at.isoformat())}'>{escape(waited)}</td>"
        f"<td data-status>{escape(item.status.value)}</td><td>{work}</td></tr>"
    )


def review(
    items: list[ReviewItem], status: ReviewStatus | None, now: datetime, params: dict[str, Any]
) -> str:
    shown = status.value if status else "all"
    filters = " ".join(
        link(f"/dashboard/review?status={s}", s)
        for s in [*(s.value for s in ReviewStatus), "all"]
        if s != shown
    )
    body = (
        f'<p><b data-count="review">{len(items)}</b> fix PRs ({escape(shown)}), oldest first. '
        f"Show: {filters}</p>"
        + table(
            ["ID", "Fix PR", "Confidence", "Route", "Why it waits", "Waiting", "Status", "What you do"],
            [_row(i, now) for i in items],
            "the review queue is empty",
        )
    )
    return page("review", "Review queue", body, params)
