"""CI runs as Mender sees them: which run, which attempt, how it ended. Pure models and parsing rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

PROJECT_PATTERN = r"^[\w.-]+(/[\w.-]+)+$"  # owner/repo, or GitLab group/subgroup/project
FIX_BRANCH_PREFIX = "mender/ci-fix/"
_FIX_BRANCH = re.compile(rf"^{re.escape(FIX_BRANCH_PREFIX)}(?P<run>\d+)(?:-[\w.-]+)?$")


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


class Conclusion(StrEnum):
    """How a run (attempt) ended, in one vocabulary for both providers."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    OTHER = "other"  # skipped, neutral, manual, timed_out... never healed, never acted on

    @classmethod
    def of(cls, value: str | None) -> Conclusion | None:
        """Map a GitHub conclusion or GitLab status; None while the run is not finished."""
        if value in (None, "", "queued", "in_progress", "pending", "running", "created", "waiting"):
            return None
        if value in ("success", "passed"):
            return cls.SUCCESS
        if value in ("failure", "failed", "timed_out", "startup_failure"):
            return cls.FAILURE
        if value in ("cancelled", "canceled"):
            return cls.CANCELLED
        return cls.OTHER


class CIRunRef(BaseModel):
    """One pipeline run: `ci/<provider>/<project>/<run_id>` is its workflow id."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    project: str = Field(pattern=PROJECT_PATTERN)
    run_id: int = Field(ge=1)

    @property
    def workflow_id(self) -> str:
        return f"ci/{self.provider.value}/{self.project}/{self.run_id}"

    @property
    def key(self) -> str:
        return f"{self.provider.value}:{self.project}#{self.run_id}"

    def fix_branch(self, attempt: int) -> str:
        """The branch a fix for this run is committed to."""
        return f"{FIX_BRANCH_PREFIX}{self.run_id}-{attempt}"


def normalise_stamp(value: str | None) -> str:
    """A provider timestamp (`2016-08-12 15:26:29 UTC`, ISO with or without fraction/offset) as
    `YYYY-MM-DDTHH:MM:SSZ`, so a webhook and a poll of the same attempt give the same key."""
    if not value:
        return ""
    text = value.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def fix_branch_origin(branch: str | None) -> int | None:
    """The run id a `mender/ci-fix/<run>-<n>` branch fixes, else None."""
    match = _FIX_BRANCH.match(branch or "")
    return int(match["run"]) if match else None


class RunEventOrigin(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"


class CIRunEvent(BaseModel):
    """A run (or one of its attempts) changed: from a webhook or from the polling fallback.

    `run` is the run the event belongs to; for a run on a fix branch, `fix_for` names the failed run
    whose workflow is waiting for it.
    """

    model_config = ConfigDict(frozen=True)

    run: CIRunRef
    attempt: int = Field(1, ge=1)
    conclusion: Conclusion | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    html_url: str = ""
    name: str = ""
    occurred_at: datetime
    origin: RunEventOrigin = RunEventOrigin.WEBHOOK
    fix_for: CIRunRef | None = None
    stamp: str = ""  # distinguishes attempts where the provider has no attempt number (GitLab: finished_at)

    @property
    def key(self) -> str:
        """Idempotency key: the same attempt ending the same way is one fact, whoever reports it."""
        return f"{self.run.key}:{self.attempt}:{self.stamp}:{self.conclusion or 'running'}"

    @property
    def target(self) -> CIRunRef:
        """The run whose workflow must hear about this event."""
        return self.fix_for or self.run

    @property
    def starts_workflow(self) -> bool:
        """Only a failed run that is not itself a fix starts a CI failure workflow."""
        return self.conclusion is Conclusion.FAILURE and self.fix_for is None
