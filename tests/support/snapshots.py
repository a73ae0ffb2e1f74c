"""Builders for PR snapshots as GitHub would report them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.pr_healing.events import PRRef
from domain.pr_healing.snapshot import CheckRunFact, CheckSuiteFact, PRSnapshot, ReviewFact, StatusFact

HEAD = "a" * 40
PR = PRRef(repo="acme/api", number=1)


def run(
    name: str = "test", conclusion: str | None = "success", output: str = "", status: str = "completed"
) -> CheckRunFact:
    return CheckRunFact(
        id=abs(hash(name)) % 10_000,
        name=name,
        status=status,
        conclusion=conclusion,
        suite_id=1,
        output=output,
    )


def snapshot(
    *,
    runs: list[CheckRunFact] | None = None,
    policy: str | None = "success",
    approved: bool = True,
    **fields: Any,
) -> PRSnapshot:
    """A snapshot of a green, approved, open PR unless told otherwise."""
    runs = [run("build"), run("test")] if runs is None else runs
    pending = any(r.pending for r in runs)
    conclusion = None if pending else ("failure" if any(r.failed for r in runs) else "success")
    values: dict[str, Any] = {
        "pr": PR,
        "state": "open",
        "author": "dependabot[bot]",
        "head_sha": HEAD,
        "mergeable": True,
        "mergeable_state": "clean",
        "check_suites": [
            CheckSuiteFact(
                id=1, status="in_progress" if pending else "completed", conclusion=conclusion, updated_at="t1"
            )
        ]
        if runs
        else [],
        "check_runs": runs,
        "statuses": [StatusFact(id=9, context="policy-bot", state=policy)] if policy else [],
        "reviews": [ReviewFact(id=5, user="approver-bot[bot]", state="APPROVED", commit_id=HEAD)]
        if approved
        else [],
        "fetched_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    return PRSnapshot(**values)
