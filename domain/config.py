"""The shape of `mender.yaml`, validated by pydantic: unknown keys and bad values are rejected."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.events import REPO_PATTERN
from domain.lifecycle import TERMINAL_STATES, PRState


class Mode(StrEnum):
    """`observe` records what Mender would do; `act` does it."""

    OBSERVE = "observe"
    ACT = "act"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class RetryBudgets(Strict):
    """How many times each remediation may run automatically on one PR."""

    update_branch: int = Field(2, ge=0)
    rebuild: int = Field(3, ge=0)
    policy_bot: int = Field(2, ge=0)
    approver_bot: int = Field(2, ge=0)
    sod_bot: int = Field(2, ge=0)
    merge: int = Field(2, ge=0)
    close_and_reopen: int = Field(1, ge=0)


class Bots(Strict):
    """Who the bots are: PR authors Mender tracks, and the helper bots it watches."""

    authors: list[str] = Field(default_factory=lambda: ["dependabot[bot]", "renovate[bot]"], min_length=1)
    policy_context: str = "policy-bot"
    policy_login: str = "policy-bot[bot]"
    approver_login: str = "approver-bot[bot]"
    automerge_login: str = "automerge-bot[bot]"


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

    @field_validator("staleness_seconds")
    @classmethod
    def _thresholds(cls, value: dict[PRState, float]) -> dict[PRState, float]:
        return _check_thresholds(value)


class TemporalConfig(Strict):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = Field("mender", min_length=1)


class GitHubConfig(Strict):
    """Where GitHub is. `api_url: null` means api.github.com with a token, else the simulator."""

    api_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8090"


class MenderConfig(Strict):
    """Everything in `mender.yaml`. Secrets never live here: they come from the environment."""

    mode: Mode = Mode.OBSERVE
    repositories: list[RepositoryConfig] = Field(default_factory=list)
    bots: Bots = Field(default_factory=Bots)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    retry_budgets: RetryBudgets = Field(default_factory=RetryBudgets)
    temporal: TemporalConfig = Field(default_factory=TemporalConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)

    @model_validator(mode="after")
    def _unique_repositories(self) -> MenderConfig:
        names = [r.name for r in self.repositories]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"repositories listed twice: {', '.join(duplicates)}")
        return self

    def repository(self, name: str) -> RepositoryConfig | None:
        return next((r for r in self.repositories if r.name == name), None)

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

    def stale_after(self, state: PRState | None) -> float:
        """Seconds the PR may sit in `state` before it is considered stale."""
        if state is None:
            return self.unknown_pr_linger_seconds
        if state in TERMINAL_STATES:
            return self.terminal_grace_seconds
        return self.staleness_seconds[state]
