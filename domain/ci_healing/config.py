"""The `ci:` section of `mender.yaml`: CI failure healing (ingest, diagnosis, risk gate, approval, fixes)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from domain.ci_healing.fixpr_config import FixPRConfig
from domain.ci_healing.flakiness import FlakyConfig
from domain.ci_healing.runs import PROJECT_PATTERN
from domain.shared.models import Strict


class Stage(StrEnum):
    """The stages of a CI failure that are announced in Slack, each to its own channel."""

    DETECTED = "detected"
    ANALYSED = "analysed"
    APPROVAL = "approval"
    FIXED = "fixed"
    FAILED = "failed"


def _default_channels() -> dict[Stage, str]:
    return {
        Stage.DETECTED: "#mender-ci",
        Stage.ANALYSED: "#mender-ci",
        Stage.APPROVAL: "#mender-approvals",
        Stage.FIXED: "#mender-ci",
        Stage.FAILED: "#mender-critical",
    }


class RiskConfig(Strict):
    """The safety gate. Any failed rule sends the plan to a human for approval."""

    threshold: float = Field(4.0, ge=0, le=10)  # risk scores above this need approval
    confidence_floor: int = Field(70, ge=0, le=100)  # diagnoses less confident than this need approval
    protected_repositories: list[str] = Field(default_factory=list)  # every fix needs approval
    repository_thresholds: dict[str, float] = Field(default_factory=dict)  # per-repository override

    @field_validator("repository_thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for repo, threshold in value.items():
            if not 0 <= threshold <= 10:
                raise ValueError(f"{repo}: threshold must be between 0 and 10, got {threshold}")
        return value

    def threshold_for(self, project: str) -> float:
        """The risk threshold of one project (its override, else the global one)."""
        return self.repository_thresholds.get(project, self.threshold)


class ApprovalConfig(Strict):
    """Who may approve a risky fix in Slack, and how long Mender waits before escalating."""

    approvers: list[str] = Field(default_factory=list)  # Slack user ids or user names; empty = nobody
    timeout_seconds: float = Field(24 * 3600.0, gt=0)
    critical_channel: str = "#mender-critical"


class LLMConfig(Strict):
    """An optional OpenAI-compatible model, asked only when no playbook is confident.

    `base_url: null` with `enabled: true` uses the LLM simulator; the key comes from OPENAI_API_KEY.
    """

    enabled: bool = False
    base_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8093/v1"
    model: str = "gpt-4o-mini"
    timeout_seconds: float = Field(20.0, gt=0)


class GitLabConfig(Strict):
    """GitLab API location. `api_url: null` means the GitLab simulator; the token comes from GITLAB_TOKEN,
    the webhook token from MENDER_GITLAB_WEBHOOK_TOKEN."""

    api_url: str | None = None
    simulator_url: str = "http://127.0.0.1:8092"


class WatchedProject(Strict):
    """A project the polling fallback looks at for failed runs whose webhook never came."""

    provider: str = Field("github", pattern=r"^(github|gitlab)$")
    project: str = Field(pattern=PROJECT_PATTERN)


class LearningConfig(Strict):
    """Playbook success history and learning from human fixes (`domain.ci_healing.learned`)."""

    enabled: bool = True  # examine failures handed to a human for a fix to learn
    min_samples: int = Field(5, ge=1)  # attempts before a playbook's success rate counts
    promote_after: int = Field(3, ge=1)  # successes before a learned fix runs like a built-in playbook
    max_changed_lines: int = Field(20, ge=1, le=500)  # larger human changes are not learned
    lookback_days: float = Field(14.0, gt=0)  # failures older than this are not examined


HISTORY_EVENTS_BEFORE_CONTINUE = 2000  # a CI failure or fix PR workflow continues as new at this length


class CIConfig(Strict):
    """CI failure healing settings."""

    enabled: bool = True
    playbooks_dir: str = "playbooks"
    secret_env_vars: list[str] = Field(default_factory=list)  # their values are masked in every log
    poll_interval_seconds: float = Field(300.0, ge=1)
    poll_lookback_seconds: float = Field(3600.0, gt=0)
    watch: list[WatchedProject] = Field(default_factory=list)  # empty: the `repositories` on GitHub
    rerun_attempts: int = Field(3, ge=1, le=10)  # re-runs of one run's failed jobs
    rerun_backoff_seconds: float = Field(30.0, gt=0)  # doubled after each re-run
    fix_attempts: int = Field(3, ge=1)  # failed remediations before an incident issue
    verify_timeout_seconds: float = Field(3600.0, gt=0)  # how long to wait for the verifying run
    distill_max_lines: int = Field(80, ge=10, le=2000)
    # CI failure and fix PR workflows continue as new at this history length (or at Temporal's suggestion)
    history_events_before_continue: int = Field(HISTORY_EVENTS_BEFORE_CONTINUE, ge=20, le=40000)
    channels: dict[Stage, str] = Field(default_factory=_default_channels)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    gitlab: GitLabConfig = Field(default_factory=GitLabConfig)
    fix_prs: FixPRConfig = Field(default_factory=FixPRConfig)  # evidence, confidence, review queue
    learning: LearningConfig = Field(default_factory=LearningConfig)
    flaky: FlakyConfig = Field(default_factory=FlakyConfig)  # flaky tests from history (`flakiness`)

    def channel(self, stage: Stage) -> str:
        """The Slack channel a stage is announced in."""
        return self.channels.get(stage) or _default_channels()[stage]
