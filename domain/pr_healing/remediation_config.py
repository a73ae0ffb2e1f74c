"""What Mender may do to a stalled PR (`remediation` in `mender.yaml`) and how often (`retry_budgets`):
transient failure patterns, how each helper bot is nudged, rebuild hooks, the merge queue's lease."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from domain.shared.models import Strict


class RetryBudgets(Strict):
    """How many times each remediation may run automatically on one PR."""

    update_branch: int = Field(2, ge=0)
    rebuild: int = Field(3, ge=0)
    policy_bot: int = Field(2, ge=0)
    approver_bot: int = Field(2, ge=0)
    sod_bot: int = Field(2, ge=0)
    merge: int = Field(2, ge=0)
    close_and_reopen: int = Field(1, ge=0)


DEFAULT_TRANSIENT_PATTERNS = [
    r"(?i)\btimed? ?out\b",
    r"(?i)connection (reset|refused|timed out|aborted)",
    r"(?i)ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND",
    r"(?i)could not resolve host|temporary failure in name resolution",
    r"(?i)the runner has received a shutdown signal|lost communication with the server|runner .*(lost|offline)",
    r"(?i)\b(502|503|504)\b.*(bad gateway|service unavailable|gateway time-?out)",
    r"(?i)internal server error|infrastructure (error|failure)",
    r"(?i)rate limit exceeded|toomanyrequests",
    r"(?i)no space left on device",
]


class BotMechanism(Strict):
    """How Mender nudges one helper bot: toggle a label, post a comment, or call an HTTP endpoint."""

    kind: Literal["label", "comment", "api"] = "comment"
    label: str | None = None
    comment: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> BotMechanism:
        needed = {"label": self.label, "comment": self.comment, "api": self.url}[self.kind]
        if not needed:
            field = {"label": "label", "comment": "comment", "api": "url"}[self.kind]
            raise ValueError(f"mechanism {self.kind!r} needs `{field}`")
        return self


def _default_bot_mechanisms() -> dict[str, BotMechanism]:
    return {
        "policy": BotMechanism(kind="comment", comment="/policy-bot recheck"),
        "approver": BotMechanism(kind="label", label="approver-bot:recheck"),
        "sod": BotMechanism(kind="comment", comment="/sod recheck"),
        "automerge": BotMechanism(kind="label", label="automerge"),
    }


class RebuildHook(Strict):
    """A generic HTTP rebuild hook for CI that is not GitHub Actions (e.g. Jenkins): POSTed on rebuild."""

    context: str = Field(min_length=1)  # the check run name or commit status context it rebuilds
    url: str = Field(pattern=r"^https?://")


class MergeQueueConfig(Strict):
    """Merge-queue-lite: branch updates one PR at a time per (repository, base branch)."""

    enabled: bool = True
    lease_seconds: float = Field(600.0, gt=0)  # a turn not renewed for this long passes to the next PR
    effective_updates_max: int = Field(10, ge=0)  # updates that made the PR current, not charged up to this


class RemediationConfig(Strict):
    """What Mender may do to a stalled PR, and how it judges failures."""

    transient_patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_TRANSIENT_PATTERNS))
    effect_deadline_seconds: float = Field(300.0, gt=0)
    close_and_reopen: bool = False
    bots: dict[Literal["policy", "approver", "sod", "automerge"], BotMechanism] = Field(
        default_factory=_default_bot_mechanisms
    )
    rebuild_hooks: list[RebuildHook] = Field(default_factory=list)
    merge_queue: MergeQueueConfig = Field(default_factory=MergeQueueConfig)
    # Attempts whose effect Mender could not check because it failed itself (its worker died or hung:
    # the activity timed out) are not charged to a budget; past this many on one PR, a human is asked.
    unchecked_attempts_max: int = Field(3, ge=0)

    @field_validator("transient_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {index} ({pattern!r}) is not a valid regex: {exc}") from None
        return patterns

    @field_validator("bots")
    @classmethod
    def _all_bots(cls, value: dict[str, BotMechanism]) -> dict[str, BotMechanism]:
        return {**_default_bot_mechanisms(), **value}
