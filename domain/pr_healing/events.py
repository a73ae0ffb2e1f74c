"""Domain events: the facts about a pull request that move its lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

REPO_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
MAX_NUMBER = 2**31 - 1  # GitHub's issue and PR numbers are 32-bit; larger input is refused, never stored


class PRRef(BaseModel):
    """Identity of one pull request: `owner/repo` and number."""

    model_config = ConfigDict(frozen=True)

    repo: str = Field(pattern=REPO_PATTERN, max_length=200)
    number: int = Field(gt=0, le=MAX_NUMBER)

    @property
    def key(self) -> str:
        """Human and store key, e.g. `acme/api#12`."""
        return f"{self.repo}#{self.number}"

    @property
    def workflow_id(self) -> str:
        """Temporal workflow id of this PR's lifecycle: `pr/<owner>/<repo>/<number>`."""
        return f"pr/{self.repo}/{self.number}"

    @classmethod
    def parse(cls, text: str) -> PRRef:
        """Parse `owner/repo#N` (the CLI form); ValueError with the reason otherwise."""
        repo, sep, number = text.partition("#")
        if not sep or not number.isdigit():
            raise ValueError(f"expected OWNER/REPO#NUMBER, got {text!r}")
        return cls(repo=repo, number=int(number))


class EventType(StrEnum):
    """Every kind of fact the lifecycle understands."""

    OPENED = "opened"
    REOPENED = "reopened"
    SYNCHRONIZE = "synchronize"
    CHECKS_STARTED = "checks_started"
    CHECK_RUN_COMPLETED = "check_run_completed"
    CHECKS_PASSED = "checks_passed"
    CHECKS_FAILED = "checks_failed"
    POLICY_PENDING = "policy_pending"
    POLICY_PASSED = "policy_passed"
    POLICY_FAILED = "policy_failed"
    APPROVED = "approved"
    MERGE_STARTED = "merge_started"
    MERGE_FAILED = "merge_failed"
    MERGED = "merged"
    CLOSED = "closed"
    ESCALATED = "escalated"
    REMEDIATION = "remediation"
    REPLACED = "replaced"


class EventSource(StrEnum):
    """Where a fact came from."""

    WEBHOOK = "webhook"
    RECONCILER = "reconciler"
    COMMAND = "command"
    MENDER = "mender"


class PREvent(BaseModel):
    """One fact about a PR. `key` is its idempotency key: the same fact always has the same key."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, max_length=200)
    pr: PRRef
    type: EventType
    source: EventSource = EventSource.WEBHOOK
    occurred_at: datetime
    head_sha: str | None = None
    actor: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    # When GitHub says the fact happened (the PR's, suite's or status's `updated_at`): orders webhooks
    # that GitHub delivered out of order. None when unknown (Mender's own facts).
    github_at: datetime | None = None

    @field_validator("occurred_at", "github_at")
    @classmethod
    def _aware(cls, value: datetime | None, info: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{info.field_name} must carry a timezone")
        return value
