"""What Mender wrote to the GitHub simulator in a `mender simulate` run, from its request log: writes
GitHub took, writes refused by its secondary limit (429), the most taken in any minute, and the requests
that counted against the hourly (primary) limit (every answer but a 304)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MINUTE = 60.0


def writes_report(requests: Iterable[dict[str, Any]], logged_at_most: int | None = None) -> dict[str, Any]:
    """`taken`, `refused_429`, `busiest_minute` (writes taken in the busiest 60 s), `per_minute` (taken
    over the minutes from the first to the last), and `log_full` (the log may have dropped the oldest)."""
    requests = list(requests)
    writes = [r for r in requests if r.get("method") in WRITES]
    taken = sorted(float(r["at"]) for r in writes if 200 <= int(r.get("status", 0)) < 300)
    busiest, start = 0, 0
    for end, at in enumerate(taken):
        while at - taken[start] >= MINUTE:
            start += 1
        busiest = max(busiest, end - start + 1)
    span = taken[-1] - taken[0] if len(taken) > 1 else 0.0
    return {
        "taken": len(taken),
        "refused_429": sum(1 for r in writes if r.get("status") == 429),
        "requests_counted": sum(1 for r in requests if r.get("status") != 304),
        "busiest_minute": busiest,
        "per_minute": round(len(taken) / (span / MINUTE), 1) if span >= MINUTE else None,
        "log_full": logged_at_most is not None and len(requests) >= logged_at_most,
    }
