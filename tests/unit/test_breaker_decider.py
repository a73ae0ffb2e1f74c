"""The circuit breaker decider as tables: (memory, input) -> (memory, notices), without Temporal.

Which breaker an input reaches (the repository's own, the shared one, or both), which state changes
queue a notice, and the audit row of each notice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.config import BreakerConfig
from domain.shared.audit import AuditAction
from domain.shared.breaker import BreakerState
from domain.shared.breaker_decider import (
    BreakerMemory,
    audit_entry,
    on_outcome,
    on_permit,
    on_reset,
    sent,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CFG = BreakerConfig(window_seconds=60, failure_rate=0.5, min_samples=4, cooldown_seconds=30)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
REPO = "acme/api"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def failures(m: BreakerMemory, n: int = 4, repo: str | None = None, repo_only: bool = False) -> BreakerMemory:
    for i in range(n):
        m = on_outcome(m, at(i), CFG, "w", False, repo, repo_only)
    return m


def changes(m: BreakerMemory) -> list[tuple[str, str, str]]:
    return [(n.scope, n.old_state, n.new_state) for n in m.outbox]


FRESH = BreakerMemory(scope="github")
SHARED_OPEN = failures(FRESH)
REPO_OPEN = failures(FRESH, repo=REPO, repo_only=True)


@pytest.mark.parametrize(
    ("memory", "repo", "granted", "notices", "shared"),
    [
        pytest.param(FRESH, None, True, [], CLOSED, id="closed-grants"),
        pytest.param(FRESH, REPO, True, [], CLOSED, id="unknown-repo-grants"),
        pytest.param(SHARED_OPEN, None, False, [], OPEN, id="open-refuses"),
        pytest.param(SHARED_OPEN, REPO, False, [], OPEN, id="open-refuses-any-repo"),
        pytest.param(REPO_OPEN, REPO, False, [], CLOSED, id="isolated-repo-refused-shared-untouched"),
        pytest.param(REPO_OPEN, "acme/web", True, [], CLOSED, id="other-repo-goes-on"),
    ],
)
def test_a_permit_reaches_the_repository_first_then_the_shared_breaker(
    memory: BreakerMemory, repo: str | None, granted: bool, notices: list, shared: BreakerState
) -> None:
    before = len(memory.outbox)
    m, permit = on_permit(memory, at(10), CFG, "worker", repo)
    assert permit.granted is granted and m.breaker.state is shared
    assert changes(m)[before:] == notices
    if repo == REPO and memory is REPO_OPEN:
        assert "isolated" in permit.reason and m.breaker == memory.breaker  # the shared one not asked


@pytest.mark.parametrize(
    ("repo", "granted", "notice"),
    [
        pytest.param(None, True, ("github", "open", "half_open"), id="shared-probe"),
        pytest.param(REPO, True, ("github", "open", "half_open"), id="shared-probe-for-a-repo"),
    ],
)
def test_after_the_cooldown_one_probe_is_granted_and_announced(
    repo: str | None, granted: bool, notice: tuple[str, str, str]
) -> None:
    m, permit = on_permit(SHARED_OPEN, at(40), CFG, "probe", repo)
    assert permit.granted is granted and changes(m)[-1] == notice
    m, second = on_permit(m, at(41), CFG, "other", repo)
    assert not second.granted and changes(m)[-1] == notice  # no second notice


def test_an_isolated_repository_gets_its_own_probe_after_its_cooldown() -> None:
    m, permit = on_permit(REPO_OPEN, at(40), CFG, "probe", REPO)
    assert permit.granted and changes(m)[-1] == (f"github/{REPO}", "open", "half_open")
    m = on_outcome(m, at(41), CFG, "probe", True, REPO)
    assert changes(m)[-1] == (f"github/{REPO}", "half_open", "closed")


@pytest.mark.parametrize(
    ("ok", "repo", "repo_only", "shared", "repo_recorded"),
    [
        pytest.param(False, None, False, OPEN, False, id="failure-shared"),
        pytest.param(False, REPO, False, OPEN, False, id="repo-failure-not-its-own-is-shared"),
        pytest.param(False, REPO, True, CLOSED, True, id="repo-only-failure-isolates"),
        pytest.param(True, REPO, False, CLOSED, False, id="success-of-an-unknown-repo"),
    ],
)
def test_an_outcome_reaches_the_breakers_it_concerns(
    ok: bool, repo: str | None, repo_only: bool, shared: BreakerState, repo_recorded: bool
) -> None:
    m = FRESH
    for i in range(4):
        m = on_outcome(m, at(i), CFG, "w", ok, repo, repo_only)
    assert m.breaker.state is shared
    assert (REPO in m.repos.breakers) is repo_recorded
    scopes = {n.scope for n in m.outbox}
    assert scopes == ({f"github/{REPO}"} if repo_recorded else {"github"} if shared is OPEN else set())


def test_a_success_counts_for_the_repository_and_the_shared_breaker() -> None:
    m = failures(FRESH, n=2, repo=REPO, repo_only=True)
    m = on_outcome(m, at(3), CFG, "w", True, REPO)
    assert len(m.repos.breakers[REPO].window) == 3 and len(m.breaker.window) == 1


def test_a_reset_closes_the_shared_breaker_frees_every_repository_and_names_its_actor() -> None:
    m = failures(REPO_OPEN)
    m = on_reset(m, at(10), CFG, "alice")
    assert m.breaker.state is CLOSED and m.repos.breakers == {}
    row = audit_entry("github", m.outbox[-1])
    assert (row.actor, row.outcome, row.repository) == ("alice", "closed", None)
    assert row.action == AuditAction.BREAKER_CHANGE and row.target == "breaker/github"
    assert on_reset(FRESH, at(10), CFG, "alice").outbox == []  # nothing changed: no notice


def test_an_automatic_change_is_menders_and_a_repositorys_names_it() -> None:
    row = audit_entry("github", REPO_OPEN.outbox[-1])
    assert (row.actor, row.outcome, row.repository) == ("mender", "open", REPO)
    assert row.target == f"breaker/github/{REPO}" and row.at == REPO_OPEN.outbox[-1].at
    again = audit_entry("github", REPO_OPEN.outbox[-1])
    assert row.idempotency_key == again.idempotency_key  # a retried audit never doubles the row


def test_notices_leave_the_outbox_in_order() -> None:
    m = on_reset(failures(REPO_OPEN), at(10), CFG, "alice")
    assert changes(m) == [
        (f"github/{REPO}", "closed", "open"),
        ("github", "closed", "open"),
        ("github", "open", "closed"),
    ]
    assert changes(sent(m)) == changes(m)[1:] and sent(sent(sent(m))).outbox == []


def test_the_memory_survives_continue_as_new() -> None:
    m = failures(REPO_OPEN)
    assert BreakerMemory.model_validate_json(m.model_dump_json()) == m
