"""The circuit breaker workflow: one long-lived workflow per scope, id `breaker/<scope>`.

A thin loop over the pure decider `domain/shared/breaker_decider.py`. Handlers are synchronous, so each
permit, outcome, reset or reconfiguration applies atomically; every state change queues a
`BreakerNotice` in the memory's outbox. The run loop audits (`breaker.change`) and sends them in order
through the `notify.breaker` activity. A failed notification is logged and dropped, never allowed to
break the breaker.
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
    from domain.shared import breaker_decider as decider
    from domain.shared import breaker_isolation as isolation
    from domain.shared.breaker import Breaker, Permit
    from domain.shared.breaker_decider import BreakerMemory
    from workflows.audit_calls import audit
    from workflows.calls import REGULAR_CALLS_PATCH, call

AUDIT_PATCH = "audit-breaker-changes"


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
        self._memory = BreakerMemory(
            scope=input.scope,
            breaker=input.carried or Breaker(),
            repos=input.carried_repos or isolation.RepoBreakers(),
            outbox=list(input.pending_notices),
        )
        self._history_limit = input.history_events_before_continue
        self._local = True  # audit calls as local activities (runs before REGULAR_CALLS_PATCH)

    @workflow.update(name=REQUEST_PERMIT_UPDATE)
    def request_permit(self, req: PermitRequest) -> Permit:
        """Grant or refuse permission to start guarded work; after the cooldown, grant one probe.

        Work on a repository whose own breaker is open is refused without asking the shared one."""
        memory, permit = decider.on_permit(
            self._memory, workflow.now(), self._config, req.requester, req.repo
        )
        self._apply(memory)
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
        requester = report.requester or None
        self._apply(
            decider.on_outcome(
                self._memory,
                workflow.now(),
                self._config,
                requester,
                report.ok,
                report.repo,
                report.repo_only,
            )
        )

    @workflow.update(name=RESET_UPDATE)
    def reset(self, req: ResetRequest) -> BreakerStatus:
        """Close the breaker by hand and clear its window."""
        self._apply(decider.on_reset(self._memory, workflow.now(), self._config, req.actor))
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
        b = self._memory.breaker
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
            isolated=isolation.isolated(self._memory.repos),
        )

    @workflow.run
    async def run(self, input: BreakerInput) -> None:
        self._local = not workflow.patched(REGULAR_CALLS_PATCH)
        while True:
            await workflow.wait_condition(lambda: bool(self._memory.outbox) or self._history_too_long())
            await self._send_notices()
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    BreakerInput(
                        scope=self._scope,
                        config=self._config,
                        carried=self._memory.breaker,
                        pending_notices=self._memory.outbox,
                        carried_repos=self._memory.repos,
                        history_events_before_continue=self._history_limit,
                    )
                )

    def _apply(self, memory: BreakerMemory) -> None:
        """The decider's new memory; each new notice is logged."""
        for n in memory.outbox[len(self._memory.outbox) :]:
            workflow.logger.info("breaker %s: %s → %s (%s)", n.scope, n.old_state, n.new_state, n.reason)
        self._memory = memory

    async def _send_notices(self) -> None:
        while self._memory.outbox and not self._history_too_long():
            notice = self._memory.outbox[0]
            if workflow.patched(AUDIT_PATCH):
                await audit(decider.audit_entry(self._scope, notice), local=self._local)
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
            self._memory = decider.sent(self._memory)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._history_limit
