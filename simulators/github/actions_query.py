"""Query filters of `GET /repos/{owner}/{repo}/actions/runs`: status, branch, event, actor, created, ...

`created` takes GitHub's search date syntax: `>=X`, `>X`, `<=X`, `<X`, `X..Y` (`*` for an open end) or
`X` alone, where X is a date (`2024-05-01`, the whole day) or an ISO 8601 time (`2024-05-01T10:00:00Z`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta

from simulators.github.model import CheckSuite

RUN_STATUSES = frozenset({"queued", "in_progress", "completed", "requested", "waiting", "pending"})
RUN_CONCLUSIONS = frozenset(
    {"success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale"}
)
Interval = tuple[datetime | None, datetime | None]  # [low, high), None for an open end


def _bounds(token: str) -> tuple[datetime, datetime]:
    """[start, end) of a date (its whole day) or of a time (its second)."""
    token = token.strip()
    if len(token) == 10:
        day = date.fromisoformat(token)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(token)
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    return moment, moment + timedelta(seconds=1)


def parse_created(value: str) -> Interval:
    """The half-open interval a `created` qualifier selects; ValueError when it does not parse."""
    value = value.strip()
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            low, high = _bounds(value[len(op) :])
            return {">=": (low, None), ">": (high, None), "<=": (None, high), "<": (None, low)}[op]
    if ".." in value:
        first, _, last = value.partition("..")
        low = None if first.strip() == "*" else _bounds(first)[0]
        high = None if last.strip() == "*" else _bounds(last)[1]
        return low, high
    return _bounds(value)


def run_filter(
    query: Mapping[str, str], actor_of: Callable[[CheckSuite], str]
) -> Callable[[CheckSuite], bool]:
    """A predicate for the list query's filters; ValueError naming a bad filter value."""
    status = query.get("status")
    if status and status not in RUN_STATUSES | RUN_CONCLUSIONS:
        raise ValueError(f"status {status!r} is not a workflow run status or conclusion")
    try:
        low, high = parse_created(query["created"]) if query.get("created") else (None, None)
    except ValueError:
        raise ValueError(
            f"created {query['created']!r} is not a date qualifier such as >=2024-05-01"
        ) from None

    def keep(suite: CheckSuite) -> bool:
        if status in RUN_STATUSES and suite.status != status:
            return False
        if status in RUN_CONCLUSIONS and suite.conclusion != status:
            return False
        if low is not None and suite.created_at < low:
            return False
        if high is not None and suite.created_at >= high:
            return False
        checks = (
            ("branch", suite.head_branch),
            ("event", suite.event),
            ("head_sha", suite.head_sha),
            ("check_suite_id", str(suite.id)),
        )
        if any(query.get(key) and query[key] != value for key, value in checks):
            return False
        return not query.get("actor") or actor_of(suite) == query["actor"]

    return keep
