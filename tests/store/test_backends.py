"""The store on SQLite and on a real PostgreSQL: idempotent upserts, journals, deliveries, audit, CI rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from activities.ci_history import record_fix_pr_merge
from domain.ci_healing.failed_tests import FailedTest
from domain.ci_healing.flakiness import FlakyConfig, TestReport
from domain.ci_healing.learned import Ecosystem, EditKind, EditTemplate, LearnedFix, signature_of
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.playbook_history import EventKind, PlaybookEvent, outcome_events
from domain.ci_healing.review_queue import ReviewItem, ReviewStatus
from domain.diagnosis.verdict import Category
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import PRLifecycle, PRState, apply
from domain.shared import backoff
from domain.shared.audit import AuditEntry, AuditFilter
from store import (
    api_keys,
    audit,
    ci_failures,
    flaky_tests,
    installations,
    learned_fixes,
    playbook_history,
    projection,
    report_data,
    repository,
    review_queue,
    source_backoffs,
    stale,
)
from store.db import engine_for
from store.models import WebhookDeliveryRecord
from tests.support.events import make_event
from tests.support.postgres import NOT_AVAILABLE, postgres_server

PR = PRRef(repo="acme/api", number=7)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str | None]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str | None) -> Engine:
    if request.param == "sqlite":
        return engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    if postgres_url is None:
        pytest.skip(NOT_AVAILABLE)
    engine = engine_for(postgres_url)
    with engine.begin() as connection:  # a clean slate per test on the shared server
        for table in (
            "pr_event",
            "pull_request",
            "webhook_delivery",
            "audit_log",
            "ci_failure",
            "review_queue",
            "playbook_event",
            "learned_fix",
            "learning_check",
            "ci_test_outcome",
            "ci_flaky_test",
        ):
            connection.exec_driver_sql(f"DELETE FROM {table}")
        connection.exec_driver_sql("DELETE FROM installed_repository")
        connection.exec_driver_sql("DELETE FROM review_alert")
        connection.exec_driver_sql("DELETE FROM api_key")
        connection.exec_driver_sql("DELETE FROM source_backoff")
    return engine


def test_the_pr_projection_and_journal_are_idempotent(engine: Engine) -> None:
    lifecycle, entries = PRLifecycle(pr=PR), []
    for event in (make_event(PR, EventType.OPENED), make_event(PR, EventType.CHECKS_STARTED)):
        lifecycle, transition = apply(lifecycle, event)
        entries.append(repository.JournalEntry(event=event, transition=transition))
    values = {
        "key": PR.key,
        "repo": PR.repo,
        "number": PR.number,
        "state": lifecycle.state,
        "head_sha": "a" * 40,
    }
    written = []
    for _ in range(2):  # an activity retry writes the same again
        repository.upsert_pr(engine, values)
        written.append(repository.append_events(engine, entries))
    assert written == [2, 0]
    repository.upsert_pr(
        engine, {**values, "state": PRState.CHECKS_FAILED.value, "retry_counts": {"rebuild": 1}}
    )
    record, events = repository.get_pr(engine, PR)
    assert record is not None and record.state == "CHECKS_FAILED" and record.retry_counts == {"rebuild": 1}
    assert [e.payload["key"] for e in events] == [e.event.key for e in entries]
    assert repository.find_pr_by_head(engine, PR.repo, "a" * 40) == [PR]
    assert repository.max_pr_number(engine) == 7


def test_a_projection_with_its_audit_rows_is_one_idempotent_transaction(engine: Engine) -> None:
    event = make_event(PR, EventType.OPENED)
    lifecycle, transition = apply(PRLifecycle(pr=PR), event)
    entries = [repository.JournalEntry(event=event, transition=transition)]
    values = {"key": PR.key, "repo": PR.repo, "number": PR.number, "state": lifecycle.state}
    row = AuditEntry(
        action="pr.detected", actor="mender", outcome="succeeded", target=PR.key, idempotency_key="wf:1"
    )
    assert projection.project_pr(engine, values, entries, [row]) == (1, [True])
    assert projection.project_pr(engine, values, entries, [row]) == (0, [False])  # a retry
    broken = AuditEntry.model_construct(**{**row.model_dump(), "idempotency_key": "wf:2", "action": None})
    with pytest.raises(IntegrityError):  # a row the database refuses: nothing of the batch is written
        projection.project_pr(engine, {**values, "state": "MERGED"}, entries, [broken])
    record, events = repository.get_pr(engine, PR)
    assert record is not None and record.state == lifecycle.state and len(events) == 1
    assert [r.idempotency_key for r in audit.query(engine, AuditFilter())] == ["wf:1"]


def test_deliveries_are_recorded_once(engine: Engine) -> None:
    record = WebhookDeliveryRecord(
        delivery_id="d-1",
        event="pull_request",
        action="opened",
        received_at=datetime.now(UTC),
        outcome="accepted",
    )
    assert repository.record_delivery(engine, record)
    assert not repository.record_delivery(engine, record.model_copy())
    assert repository.delivery_seen(engine, "d-1") and not repository.delivery_seen(engine, "d-2")
    batch = [record.model_copy(update={"delivery_id": f"d-{n}"}) for n in (1, 2, 3)]
    assert repository.record_deliveries(engine, batch) == 2  # d-1 was stored already


def test_the_audit_trail_filters_pages_and_purges(engine: Engine) -> None:
    now = datetime.now(UTC)
    for n in range(5):
        entry = AuditEntry(
            action="pr.remediation",
            actor="mender" if n % 2 else "alice",
            outcome="succeeded",
            target=PR.key,
            repository=PR.repo,
            details={"n": n, "token": "ghp_" + "x" * 36},
            idempotency_key=f"k{n}",
            at=now - timedelta(days=n),
        )
        assert audit.record(engine, entry) and not audit.record(engine, entry)  # a retry writes nothing
    rows = audit.query(engine, AuditFilter(actor="alice"))
    assert [r.details["n"] for r in rows] == [0, 2, 4]  # newest first
    assert "ghp_" + "x" * 36 not in str(rows[0].details)  # secrets never reach the store
    assert [r.details["n"] for r in audit.query(engine, AuditFilter(limit=2, offset=1))] == [1, 2]
    assert audit.purge(engine, now - timedelta(days=2, hours=12)) == 2
    assert len(audit.query(engine, AuditFilter())) == 3


def test_ci_failure_rows_and_installed_repositories(engine: Engine) -> None:
    values = {"workflow_id": "ci/github/acme/api/9", "provider": "github", "project": "acme/api", "run_id": 9}
    ci_failures.upsert_ci_failure(engine, {**values, "stage": "analysed", "attempts": []})
    ci_failures.upsert_ci_failure(
        engine, {**values, "stage": "auto_fixed", "outcome": "auto_fixed", "attempts": ["1"]}
    )
    row = ci_failures.get_ci_failure(engine, "ci/github/acme/api/9")
    assert row is not None and (row.stage, row.outcome, row.attempts) == ("auto_fixed", "auto_fixed", ["1"])
    installations.add(engine, 3, ["acme/web", "acme/lib"])
    installations.add(engine, 3, ["acme/web"])
    assert installations.installed(engine) == ["acme/lib", "acme/web"]
    assert sorted(installations.remove_installation(engine, 3)) == ["acme/lib", "acme/web"]


# The review queue of fix PRs (issue 17)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def review_item(n: int, hours_ago: float = 0) -> ReviewItem:
    return ReviewItem(
        workflow_id=f"fixpr/acme/api/{n}",
        repo="acme/api",
        pr_number=n,
        score=0.7,
        reasons=["confidence 0.70 < 0.80", "token ghp_" + "A" * 36],
        created_at=NOW - timedelta(hours=hours_ago),
    )


def test_a_sweep_backoff_is_kept_replaced_found_and_cleared(engine: Engine) -> None:
    first = backoff.failed(None, NOW, "GithubException: 404 \x00Not Found", base=10)
    source_backoffs.put(engine, "reconciler", "acme/gone", first, "acme/gone")
    source_backoffs.put(engine, "ci.poll", "github:acme/gone", first, "acme/gone")
    source_backoffs.put(engine, "ci.poll", "gitlab:group/app", first)
    second = backoff.failed(first, NOW, "GithubException: 404 Not Found", base=10)
    source_backoffs.put(engine, "reconciler", "acme/gone", second, "acme/gone")  # the same row, replaced

    stored = source_backoffs.of_sweep(engine, "reconciler")
    assert stored == {"acme/gone": second} and stored["acme/gone"].retry_at == second.retry_at
    assert (
        source_backoffs.of_sweep(engine, "ci.poll")["github:acme/gone"].reason
        == "GithubException: 404 Not Found"
    )
    found = sorted(
        (sweep, state.failures) for sweep, _, state in source_backoffs.of_repository(engine, "acme/gone")
    )
    assert found == [("ci.poll", 1), ("reconciler", 2)]
    assert all(at.tzinfo is not None for _, at, _ in source_backoffs.of_repository(engine, "acme/gone"))

    source_backoffs.clear(engine, "reconciler", ["acme/gone", "acme/never-failed"])
    assert source_backoffs.of_sweep(engine, "reconciler") == {}
    assert [s for s, _, _ in source_backoffs.of_repository(engine, "acme/gone")] == ["ci.poll"]


def test_enqueue_is_idempotent_and_resolve_happens_once(engine: Engine) -> None:
    first = review_queue.enqueue(engine, review_item(1, hours_ago=5))
    assert review_queue.enqueue(engine, review_item(1)) == first  # a retried activity
    review_queue.enqueue(engine, review_item(2))
    pending = review_queue.items(engine)
    assert [i.pr_number for i in pending] == [1, 2]  # oldest first
    assert "A" * 36 not in str(pending[0].reasons)  # redacted when stored
    assert review_queue.resolve(engine, "fixpr/acme/api/1", ReviewStatus.REJECTED, "alice", "no", NOW)
    assert not review_queue.resolve(engine, "fixpr/acme/api/1", ReviewStatus.APPROVED, "bob", "", NOW)
    stored = review_queue.get(engine, first)
    assert stored is not None and stored.status is ReviewStatus.REJECTED and stored.decided_by == "alice"
    assert [i.pr_number for i in review_queue.items(engine)] == [2]
    assert review_queue.backlog(engine).pending == 1


def test_the_backlog_alert_is_claimed_once_per_period(engine: Engine) -> None:
    period = timedelta(hours=24)
    assert review_queue.claim_alert(engine, NOW, period)
    assert not review_queue.claim_alert(engine, NOW + timedelta(hours=1), period)
    assert review_queue.claim_alert(engine, NOW + period, period)
    assert review_queue.backlog(engine).last_alert == NOW + period


def test_playbook_history_counts_each_event_once(engine: Engine) -> None:
    for n in range(6):
        outcome = CIOutcome.AUTO_FIXED if n < 4 else CIOutcome.INCIDENT
        events = outcome_events(f"ci/github/acme/api/{n}", "acme/api", "dep.x", outcome, attempted=True)
        assert playbook_history.record(engine, events) == len(events)
        assert playbook_history.record(engine, events) == 0  # a retried activity counts nothing twice
    assert playbook_history.record_revert(engine, "dep.x", "ci/github/acme/api/0", "acme/api")
    assert not playbook_history.record_revert(engine, "dep.x", "ci/github/acme/api/0", "acme/api")
    retry = PlaybookEvent(playbook="infra.retry", kind=EventKind.ATTEMPT, workflow_id="ci/github/acme/web/1")
    playbook_history.record(engine, [retry])
    rows = playbook_history.all_stats(engine, min_samples=5)
    assert [(r.playbook, r.attempts, r.verified, r.reverted, r.success_rate) for r in rows] == [
        ("dep.x", 6, 4, 1, 0.5),
        ("infra.retry", 1, 0, 0, None),  # too few attempts for a rate
    ]
    assert rows[0].last_at is not None
    assert playbook_history.stats_for(engine, "dep.x").success_rate == 0.5
    assert playbook_history.stats_for(engine, "never.used").attempts == 0


def test_a_fix_pr_merged_counts_for_its_playbook_once(engine: Engine) -> None:
    """The fix PR workflow's `ci.fix_pr` audit row `merged` is the playbook's `merged` event."""

    def row(outcome: str, action: str = "ci.fix_pr", **details: str) -> AuditEntry:
        target = "fixpr/acme/api/9"
        return AuditEntry(
            action=action, actor="mender", outcome=outcome, target=target, details={"pr": 9, **details}
        )

    assert record_fix_pr_merge(engine, row("merged", playbook="learned.3"))
    assert not record_fix_pr_merge(engine, row("merged", playbook="learned.3"))  # a retry counts once
    assert not record_fix_pr_merge(engine, row("review", playbook="learned.3"))
    assert not record_fix_pr_merge(engine, row("merged", "ci.review", playbook="learned.3"))
    assert not record_fix_pr_merge(engine, row("merged"))  # no playbook: nothing to count
    assert playbook_history.stats_for(engine, "learned.3").merged == 1


def test_learned_fixes_are_versioned_disabled_and_examined_once(engine: Engine) -> None:
    signature = signature_of("No module named 'acme_sdk'", Category.DEPENDENCY, Ecosystem.PYTHON)
    edit = EditTemplate(kind=EditKind.REQUIREMENT, path="requirements.txt", name="acme-sdk", value="acme-sdk")
    first = learned_fixes.save(engine, LearnedFix(signature=signature, edits=[edit], learned_from="ci/1"))
    assert first.id is not None and first.version == 1
    assert learned_fixes.save(engine, LearnedFix(signature=signature, edits=[edit])).id == first.id  # same
    pinned = edit.model_copy(update={"value": "acme-sdk==2.1"})
    second = learned_fixes.save(engine, LearnedFix(signature=signature, edits=[pinned]))
    assert (second.version, second.id != first.id) == (2, True)
    assert learned_fixes.set_disabled(engine, first.id) is not None
    assert learned_fixes.set_disabled(engine, 999_999) is None
    assert [f.version for f in learned_fixes.all_fixes(engine, include_disabled=False)] == [2]
    stored = learned_fixes.get(engine, second.id or 0)
    assert stored is not None and stored.edits == [pinned] and stored.signature == signature
    assert learned_fixes.mark_examined(engine, "ci/1", first.id, "learned")
    assert not learned_fixes.mark_examined(engine, "ci/1", None, "again")
    assert learned_fixes.examined(engine, ["ci/1", "ci/2"]) == {"ci/1"}


def test_test_outcomes_are_idempotent_and_score_each_test(engine: Engine) -> None:
    """A flip on one commit makes a test flaky; a retried write counts once; scores list highest first."""
    config = FlakyConfig()
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    failed = TestReport(
        project="acme/api",
        run_key="github/acme/api/7",
        sha="a" * 40,
        failed=[
            FailedTest(test="tests/t.py::test_a", signature="boom"),
            FailedTest(test="tests/t.py::test_b"),
        ],
        at=at,
    )
    passed = TestReport(
        project="acme/api", run_key="github/acme/api/7", attempt=2, sha="a" * 40, passed=["tests/t.py::test_a"],
        at=at + timedelta(minutes=5),
    )  # fmt: skip
    flaky_tests.record(engine, failed.outcomes(), config)
    flaky_tests.record(engine, failed.outcomes(), config)  # a retried activity
    scores = {s.test: s for s in flaky_tests.record(engine, passed.outcomes(), config)}
    assert scores["tests/t.py::test_a"].flaky and scores["tests/t.py::test_a"].flips == 1
    stored = {
        s.test: s
        for s in flaky_tests.scores_for(engine, "acme/api", ["tests/t.py::test_a", "tests/t.py::test_b", "x"])
    }
    assert set(stored) == {"tests/t.py::test_a", "tests/t.py::test_b"}
    assert stored["tests/t.py::test_a"].runs == 2 and stored["tests/t.py::test_a"].score == 0.3
    assert not stored["tests/t.py::test_b"].flaky and stored["tests/t.py::test_b"].runs == 1
    assert stored["tests/t.py::test_a"].last_seen == at + timedelta(minutes=5)
    listed = flaky_tests.listed(engine)
    assert [s.test for s in listed] == ["tests/t.py::test_a", "tests/t.py::test_b"]
    assert flaky_tests.listed(engine, "other/repo") == []


def test_api_keys_are_created_rotated_and_revoked(engine: Engine) -> None:
    from domain.shared.admin_config import ApiKey

    def digest(n: int) -> str:
        return "sha256:" + f"{n:x}".rjust(64, "0")

    configured = [ApiKey(name="ops", hash=digest(1), role="admin")]
    api_keys.create(engine, ApiKey(name="dash", hash=digest(2), role="read"), "api:ops")
    assert [(k.name, k.hash) for k in api_keys.active_keys(engine, configured)] == [
        ("ops", digest(1)),
        ("dash", digest(2)),
    ]
    rotated = api_keys.rotate(engine, configured[0], digest(3), "api:ops")
    api_keys.revoke(engine, ApiKey(name="dash", hash=digest(2), role="read"), "api:ops")
    assert api_keys.active_keys(engine, configured) == [rotated]


def test_stale_prs_and_report_histories_read_times_alike(engine: Engine) -> None:
    from domain.config import MenderConfig

    lifecycle, entries = PRLifecycle(pr=PR), []
    for event in (make_event(PR, EventType.OPENED), make_event(PR, EventType.CHECKS_STARTED)):
        lifecycle, transition = apply(lifecycle, event)
        entries.append(repository.JournalEntry(event=event, transition=transition))
    values = {"key": PR.key, "repo": PR.repo, "number": PR.number, "state": lifecycle.state}
    repository.upsert_pr(engine, values)
    repository.append_events(engine, entries)
    entered = entries[-1].event.occurred_at
    config = MenderConfig()
    [found] = stale.stale_prs(engine, config, entered + timedelta(days=1))
    assert found.since == entered and found.since.tzinfo is not None and found.seconds == 86400
    assert stale.stale_prs(engine, config, entered + timedelta(seconds=1)) == []
    [history] = report_data.pr_histories(engine, config, datetime.now(UTC) + timedelta(seconds=1))
    assert (history.key, history.state) == (PR.key, "CHECKS_RUNNING")
