"""Group commit of PR projections (`store/group_commit.py`): one transaction for the projections that
arrive together, each caller answered when its rows are committed, idempotent, a refused row isolated."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.lifecycle import JournalEntry, PRLifecycle, apply
from domain.shared.audit import AuditEntry, AuditFilter
from store import audit, repository
from store.db import engine_for
from store.group_commit import GroupCommitter
from tests.support.events import make_event


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return engine_for(f"sqlite:///{tmp_path / 'store.db'}")


def opening(number: int) -> tuple[dict, list[JournalEntry], list[AuditEntry]]:
    pr = PRRef(repo="acme/api", number=number)
    lifecycle, transition = apply(PRLifecycle(pr=pr), make_event(pr, EventType.OPENED))
    entries = [JournalEntry(event=make_event(pr, EventType.OPENED), transition=transition)]
    values = {"key": pr.key, "repo": pr.repo, "number": number, "state": lifecycle.state}
    row = AuditEntry(
        action="pr.detected",
        actor="mender",
        outcome="succeeded",
        target=pr.key,
        idempotency_key=f"wf:{number}",
    )
    return values, entries, [row]


def test_projections_that_arrive_together_are_one_transaction_and_idempotent(engine: Engine) -> None:
    committer = GroupCommitter(engine, window_s=0.5)  # every submit below lands in the first batch
    openings = [opening(n) for n in range(1, 11)]
    futures = [committer.submit(*o) for o in openings]
    assert [f.result(timeout=10) for f in futures] == [(1, [True])] * 10
    assert committer.batches == 1
    again = [committer.submit(*o) for o in openings]  # a retried activity: nothing written twice
    assert [f.result(timeout=10) for f in again] == [(0, [False])] * 10
    assert len(audit.query(engine, AuditFilter())) == 10
    assert all(len(repository.get_pr(engine, PRRef(repo="acme/api", number=n))[1]) == 1 for n in range(1, 11))


def test_a_refused_projection_fails_alone(engine: Engine) -> None:
    committer = GroupCommitter(engine, window_s=0.5)
    values, entries, [row] = opening(1)
    broken = AuditEntry.model_construct(**{**row.model_dump(), "idempotency_key": "wf:x", "action": None})
    futures = [
        committer.submit(*opening(2)),
        committer.submit(values, entries, [broken]),
        committer.submit(*opening(3)),
    ]
    assert futures[0].result(timeout=10) == (1, [True]) and futures[2].result(timeout=10) == (1, [True])
    with pytest.raises(IntegrityError):
        futures[1].result(timeout=10)
    assert repository.get_pr(engine, PRRef(repo="acme/api", number=1))[0] is None  # nothing of it stored
    assert sorted(r.idempotency_key for r in audit.query(engine, AuditFilter())) == ["wf:2", "wf:3"]


def test_a_caller_that_gave_up_before_its_batch_is_skipped_and_the_writer_goes_on(engine: Engine) -> None:
    committer = GroupCommitter(engine, window_s=0.5)
    kept, dropped = committer.submit(*opening(1)), committer.submit(*opening(2))
    assert dropped.cancel()  # (its activity was cancelled while the batch was still being gathered)
    assert kept.result(timeout=10) == (1, [True])
    assert committer.submit(*opening(3)).result(timeout=10) == (1, [True])
    assert repository.get_pr(engine, PRRef(repo="acme/api", number=2))[0] is None
