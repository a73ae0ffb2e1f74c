"""The circuit breaker workflow: one long-lived workflow per scope, id `breaker/<scope>`.

Handlers are synchronous, so each permit, outcome, reset or reconfiguration applies atomically to
the pure state machine in `domain.shared.breaker`. State changes queue a `BreakerNotice`; the run loop sends
them in order through the `notify.breaker` activity (by name: the notifier lives elsewhere). A failed
notification is logged and dropped, never allowed to break the breaker. Each change is also recorded in
the audit trail (`breaker.change`) just before its notice is sent.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.breaker import (
        CONFIGURE_UPDATE,
        REPORT_OUTCOME_SIGNAL,
        REQUEST_PERMIT_UPDATE,
        RESET_UPDATE,
        STATUS_QUERY,
        WORKFLOW_TYPE,
        BreakerInput,
        BreakerStatus,
        OutcomeReport,
        PermitRequest,
        ResetRequest,
    )
    from domain.config import BreakerConfig
    from domain.shared import breaker as machine
    from domain.shared import breaker_isolation as isolation
    from domain.shared.audit import AuditAction, AuditEntry
    from domain.shared.breaker import Breaker, Permit, StateChange
    from domain.shared.notifications import BreakerNotice
    from workflows.audit_calls import audit
    from workflows.calls import call

AUDIT_PATCH = "audit-breaker-changes"
MANUAL_RESET = "manual reset by "  # how domain.shared.breaker words a reset's reason


def _non_blank(value: str, what: str) -> None:
    if not value.strip():
        raise ValueError(f"{what} must not be blank")


@workflow.defn(name=WORKFLOW_TYPE)
class BreakerWorkflow:
    """Guards one scope (e.g. `github` or `github/acme/api`) against piling work on a failing system.

    Runs forever: idle between requests, continuing as new with its state when history grows long.
    """

    @workflow.init
    def __init__(self, input: BreakerInput) -> None:
        self._scope = input.scope
        self._config = input.config
        self._breaker = input.carried or Breaker()
        self._repos = input.carried_repos or isolation.RepoBreakers()
        self._outbox: list[BreakerNotice] = list(input.pending_notices)
        self._history_limit = input.history_events_before_continue

    @workflow.update(name=REQUEST_PERMIT_UPDATE)
    def request_permit(self, req: PermitRequest) -> Permit:
        """Grant or refuse permission to start guarded work; after the cooldown, grant one probe.

        Work on a repository whose own breaker is open is refused without asking the shared one."""
        if req.repo:
            self._repos, permit, change = isolation.permit(
                self._repos, req.repo, workflow.now(), self._config, req.requester
            )
            if change:
                self._notify(change, req.repo)
            if not permit.granted:
                return permit
        before = self._breaker.state
        self._breaker, permit = machine.request_permit(
            self._breaker, workflow.now(), self._config, requester=req.requester
        )
        if self._breaker.state is not before:
            self._notify(self._breaker.changes[-1])
        return permit

    @request_permit.validator
    def _validate_permit(self, req: PermitRequest) -> None:
        _non_blank(req.requester, "requester")

    @workflow.signal(name=REPORT_OUTCOME_SIGNAL)
    def report_outcome(self, report: OutcomeReport) -> None:
        """Record how guarded work went; may open, close or re-open the breaker. A failure only its
        repository causes goes to that repository's breaker (`domain/shared/breaker_isolation.py`)."""
        if not report.ok:
            workflow.logger.info(
                "breaker %s: failure from %s: %s", self._scope, report.requester, report.detail
            )
        if report.repo and (report.ok or report.repo_only):
            self._repos, repo_change = isolation.record(
                self._repos, report.repo, workflow.now(), report.ok, self._config, report.requester or None
            )
            if repo_change:
                self._notify(repo_change, report.repo)
            if report.repo_only:
                return
        self._breaker, change = machine.record_outcome(
            self._breaker, workflow.now(), report.ok, self._config, requester=report.requester or None
        )
        if change:
            self._notify(change)

    @workflow.update(name=RESET_UPDATE)
    def reset(self, req: ResetRequest) -> BreakerStatus:
        """Close the breaker by hand and clear its window."""
        self._breaker, change = machine.reset(self._breaker, workflow.now(), req.actor, self._config)
        self._repos = isolation.reset(self._repos)
        if change:
            self._notify(change)
        return self.status()

    @reset.validator
    def _validate_reset(self, req: ResetRequest) -> None:
        _non_blank(req.actor, "actor")

    @workflow.update(name=CONFIGURE_UPDATE)
    def configure(self, config: BreakerConfig) -> BreakerStatus:
        """Replace the thresholds; they apply from the next permit request or outcome."""
        workflow.logger.info("breaker %s: configuration %s", self._scope, config)
        self._config = config
        return self.status()

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> BreakerStatus:
        """State, failure rate and samples over the current window, and the recent state changes."""
        b = self._breaker
        rate, samples = machine.window_stats(b, workflow.now(), self._config)
        return BreakerStatus(
            scope=self._scope,
            state=b.state,
            failure_rate=rate,
            samples=samples,
            opened_at=b.opened_at,
            changes=list(b.changes),
            probe_in_flight=b.probe_in_flight,
            probe_at=machine.probe_at(b, self._config),
            config=self._config,
            isolated=isolation.isolated(self._repos),
        )

    @workflow.run
    async def run(self, input: BreakerInput) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._history_too_long())
            await self._send_notices()
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    BreakerInput(
                        scope=self._scope,
                        config=self._config,
                        carried=self._breaker,
                        pending_notices=self._outbox,
                        carried_repos=self._repos,
                        history_events_before_continue=self._history_limit,
                    )
                )

    def _notify(self, change: StateChange, repo: str | None = None) -> None:
        scope = f"{self._scope}/{repo}" if repo else self._scope
        workflow.logger.info("breaker %s: %s → %s (%s)", scope, change.old, change.new, change.reason)
        self._outbox.append(
            BreakerNotice(
                scope=scope,
                old_state=change.old.value,
                new_state=change.new.value,
                reason=change.reason,
                failure_rate=change.failure_rate,
                samples=change.samples,
                at=change.at,
            )
        )

    async def _send_notices(self) -> None:
        while self._outbox and not self._history_too_long():
            notice = self._outbox[0]
            if workflow.patched(AUDIT_PATCH):
                await audit(self._audit_entry(notice))
            try:
                await call(catalogue.NOTIFY_BREAKER, notice)
            except ActivityError as err:
                workflow.logger.warning(
                    "breaker %s: notice %s → %s not sent: %s",
                    self._scope,
                    notice.old_state,
                    notice.new_state,
                    err.cause or err,
                )
            self._outbox.pop(0)

    def _audit_entry(self, notice: BreakerNotice) -> AuditEntry:
        manual = notice.reason.startswith(MANUAL_RESET)
        return AuditEntry(
            action=AuditAction.BREAKER_CHANGE,
            actor=notice.reason.removeprefix(MANUAL_RESET) if manual else "mender",
            outcome=notice.new_state,
            target=f"breaker/{notice.scope}",
            repository=notice.scope.removeprefix(f"{self._scope}/") if notice.scope != self._scope else None,
            details=notice.model_dump(mode="json", exclude={"scope"}),
            idempotency_key=f"breaker/{notice.scope}:{notice.at.isoformat()}:{notice.old_state}->{notice.new_state}",
            at=notice.at,
        )

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._history_limit
