"""The shape of `mender.yaml`, validated by pydantic: unknown keys and bad values are rejected.

Sections with a home of their own: `ci` (`domain/ci_healing/config.py`), `remediation` and `retry_budgets`
(`domain/pr_healing/remediation_config.py`), `reports` and `metrics` (`domain/reports/config.py`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.ci_healing.config import CIConfig
from domain.ci_healing.fixpr_config import FixPRPolicy, FixPRRepoConfig
from domain.ci_healing.runs import FIX_BRANCH_PREFIX
from domain.pr_healing.events import REPO_PATTERN
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState
from domain.pr_healing.remediation_config import RemediationConfig, RetryBudgets
from domain.reports.config import MetricsConfig, ReportsConfig
from domain.shared.admin_config import ApiConfig, AuditConfig, CommandsConfig
from domain.shared.models import Strict


class Mode(StrEnum):
    """`observe` records what Mender would do; `act` does it."""

    OBSERVE = "observe"
    ACT = "act"


def _default_staleness() -> dict[PRState, float]:
    minutes = {
        PRState.CREATED: 15,
        PRState.CHECKS_RUNNING: 60,
        PRState.CHECKS_PASSED: 15,
        PRState.CHECKS_FAILED: 10,
        PRState.POLICY_EVALUATING: 15,
        PRState.POLICY_PASSED: 30,
        PRState.POLICY_FAILED: 30,
        PRState.APPROVED: 15,
        PRState.MERGING: 10,
        PRState.NEEDS_INTERVENTION: 24 * 60,
    }
    return {state: m * 60.0 for state, m in minutes.items()}


def _check_thresholds(value: dict[PRState, float]) -> dict[PRState, float]:
    for state, seconds in value.items():
        if state in TERMINAL_STATES:
            raise ValueError(f"{state} is terminal and has no staleness threshold")
        if seconds <= 0:
            raise ValueError(f"{state}: threshold must be positive, got {seconds}")
    return value


class Bots(Strict):
    """Who the bots are: PR authors Mender tracks, and the helper bots it watches."""

    authors: list[str] = Field(default_factory=lambda: ["dependabot[bot]", "renovate[bot]"], min_length=1)
    policy_context: str = "policy-bot"
    policy_login: str = "policy-bot[bot]"
    approver_login: str = "approver-bot[bot]"
    automerge_login: str = "automerge-bot[bot]"
    mender_login: str = (
        "mender-app[bot]"  # Mender's own identity: PRs it opens (close-and-reopen) are tracked
    )

    def tracks(self, author: str, head_ref: str | None = None) -> bool:
        """True for PRs Mender follows: by a configured bot author, or opened by Mender itself, except
        Mender's CI fix PRs (branch `mender/ci-fix/...`), which belong to their CI failure workflow."""
        if head_ref and head_ref.startswith(FIX_BRANCH_PREFIX):
            return False
        return author in self.authors or author == self.mender_login

    def own_ci_run(self, event: str | None, has_pull_requests: bool, logins: list[str | None]) -> bool:
        """True for a CI run of a bot PR (its PR lifecycle workflow heals it, not a CI failure workflow):
        triggered or run by a tracked bot, for a pull request."""
        by_bot = any(login and self.tracks(login) for login in logins)
        return by_bot and (has_pull_requests or (event or "").startswith("pull_request"))


class Lifecycle(Strict):
    """Timers of the PR workflow, in seconds."""

    staleness_seconds: dict[PRState, float] = Field(default_factory=_default_staleness)
    terminal_grace_seconds: float = Field(3600.0, gt=0)
    unknown_pr_linger_seconds: float = Field(300.0, gt=0)
    store_retention_days: int = Field(30, ge=1)
    history_events_before_continue: int = Field(1000, ge=50, le=40000)
    recent_events_kept: int = Field(50, ge=1, le=1000)

    @field_validator("staleness_seconds")
    @classmethod
    def _thresholds(cls, value: dict[PRState, float]) -> dict[PRState, float]:
        return {**_default_staleness(), **_check_thresholds(value)}


class RepositoryConfig(Strict):
    """One target repository, with optional overrides of the global settings."""

    name: str = Field(pattern=REPO_PATTERN)
    mode: Mode | None = None
    staleness_seconds: dict[PRState, float] = Field(default_factory=dict)
    retry_budgets: RetryBudgets | None = None
    fix_prs: FixPRRepoConfig | None = None  # its check mapping, absent signals, weights, thresholds

    @field_validator("staleness_seconds")
    @classmethod
    def _thresholds(cls, value: dict[PRState, float]) -> dict[PRState, float]:
        return _check_thresholds(value)


class BreakerConfig(Strict):
    """Circuit breaker: open when the failure rate over the window passes the threshold."""

    scope: str = Field("github", min_length=1, pattern=r"^[\w./-]+$")  # workflow id breaker/<scope>
    window_seconds: float = Field(900.0, gt=0)
    failure_rate: float = Field(0.5, gt=0, le=1)
    min_samples: int = Field(4, ge=1)
    cooldown_seconds: float = Field(300.0, gt=0)


class ReconcilerConfig(Strict):
    """The periodic trust-but-verify sweep of open bot PRs."""

    enabled: bool = True
    interval_seconds: float = Field(300.0, ge=1)
    max_run_seconds: float = Field(120.0, gt=0)
    # Comments of open bot PRs read again for commands whose webhook was lost (0: not at all).
    command_lookback_seconds: float = Field(3600.0, ge=0, le=7 * 86400)
    # Bot PRs closed or merged this recently are listed again (at least two sweep intervals back; 0: not
    # at all), so one whose opening was never seen and that ended before a sweep is still recorded.
    closed_lookback_seconds: float = Field(3600.0, ge=0, le=7 * 86400)


class SlackConfig(Strict):
    """Where notifications go. `api_url: null` means slack.com with SLACK_BOT_TOKEN, else the simulator."""

    api_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8091/api/"
    escalation_channel: str = "#mender-escalations"
    ops_channel: str = "#mender-ops"


class TemporalConfig(Strict):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = Field("mender", min_length=1)


class GitHubConfig(Strict):
    """Where GitHub is. `api_url: null` means api.github.com with a token, else the simulator."""

    api_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8090"
    app_id: int | None = Field(
        None, gt=0
    )  # run as a GitHub App (key in MENDER_GITHUB_APP_PRIVATE_KEY[_FILE])
    installation_id: int | None = Field(None, gt=0)  # null: each repository's installation is looked up
    # Content-creating requests a minute per credential and worker process (GitHub's secondary limit is
    # 80 per credential: with N worker processes on one credential, give each 80 / N).
    writes_per_minute: int = Field(80, ge=1, le=1000)


class MenderConfig(Strict):
    """Everything in `mender.yaml`. Secrets never live here: they come from the environment."""

    mode: Mode = Mode.OBSERVE
    repositories: list[RepositoryConfig] = Field(default_factory=list)
    bots: Bots = Field(default_factory=Bots)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    retry_budgets: RetryBudgets = Field(default_factory=RetryBudgets)
    temporal: TemporalConfig = Field(default_factory=TemporalConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    remediation: RemediationConfig = Field(default_factory=RemediationConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    reconciler: ReconcilerConfig = Field(default_factory=ReconcilerConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    ci: CIConfig = Field(default_factory=CIConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @model_validator(mode="after")
    def _unique_repositories(self) -> MenderConfig:
        names = [r.name for r in self.repositories]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"repositories listed twice: {', '.join(duplicates)}")
        return self

    def repository(self, name: str) -> RepositoryConfig | None:
        return next((r for r in self.repositories if r.name == name), None)

    def fix_pr_policy(self, repo: str) -> FixPRPolicy:
        """The fix PR settings of one repository (`ci.fix_prs` with its `fix_prs` overrides)."""
        override = self.repository(repo)
        return FixPRPolicy.of(repo, self.ci.fix_prs, override.fix_prs if override else None)

    def policy_for(self, repo: str) -> RepoPolicy:
        """The effective settings for one repository (global values with its overrides)."""
        override = self.repository(repo)
        staleness = dict(self.lifecycle.staleness_seconds)
        if override:
            staleness.update(override.staleness_seconds)
        return RepoPolicy(
            repo=repo,
            tracked=override is not None or not self.repositories,
            mode=(override.mode if override and override.mode else self.mode),
            staleness_seconds=staleness,
            retry_budgets=(
                override.retry_budgets if override and override.retry_budgets else self.retry_budgets
            ),
            terminal_grace_seconds=self.lifecycle.terminal_grace_seconds,
            unknown_pr_linger_seconds=self.lifecycle.unknown_pr_linger_seconds,
            history_events_before_continue=self.lifecycle.history_events_before_continue,
            recent_events_kept=self.lifecycle.recent_events_kept,
            store_retention_days=self.lifecycle.store_retention_days,
            remediation=self.remediation,
            policy_context=self.bots.policy_context,
            breaker_scope=self.breaker.scope,
        )


class RepoPolicy(BaseModel):
    """What a PR workflow needs to know about its repository's settings at a decision point."""

    model_config = ConfigDict(frozen=True)

    repo: str
    tracked: bool
    mode: Mode
    staleness_seconds: dict[PRState, float]
    retry_budgets: RetryBudgets
    terminal_grace_seconds: float
    unknown_pr_linger_seconds: float
    history_events_before_continue: int
    recent_events_kept: int
    store_retention_days: int
    remediation: RemediationConfig
    policy_context: str
    breaker_scope: str

    def stale_after(self, state: PRState | None) -> float:
        """Seconds the PR may sit in `state` before it is considered stale."""
        if state is None:
            return self.unknown_pr_linger_seconds
        if state in TERMINAL_STATES:
            return self.terminal_grace_seconds
        return self.staleness_seconds[state]
