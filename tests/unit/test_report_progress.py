"""Saved time and POC success count only remediations after which the PR progressed.

Journals are written through the store (SQLite) and read back as the reports read them; each PR
has exactly one "effect seen" remediation, so the POC's `successful` says whether it counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from domain.config import MenderConfig
from domain.reports.config import ReportsConfig
from domain.reports.phases import poc
from domain.reports.success import Window, hours_saved
from store.db import engine_for
from store.models import PREventRecord, PullRequestRecord
from store.report_data import pr_histories

T0 = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=2))
ACTED, EFFECT = "acted", "effect seen"
CHECKS_FAILED = [("checks_failed", "CHECKS_FAILED")]

# Each story: rows after `opened`: (type, to_state or None) or (action, outcome) for a remediation.
REBUILD = [
    *CHECKS_FAILED,
    ("RETRY_CHECKS", ACTED),
    ("checks_started", "CHECKS_RUNNING"),
    ("RETRY_CHECKS", EFFECT),
]
POLICY = [
    ("checks_passed", "CHECKS_PASSED"),
    ("RETRIGGER_POLICY_BOT", ACTED),
    ("policy_pending", "POLICY_PENDING"),
    ("RETRIGGER_POLICY_BOT", EFFECT),
]
REOPEN = [
    *CHECKS_FAILED,
    ("CLOSE_AND_REOPEN", ACTED),
    ("closed", "CLOSED"),
    ("CLOSE_AND_REOPEN", EFFECT),
]


def write(engine, key: str, story: list[tuple[str, str | None]]) -> None:
    at, state, rows = T0, None, []
    for index, (kind, value) in enumerate([("opened", "CREATED"), *story]):
        at += timedelta(minutes=5)
        remediation = kind.isupper()
        to_state = None if remediation else value
        rows.append(
            PREventRecord(
                idempotency_key=f"{key}:{index}",
                pr_key=key,
                occurred_at=at,
                recorded_at=at,
                type="remediation" if remediation else kind,
                source="mender" if remediation else "webhook",
                outcome="applied" if to_state else "noted",
                from_state=state,
                to_state=to_state or state,
                payload={"details": {"action": kind, "outcome": value} if remediation else {}},
            )
        )
        state = to_state or state
    record = PullRequestRecord(
        key=key, repo="acme/api", number=int(key.split("#")[1]), head_sha="a" * 40, state=state,
        last_event_at=at, created_at=T0, updated_at=at,
    )  # fmt: skip
    with Session(engine) as session:
        session.add(record)
        session.add_all(rows)
        session.commit()


def judged(tmp_path: Path, story: list[tuple[str, str | None]]) -> tuple[int, int, float]:
    """(successful, attempts_without_progress, hours_saved) of a one-PR fleet living `story`."""
    engine = engine_for(f"sqlite:///{tmp_path / 'mender.db'}")
    write(engine, "acme/api#1", story)
    prs = pr_histories(engine, MenderConfig(), WINDOW.end)
    report = poc(prs, [], WINDOW, ReportsConfig())
    return report.successful, report.attempts_without_progress, hours_saved(prs, [], WINDOW, ReportsConfig())


SAVED = ReportsConfig().minutes_per_stale_pr / 60

CASES = {
    "rebuild started, checks failed again": ([*REBUILD, ("checks_failed", "CHECKS_FAILED")], False),
    "rebuild started, nothing since": (REBUILD, False),
    "rebuild, checks then passed": ([*REBUILD, ("checks_passed", "CHECKS_PASSED")], True),
    "rebuild, PR then merged": ([*REBUILD, ("merged", "MERGED")], True),
    "rebuild failed, a second rebuild passed": (
        [
            *REBUILD,
            ("checks_failed", "CHECKS_FAILED"),
            ("RETRY_CHECKS", ACTED),
            ("checks_started", "CHECKS_RUNNING"),
            ("checks_passed", "CHECKS_PASSED"),
        ],
        False,  # the second attempt was never judged "effect seen": nothing of the first counts
    ),
    "rebuild, a human pushed and checks passed": (
        [*REBUILD, ("synchronize", "CREATED"), ("checks_passed", "CHECKS_PASSED")],
        False,
    ),
    "policy retrigger, policy still pending": (POLICY, False),
    "policy retrigger, policy failed": ([*POLICY, ("policy_failed", "POLICY_FAILED")], False),
    "policy retrigger, policy passed": ([*POLICY, ("policy_passed", "POLICY_PASSED")], True),
    "close-and-reopen: Mender's close alone": (REOPEN, False),
    "close-and-reopen: reopened, checks failed": (
        [*REOPEN, ("reopened", "CREATED"), ("checks_failed", "CHECKS_FAILED")],
        False,
    ),
    "close-and-reopen: reopened, checks passed": (
        [*REOPEN, ("reopened", "CREATED"), ("checks_passed", "CHECKS_PASSED")],
        True,
    ),
    "merge nudge merged it": (
        [
            ("approved", "APPROVED"),
            ("RETRIGGER_MERGE", ACTED),
            ("merged", "MERGED"),
            ("RETRIGGER_MERGE", EFFECT),
        ],
        True,
    ),
    "branch update pushed the branch": (
        [("UPDATE_BRANCH", ACTED), ("synchronize", "CREATED"), ("UPDATE_BRANCH", EFFECT)],
        True,
    ),
    "approver retrigger approved it": (
        [
            ("policy_passed", "POLICY_PASSED"),
            ("RETRIGGER_APPROVER_BOT", ACTED),
            ("approved", "APPROVED"),
            ("RETRIGGER_APPROVER_BOT", EFFECT),
        ],
        True,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_saved_only_after_progress(tmp_path: Path, name: str) -> None:
    story, progressed = CASES[name]
    successful, without_progress, saved = judged(tmp_path, story)
    assert (successful, without_progress) == ((1, 0) if progressed else (0, 1))
    assert saved == pytest.approx(SAVED if progressed else 0.0)
