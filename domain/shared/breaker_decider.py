"""The circuit breaker workflow's decider: (memory, input) -> (memory, notices), pure and table-tested.

Inputs: a permit request, an outcome report and a manual reset. Each applies to the shared breaker
(`breaker.py`) and the repositories' own breakers (`breaker_isolation.py`); every state change queues
a `BreakerNotice` in the memory's outbox, which the workflow (`workflows/breaker.py`) audits and sends
in order. `audit_entry` is the audit row of a notice.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.config import BreakerConfig
from domain.shared import breaker as machine
from domain.shared import breaker_isolation as isolation
from domain.shared.audit import AuditAction, AuditEntry
from domain.shared.breaker import Breaker, Permit, StateChange
from domain.shared.models import Frozen
from domain.shared.notifications import BreakerNotice

MANUAL_RESET = "manual reset by "  # how `breaker.reset` words a reset's reason


class BreakerMemory(Frozen):
    """What one scope's breaker workflow remembers; carried across continue-as-new."""

    scope: str
    breaker: Breaker = Field(default_factory=Breaker)
    repos: isolation.RepoBreakers = Field(default_factory=isolation.RepoBreakers)
    outbox: list[BreakerNotice] = Field(default_factory=list)  # state changes not yet sent


def on_permit(
    m: BreakerMemory, now: datetime, cfg: BreakerConfig, requester: str, repo: str | None = None
) -> tuple[BreakerMemory, Permit]:
    """Grant or refuse guarded work; work on a repository whose own breaker is open is refused without
    asking the shared one. After the cooldown, one probe is granted."""
    if repo:
        repos, permit, change = isolation.permit(m.repos, repo, now, cfg, requester)
        m = _notified(m.model_copy(update={"repos": repos}), change, repo)
        if not permit.granted:
            return m, permit
    before = m.breaker.state
    breaker, permit = machine.request_permit(m.breaker, now, cfg, requester=requester)
    m = m.model_copy(update={"breaker": breaker})
    return _notified(m, breaker.changes[-1] if breaker.state is not before else None), permit


def on_outcome(
    m: BreakerMemory,
    now: datetime,
    cfg: BreakerConfig,
    requester: str | None,
    ok: bool,
    repo: str | None = None,
    repo_only: bool = False,
) -> BreakerMemory:
    """How guarded work went: a success counts for its repository and the shared breaker; a failure
    only its repository causes (`repo_only`) for that repository alone; any other failure is shared."""
    if repo and (ok or repo_only):
        repos, change = isolation.record(m.repos, repo, now, ok, cfg, requester)
        m = _notified(m.model_copy(update={"repos": repos}), change, repo)
        if repo_only:
            return m
    breaker, change = machine.record_outcome(m.breaker, now, ok, cfg, requester=requester)
    return _notified(m.model_copy(update={"breaker": breaker}), change)


def on_reset(m: BreakerMemory, now: datetime, cfg: BreakerConfig, actor: str) -> BreakerMemory:
    """Close the breaker by hand, clear its window, and free every repository."""
    breaker, change = machine.reset(m.breaker, now, actor, cfg)
    m = m.model_copy(update={"breaker": breaker, "repos": isolation.reset(m.repos)})
    return _notified(m, change)


def sent(m: BreakerMemory) -> BreakerMemory:
    """The first notice of the outbox is done (sent, or its failure logged)."""
    return m.model_copy(update={"outbox": m.outbox[1:]})


def audit_entry(scope: str, notice: BreakerNotice) -> AuditEntry:
    """The `breaker.change` row of a notice: a manual reset is its actor's, a repository's change names it."""
    manual = notice.reason.startswith(MANUAL_RESET)
    return AuditEntry(
        action=AuditAction.BREAKER_CHANGE,
        actor=notice.reason.removeprefix(MANUAL_RESET) if manual else "mender",
        outcome=notice.new_state,
        target=f"breaker/{notice.scope}",
        repository=notice.scope.removeprefix(f"{scope}/") if notice.scope != scope else None,
        details=notice.model_dump(mode="json", exclude={"scope"}),
        idempotency_key=f"breaker/{notice.scope}:{notice.at.isoformat()}:{notice.old_state}->{notice.new_state}",
        at=notice.at,
    )


def _notified(m: BreakerMemory, change: StateChange | None, repo: str | None = None) -> BreakerMemory:
    if change is None:
        return m
    notice = BreakerNotice(
        scope=f"{m.scope}/{repo}" if repo else m.scope,
        old_state=change.old.value,
        new_state=change.new.value,
        reason=change.reason,
        failure_rate=change.failure_rate,
        samples=change.samples,
        at=change.at,
    )
    return m.model_copy(update={"outbox": [*m.outbox, notice]})
