"""Settings of fix PRs that earn their merge: evidence mapping, confidence weights, thresholds, review queue.

Global under `ci.fix_prs:`; a repository may override the check mapping, the signals it does not have,
the weights and the thresholds under `repositories[].fix_prs:` (`MenderConfig.fix_pr_policy`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from domain.shared.models import Strict


class Signal(StrEnum):
    """One kind of evidence a fix PR's pipeline (or Mender's own scan) gives."""

    TESTS = "tests"
    LINT = "lint"
    TYPES = "types"
    SECURITY = "security"
    COVERAGE = "coverage"


# Words in a check run's or job's name that say which signal it gives (matched as whole words).
DEFAULT_CHECK_WORDS: dict[Signal, tuple[str, ...]] = {
    Signal.TESTS: ("test", "tests", "pytest", "unit", "integration", "e2e", "jest", "spec", "tox"),
    Signal.LINT: ("lint", "linter", "ruff", "flake8", "pylint", "eslint", "format", "prettier", "style"),
    Signal.TYPES: ("type", "types", "typecheck", "typing", "mypy", "pyright", "tsc"),
    Signal.SECURITY: ("security", "codeql", "bandit", "audit", "snyk", "trivy", "semgrep", "sast"),
    Signal.COVERAGE: ("coverage", "codecov", "cov", "coveralls"),
}


class Weights(Strict):
    """How much each signal counts towards confidence (normalised by their sum)."""

    tests: float = Field(0.40, ge=0)
    lint: float = Field(0.20, ge=0)
    types: float = Field(0.15, ge=0)
    security: float = Field(0.15, ge=0)
    coverage: float = Field(0.10, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if sum(self.of(s) for s in Signal) <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    def of(self, signal: Signal) -> float:
        return float(getattr(self, signal.value))


class ReviewQueueConfig(Strict):
    """The review queue's backlog alert: posted when too many items wait, or one waits too long."""

    backlog_items: int = Field(10, ge=1)
    backlog_age_hours: float = Field(72.0, gt=0)
    alert_period_hours: float = Field(24.0, gt=0)  # at most one alert per period
    channel: str = "#mender-ci"
    recheck_seconds: float = Field(3600.0, ge=1)  # how often a waiting fix PR re-checks the backlog


class ScanConfig(Strict):
    """Mender's own security scan of a fix branch (dependency audit, bandit), in a temporary checkout."""

    enabled: bool = True
    timeout_seconds: float = Field(120.0, gt=0)
    vulnerability_feed: str | None = None  # an OSV `/v1/query` URL; null: the GitHub simulator's feed
    max_files: int = Field(50, ge=1)


class FixPRRepoConfig(Strict):
    """A repository's own evidence mapping and thresholds (`repositories[].fix_prs`)."""

    checks: dict[Signal, list[str]] = Field(default_factory=dict)  # signal -> check names or globs
    absent: list[Signal] = Field(default_factory=list)  # signals this repository does not have at all
    weights: Weights | None = None
    merge_threshold: float | None = Field(None, ge=0, le=1)
    auto_merge_threshold: float | None = Field(None, ge=0, le=1)


class FixPRConfig(Strict):
    """`ci.fix_prs`: what happens to a fix PR once its pipeline has run."""

    enabled: bool = True
    weights: Weights = Field(default_factory=Weights)
    merge_threshold: float = Field(0.95, ge=0, le=1)  # merge when the required checks pass
    auto_merge_threshold: float = Field(0.80, ge=0, le=1)  # merge after one approving review
    pipeline_timeout_seconds: float = Field(3600.0, gt=0)  # wait for the fix branch's checks
    poll_seconds: float = Field(300.0, ge=1)  # the fallback: webhooks nudge the workflow (`nudge`)
    watch_after_merge_seconds: float = Field(3600.0, gt=0)  # how long a merged fix is watched
    review_timeout_seconds: float = Field(14 * 24 * 3600.0, gt=0)  # then the queued fix is left to humans
    scan: ScanConfig = Field(default_factory=ScanConfig)
    review: ReviewQueueConfig = Field(default_factory=ReviewQueueConfig)

    @model_validator(mode="after")
    def _ordered(self) -> FixPRConfig:
        if self.auto_merge_threshold > self.merge_threshold:
            raise ValueError("auto_merge_threshold must not be above merge_threshold")
        return self


class FixPRPolicy(Strict):
    """The effective fix PR settings of one repository (global values with its overrides)."""

    repo: str
    weights: Weights
    merge_threshold: float
    auto_merge_threshold: float
    checks: dict[Signal, list[str]] = Field(default_factory=dict)
    absent: list[Signal] = Field(default_factory=list)
    pipeline_timeout_seconds: float = 3600.0
    poll_seconds: float = 300.0
    watch_after_merge_seconds: float = 3600.0
    review_timeout_seconds: float = 14 * 24 * 3600.0
    scan: ScanConfig = Field(default_factory=ScanConfig)
    review: ReviewQueueConfig = Field(default_factory=ReviewQueueConfig)

    @classmethod
    def of(cls, repo: str, config: FixPRConfig, override: FixPRRepoConfig | None) -> FixPRPolicy:
        o = override or FixPRRepoConfig()
        return cls(
            repo=repo,
            weights=o.weights or config.weights,
            merge_threshold=config.merge_threshold if o.merge_threshold is None else o.merge_threshold,
            auto_merge_threshold=(
                config.auto_merge_threshold if o.auto_merge_threshold is None else o.auto_merge_threshold
            ),
            checks=o.checks,
            absent=o.absent,
            pipeline_timeout_seconds=config.pipeline_timeout_seconds,
            poll_seconds=config.poll_seconds,
            watch_after_merge_seconds=config.watch_after_merge_seconds,
            review_timeout_seconds=config.review_timeout_seconds,
            scan=config.scan,
            review=config.review,
        )
