"""The audit trail's vocabulary: what workflows, activities and the Admin API record, and how it is read.

Pure pydantic (no SQL), so workflows can build entries. Strings that are too long are cut, never
rejected: an audit entry must not fail the work it describes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.shared.times import utc

MAX_LIMIT = 1000

_LIMITS = {"actor": 200, "action": 60, "target": 300, "repository": 250, "source": 20, "outcome": 20}


class AuditAction(StrEnum):
    """Known action types (others are allowed: the column is free text)."""

    PR_DETECTED = "pr.detected"
    PR_CLASSIFIED = "pr.classified"
    PR_REMEDIATION = "pr.remediation"
    PR_COMMAND = "pr.command"
    PR_ESCALATED = "pr.escalated"
    BREAKER_CHANGE = "breaker.change"
    API_CALL = "api.call"
    CI_DETECTED = "ci.detected"
    CI_DIAGNOSED = "ci.diagnosed"
    CI_APPROVAL = "ci.approval"
    CI_REMEDIATION = "ci.remediation"
    CI_INCIDENT = "ci.incident"
    CI_FIX_PR = "ci.fix_pr"  # a fix PR routed, merged, reverted (details: playbook, score, route)
    CI_REVIEW = "ci.review"  # a queued fix PR approved or rejected by a human
    SLACK_CLICK = "slack.click"  # the decision a Slack button click delivered (first click only)


class AuditSource(StrEnum):
    """Where the audited action came from."""

    COMMENT = "comment"
    API = "api"
    CLI = "cli"
    RECONCILER = "reconciler"
    WORKFLOW = "workflow"
    WEBHOOK = "webhook"
    SLACK = "slack"


class AuditOutcome(StrEnum):
    """Usual outcomes; API calls use the HTTP status class (`2xx`, `4xx`, `5xx`)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"  # a command whose idempotency key was answered before


def _clean(value: str, limit: int) -> str:
    """Drop NUL characters (PostgreSQL refuses them) and cut to the column's length."""
    return value.replace("\x00", "")[:limit]


class AuditEntry(BaseModel):
    """One audited action. `idempotency_key` makes recording it twice (activity retries) a no-op."""

    model_config = ConfigDict(frozen=True)

    action: str = Field(min_length=1)  # an AuditAction value, e.g. "pr.remediation"
    actor: str  # GitHub login, API key name, "mender", ...
    outcome: str  # an AuditOutcome value, or the HTTP status class for API calls
    target: str = ""  # e.g. "acme/api#12", "ci/github/acme/api/123", "breaker/github"
    repository: str | None = None  # "owner/repo" when the action is about one
    source: str = AuditSource.WORKFLOW
    details: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=400)
    at: datetime | None = None  # when it happened; None: when recorded

    @field_validator("actor", "action", "target", "source", "outcome")
    @classmethod
    def _cut(cls, value: str, info: Any) -> str:
        return _clean(value, _LIMITS[info.field_name])

    @field_validator("repository")
    @classmethod
    def _cut_repository(cls, value: str | None) -> str | None:
        return None if value is None else _clean(value, _LIMITS["repository"])

    @field_validator("error")
    @classmethod
    def _cut_error(cls, value: str | None) -> str | None:
        return None if value is None else _clean(value, 4000)

    @field_validator("at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)


class AuditRow(BaseModel):
    """One stored audit row, as the Admin API and `mender audit` show it."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    repository: str | None
    source: str
    outcome: str
    details: dict[str, Any]
    error: str | None
    idempotency_key: str | None


class RetentionReport(BaseModel):
    """What one retention sweep did: rows before `cutoff` purged (archived first when `archive_dir`)."""

    cutoff: datetime
    purged: int
    archive_dir: str | None


class AuditFilter(BaseModel):
    """Which rows to read: every given field must match; newest first, then `offset`, then `limit`."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(None, description="Only rows at or after this time (ISO 8601).")
    until: datetime | None = Field(None, description="Only rows before this time (ISO 8601).")
    repository: str | None = Field(None, max_length=250, description="owner/repo")
    action: str | None = Field(None, max_length=60, description="e.g. api.call, pr.remediation")
    outcome: str | None = Field(None, max_length=20, description="e.g. accepted, failed, 4xx")
    actor: str | None = Field(None, max_length=200, description="API key name, GitHub login, ...")
    target: str | None = Field(None, max_length=300, description="e.g. acme/api#12")
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}.")
    offset: int = Field(0, ge=0, le=1_000_000_000)

    @field_validator("since", "until")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return utc(value)
        except OverflowError:
            raise ValueError("out of range once converted to UTC") from None

    @field_validator("repository", "action", "outcome", "actor", "target")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value

    def matches(self, row: AuditRow) -> bool:
        """The filter as plain Python (the reference for `store.audit.query`)."""
        fields = ("repository", "action", "outcome", "actor", "target")
        return (
            all(getattr(self, f) is None or getattr(row, f) == getattr(self, f) for f in fields)
            and (self.since is None or row.at >= self.since)
            and (self.until is None or row.at < self.until)
        )
