"""A simulated 30-day fleet history written straight into the store (reports and dashboard tests).

Deterministic for a seed. Paths per PR: merged without help; a failed check re-run by Mender; an
approved PR whose merge Mender nudged twice; an escalation a human resolved by command; and PRs still
stuck at the end (in NEEDS_INTERVENTION, or stale in CHECKS_RUNNING).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from domain.shared.audit import AuditEntry
from store import audit as audit_store
from store.ci_failures import CIFailureRecord
from store.models import PREventRecord, PullRequestRecord, WebhookDeliveryRecord

END = datetime(2026, 12, 1, tzinfo=UTC)
START = END - timedelta(days=30)
REPOS = ("acme/api", "acme/web", "acme/lib")
PATHS = ("clean",) * 11 + ("rerun",) * 4 + ("merge_nudge",) * 2 + ("escalated",) * 2 + ("stuck",)
CATEGORIES = (
    ("flaky_test", "retry", "auto_fixed", "test_checkout timed out after 30s"),
    ("flaky_test", "retry", "escalated", "test_checkout timed out after 30s"),
    ("infrastructure", "retry", "auto_fixed", "Could not resolve host: registry.npmjs.org"),
    ("dependency", "add_dependency", "approved_fixed", "ModuleNotFoundError: No module named 'yaml'"),
    ("code", "human", "escalated", "AssertionError: expected 3, got 4"),
    ("resource", "free_disk", "auto_fixed", "No space left on device"),
)


class _Journal:
    def __init__(self, key: str, at: datetime) -> None:
        self.key, self.at, self.state, self.rows = key, at, None, []

    def add(self, minutes: float, type: str, to_state: str | None = None, **details: object) -> None:
        self.at += timedelta(minutes=minutes)
        changes = to_state is not None
        self.rows.append(
            PREventRecord(
                idempotency_key=f"{self.key}:{type}:{len(self.rows)}",
                pr_key=self.key,
                occurred_at=self.at,
                recorded_at=self.at,
                type=type,
                source="mender" if type == "remediation" else "webhook",
                outcome="applied" if changes else "noted",
                from_state=self.state,
                to_state=to_state if changes else self.state,
                payload={"key": f"{type}:{len(self.rows)}", "details": details},
            )
        )
        if changes:
            self.state = to_state


def _story(j: _Journal, path: str, rng: random.Random) -> list[AuditEntry]:
    """Write one PR's journal for `path`; returns the human commands to audit."""
    j.add(0, "checks_started", "CHECKS_RUNNING")
    if path == "stuck":
        return []
    if path == "rerun":
        j.add(rng.uniform(5, 20), "checks_failed", "CHECKS_FAILED")
        j.add(11, "remediation", action="RETRY_CHECKS", outcome="acted")
        j.add(1, "checks_started", "CHECKS_RUNNING")
        j.add(0, "remediation", action="RETRY_CHECKS", outcome="effect seen")
    j.add(rng.uniform(5, 20), "checks_passed", "CHECKS_PASSED")
    j.add(rng.uniform(2, 10), "approved", "APPROVED")
    if path == "merge_nudge":
        j.add(20, "remediation", action="RETRIGGER_MERGE", outcome="acted")
        j.add(5, "remediation", action="RETRIGGER_MERGE", outcome="no effect")
        j.add(1, "remediation", action="RETRIGGER_MERGE", outcome="acted")
        j.add(1, "remediation", action="RETRIGGER_MERGE", outcome="effect seen")
    if path == "escalated":
        j.add(20, "remediation", action="RETRIGGER_MERGE", outcome="acted")
        j.add(5, "remediation", action="RETRIGGER_MERGE", outcome="no effect")
        j.add(30, "escalated", "NEEDS_INTERVENTION", reason="merge retry budget spent")
        if j.at > END - timedelta(days=3):
            return []  # still waiting for a human
        j.add(rng.uniform(60, 600), "merge_started", "MERGING")
        command = AuditEntry(
            action="pr.command", actor="alice", outcome="accepted", target=j.key, source="comment", at=j.at
        )
        j.add(2, "merged", "MERGED")
        return [command]
    j.add(rng.uniform(1, 10), "merged", "MERGED")
    return []  # merge_nudge: the second nudge merged it


def _pr_rows(
    rng: random.Random, count: int
) -> Iterator[tuple[PullRequestRecord, _Journal, list[AuditEntry]]]:
    for number in range(1, count + 1):
        repo = REPOS[number % len(REPOS)]
        key = f"{repo}#{number}"
        opened = START + timedelta(hours=rng.uniform(0, 29 * 24))
        path = PATHS[number % len(PATHS)] if opened < END - timedelta(days=1) else "stuck"
        journal = _Journal(key, opened)
        severity = "high" if number % 7 == 0 else None
        journal.add(
            0, "opened", "CREATED", html_url=f"https://github.com/{repo}/pull/{number}", severity=severity
        )
        commands = _story(journal, path, rng)
        record = PullRequestRecord(
            key=key,
            repo=repo,
            number=number,
            head_sha=f"{number:040x}",
            state=journal.state,
            last_event_at=journal.at,
            created_at=opened,
            updated_at=journal.at,
        )
        yield record, journal, commands


def write_history(engine: Engine, prs: int = 60, ci_failures: int = 30, seed: int = 16) -> None:
    """Write `prs` bot PRs and `ci_failures` handled pipeline failures over the 30 days before END."""
    rng = random.Random(seed)
    commands: list[AuditEntry] = []
    with Session(engine) as session:
        for record, journal, human in _pr_rows(rng, prs):
            session.add(record)
            session.add_all(journal.rows)
            commands += human
        for index in range(ci_failures):
            category, action, outcome, line = CATEGORIES[index % len(CATEGORIES)]
            at = START + timedelta(hours=rng.uniform(0, 29 * 24))
            stage = outcome
            if index == ci_failures - 1:  # the last one still waits for an approver
                at, stage, outcome = END - timedelta(hours=3), "awaiting approval", None
            project = REPOS[index % len(REPOS)]
            session.add(
                CIFailureRecord(
                    workflow_id=f"ci/github/{project}/{1000 + index}",
                    provider="github",
                    project=project,
                    run_id=1000 + index,
                    stage=stage,
                    outcome=outcome,
                    category=category,
                    action=action,
                    key_line=line,
                    run_url=f"https://github.com/{project}/actions/runs/{1000 + index}",
                    created_at=at,
                    updated_at=at + timedelta(minutes=20),
                    attempts=[f"1: {action}: fix PR https://github.com/{project}/pull/{900 + index} verified"]
                    if outcome in ("approved_fixed",)
                    else [],
                )
            )
        session.commit()
    for entry in [*commands, *_audit_rows(engine)]:
        audit_store.record(engine, entry)
    with Session(engine) as session:
        for number, row in enumerate(
            session.exec(select(PREventRecord).where(PREventRecord.type != "remediation"))
        ):
            session.add(
                WebhookDeliveryRecord(
                    delivery_id=f"d-{number}",
                    event="pull_request",
                    received_at=row.occurred_at,
                    outcome="accepted" if number % 10 else "ignored",
                )
            )
        session.commit()


def _audit_rows(engine: Engine) -> list[AuditEntry]:
    """What the workflows would have audited: remediations, a breaker trip and its recovery, a failure."""
    with Session(engine) as session:
        remedies = list(session.exec(select(PREventRecord).where(PREventRecord.type == "remediation")))
    rows = [
        AuditEntry(
            action="pr.remediation",
            actor="mender",
            outcome="failed" if r.payload["details"]["outcome"] == "no effect" else "succeeded",
            target=r.pr_key,
            repository=r.pr_key.split("#")[0],
            details=r.payload["details"],
            at=r.occurred_at,
        )
        for r in remedies
    ]
    trip = END - timedelta(days=2)
    for at, old, new in (
        (trip, "closed", "open"),
        (trip + timedelta(minutes=5), "open", "half_open"),
        (trip + timedelta(minutes=6), "half_open", "closed"),
    ):
        rows.append(
            AuditEntry(
                action="breaker.change",
                actor="mender",
                outcome=new,
                target="breaker/github",
                details={"old_state": old, "new_state": new},
                at=at,
            )
        )
    return rows
