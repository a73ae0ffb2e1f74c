"""Outages of what Mender depends on, while a small fleet heals: Temporal frozen (SIGSTOP) 30 s, GitHub's
5xx bursts then its secondary rate limit (answered 403 and 429 with Retry-After), the store locked 20 s
(the issue's magnitudes)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from tests.chaos.conftest import REPOS
from tests.chaos.fleet import during, settle, start_fleet
from tests.support.processes import ProcessStack

PAUSE_SECONDS = 30.0
LOCK_SECONDS = 20.0
BURSTS = [  # two GitHub outages (every call answered 502), the second while the first's retries land
    {"type": "github_outage", "start_seconds": 1, "duration_seconds": 4},
    {"type": "github_outage", "start_seconds": 10, "duration_seconds": 8},
]
IN_FLIGHT_SECONDS = 2.0  # a call sent before the limit's answer reached the worker may land just after it
FAULTS = [["flaky_checks"], ["behind_base"], ["approver_bot_missed"]]
# under the write limit, three more PRs whose remedies write: writes queue up behind each limit, so the
# limit answers more than once (403, then 429) however the bursts spread the fleet's writes
LIMITED = [*FAULTS, ["policy_bot_missed"], ["behind_base"], ["automerge_missed"]]


def judged(stack: ProcessStack, repo: str, since: float, fault: str, injected: str, rows: list[Any]) -> None:
    verdict = settle(stack, repo, since)
    rows.append(verdict.row(fault, injected))
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == len(FAULTS)


def test_no_fault_baseline(stack: ProcessStack, fault_table: list[dict[str, Any]]) -> None:
    """The same fleet with nothing broken: the floor of the other rows (and of the doubled count)."""
    repo = REPOS["baseline"]
    since = start_fleet(stack, repo, FAULTS)
    judged(stack, repo, since, "none (baseline)", "-", fault_table)


def test_temporal_frozen(stack: ProcessStack, fault_table: list[dict[str, Any]]) -> None:
    repo = REPOS["temporal"]
    since = start_fleet(stack, repo, FAULTS)
    during(PAUSE_SECONDS, lambda: stack.pause("temporal"), lambda: stack.resume("temporal"))
    injected = f"Temporal SIGSTOP {PAUSE_SECONDS:.0f} s"
    judged(stack, repo, since, "Temporal paused", injected, fault_table)


def test_github_5xx_bursts_then_secondary_rate_limits(
    stack: ProcessStack, fault_table: list[dict[str, Any]]
) -> None:
    repo = REPOS["github"]
    # one write per 10 s, beyond it GitHub's secondary limit, answered 403 and 429 in turn
    stack.sim(
        "access", {"writes_per_minute": 1, "write_window_seconds": 10, "secondary_statuses": [403, 429]}
    )
    try:
        since = start_fleet(stack, repo, LIMITED, world_faults=BURSTS)
        verdict = settle(stack, repo, since)
    finally:
        stack.sim("access", {})  # GitHub's usual limits again
    calls = stack.requests(since)
    limited = [r for r in calls if r["status"] in (403, 429) and r["retry_after"]]
    # the call GitHub limited is not made again before its Retry-After is over (the issue: retried
    # after 1 s and 2 s whatever the header said), and no other call of the worker either
    same = [
        r
        for hit in limited
        for r in calls
        if (r["method"], r["path"], r["body_sha"]) == (hit["method"], hit["path"], hit["body_sha"])
        and hit["at"] < r["at"] < hit["at"] + float(hit["retry_after"]) - 0.5
    ]
    # nor any other write of the worker: a secondary limit answered to a write holds the token's writes;
    # its reads (staleness checks) go on, as GitHub's secondary limit on content creation allows
    other = [
        f"{r['method']} {r['path']} {r['at'] - hit['at']:.1f} s after a {hit['status']}"
        for hit in limited
        for r in calls
        if r["method"] != "GET"
        and hit["at"] + IN_FLIGHT_SECONDS < r["at"] < hit["at"] + float(hit["retry_after"]) - 0.5
    ]
    outage_502 = sum(r["status"] == 502 for r in calls)
    counts = Counter(r["status"] for r in limited)
    statuses = sorted(counts)
    fault_table.append(
        verdict.row(
            "GitHub 502 bursts, then secondary rate limits (403 and 429 + Retry-After)",
            f"2 bursts: {outage_502} calls answered 502; {len(limited)} limited "
            f"({', '.join(f'{counts[s]} answered {s}' for s in statuses)}); "
            f"{len(same) + len(other)} calls inside Retry-After",
        )
    )
    assert outage_502 and statuses == [403, 429], ("the faults did not happen", outage_502, limited)
    assert same == [] and other == [], (same, other)
    assert verdict.lost == [] and verdict.doubled == {} and verdict.task_failures == [], verdict
    assert verdict.ended == verdict.total == len(LIMITED)


def test_store_locked(stack: ProcessStack, fault_table: list[dict[str, Any]]) -> None:
    repo = REPOS["store"]
    since = start_fleet(stack, repo, FAULTS)
    lock = sqlite3.connect(stack.database_url.removeprefix("sqlite:///"), timeout=30)

    def take() -> None:
        lock.execute("BEGIN EXCLUSIVE")

    try:
        during(LOCK_SECONDS, take, lock.rollback)
    finally:
        lock.close()
    injected = f"SQLite store locked (BEGIN EXCLUSIVE) {LOCK_SECONDS:.0f} s"
    judged(stack, repo, since, "store unavailable", injected, fault_table)
