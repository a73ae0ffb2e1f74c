"""CI activities: one port per provider (`GitHubCI`, `GitLabCI`) behind provider-neutral activities.

Sync activities (run in the worker's thread pool): they stream logs and call blocking client libraries.
"""

from __future__ import annotations

from typing import Protocol

from activities.ci_flaky import FLAKY_ACTIVITIES
from activities.ci_github import GitHubCI
from activities.ci_history import with_history
from activities.definition import defn
from activities.fixpr_gitlab import GitLabFixCI
from contracts.ci import (
    BranchQuery,
    CIPolicy,
    FixArgs,
    FixResult,
    FixVerdict,
    IncidentArgs,
    IncidentResult,
    RerunResult,
    RunAnalysis,
)
from domain.ci_healing.config import CIConfig
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Provider
from runtime.settings import get_settings


class CIPort(Protocol):
    """What the CI workflow needs from a provider."""

    def analyse(self, run: CIRunRef, config: CIConfig) -> RunAnalysis: ...
    def rerun(self, run: CIRunRef) -> RerunResult: ...
    def status(self, run: CIRunRef) -> CIRunEvent | None: ...
    def branch_status(self, run: CIRunRef, branch: str) -> CIRunEvent | None: ...
    def open_fix(self, args: FixArgs) -> FixResult: ...
    def report_fix(self, verdict: FixVerdict) -> None: ...
    def rollback(self, verdict: FixVerdict) -> None: ...
    def open_incident(self, args: IncidentArgs) -> IncidentResult: ...


def port(run: CIRunRef) -> CIPort:
    """The provider port for `run`'s project."""
    return GitHubCI(run.project) if run.provider is Provider.GITHUB else GitLabFixCI(run.project)


@defn(name="config.ci_policy")
def ci_policy(project: str) -> CIPolicy:
    """The CI settings and mode for `project` as configured right now (so changes apply to pending runs)."""
    config = get_settings().config
    return CIPolicy(ci=config.ci, mode=config.policy_for(project).mode)


@defn(name="ci.analyse")
def analyse(run: CIRunRef) -> RunAnalysis:
    """Fetch the failed jobs' logs, redact, distill and diagnose them with the playbooks; a learned fix
    matching the key line takes the diagnosis over; the playbook's success rate comes along."""
    return with_history(port(run).analyse(run, get_settings().config.ci))


@defn(name="ci.rerun")
def rerun(run: CIRunRef) -> RerunResult:
    """Re-run the failed jobs of `run` (GitHub `rerun-failed-jobs`, GitLab pipeline retry)."""
    return port(run).rerun(run)


@defn(name="ci.run_status")
def run_status(run: CIRunRef) -> CIRunEvent | None:
    """The run's current attempt and conclusion (the polling fallback for a lost webhook)."""
    return port(run).status(run)


@defn(name="ci.branch_status")
def branch_status(query: BranchQuery) -> CIRunEvent | None:
    """The newest run on a fix branch, as an event for the failed run it fixes."""
    return port(query.run).branch_status(query.run, query.branch)


@defn(name="ci.open_fix")
def open_fix(args: FixArgs) -> FixResult:
    """Commit the planned fix on a branch and open a PR with the diagnosis (idempotent)."""
    return port(args.run).open_fix(args)


@defn(name="ci.report_fix")
def report_fix(verdict: FixVerdict) -> None:
    """Write the verification result into the fix PR's body."""
    port(verdict.run).report_fix(verdict)


@defn(name="ci.rollback")
def rollback(verdict: FixVerdict) -> None:
    """Compensate a failed fix: close its PR and delete its branch."""
    port(verdict.run).rollback(verdict)


@defn(name="ci.open_incident")
def open_incident(args: IncidentArgs) -> IncidentResult:
    """Open an incident issue with the full diagnosis after the last failed attempt."""
    return port(args.run).open_incident(args)


CI_ACTIVITIES = [
    ci_policy,
    analyse,
    rerun,
    run_status,
    branch_status,
    open_fix,
    report_fix,
    rollback,
    open_incident,
    *FLAKY_ACTIVITIES,
]
