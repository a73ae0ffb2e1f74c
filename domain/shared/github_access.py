"""What Mender needs from GitHub on a repository, and the doctor's verdict on what it saw there.

The doctor reads what GitHub says about the credentials (token valid, rate limit, the repository and the
access it grants: a token's role flags, an App installation's permissions, a classic token's scopes)
and adds the refusals the activities met (`github.access_denied` audit rows): a fine-grained token's
permissions show nowhere else. Pure: the probing is done by `starter/doctor.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ACCESS_DENIED = "github.access_denied"  # the audit action of a refusal an activity met

# GitHub App permission (all `write`) -> what Mender does with it.
NEEDED: dict[str, str] = {
    "pull_requests": "open replacement PRs and fix PRs",
    "contents": "update branches, merge, push fix branches",
    "checks": "re-request check suites",
    "actions": "re-run failed workflow jobs",
    "issues": "comment and label (commands, bot nudges)",
}
LOW_RATE_LIMIT = 0.1  # below this share of the hourly limit left: a warning

Status = Literal["ok", "warning", "failed"]


class AccessRefusal(BaseModel):
    """A 401/403 GitHub gave an activity (not a rate limit): retrying cannot fix it."""

    at: datetime
    status: int
    permission: str | None = None  # from `X-Accepted-GitHub-Permissions`, e.g. `issues=write`
    message: str = ""
    call: str = ""  # what the activity was doing


class SweepSkip(BaseModel):
    """The latest time a sweep (reconciler, CI poller) could not read the repository and backed off."""

    sweep: str
    at: datetime
    failures_in_a_row: int = 1
    retry_at: datetime | None = None
    reason: str = ""


class RepoProbe(BaseModel):
    """What GitHub answered about one repository with Mender's credentials."""

    repository: str
    error: str | None = None  # the credentials or the repository could not be read: why
    error_status: int | None = None
    rate_remaining: int | None = None
    rate_limit: int | None = None
    archived: bool = False
    role: dict[str, bool] | None = None  # a token's `permissions` flags on the repository
    installation: dict[str, str] | None = None  # an App installation's permissions
    scopes: list[str] | None = None  # a classic token's OAuth scopes (None: not a classic token)


class RepoDiagnosis(BaseModel):
    repository: str
    status: Status
    reasons: list[str] = Field(default_factory=list)  # empty when ok
    rate_limit_remaining: int | None = None
    rate_limit: int | None = None
    missing: list[str] = Field(default_factory=list)  # permissions (`name=write`) known to be missing
    refusals: list[AccessRefusal] = Field(default_factory=list)
    skipped_by: list[SweepSkip] = Field(default_factory=list)  # sweeps that skipped it lately


class DoctorReport(BaseModel):
    ok: bool
    checked_at: datetime
    auth: Literal["token", "app"]
    repositories: list[RepoDiagnosis]


def _missing(probe: RepoProbe) -> list[str]:
    if probe.installation is not None:
        return [
            name for name in NEEDED if probe.installation.get(name) not in ("write", "admin")
        ]  # an App's installation lacks them
    if probe.role is not None and not (probe.role.get("push") or probe.role.get("admin")):
        return list(NEEDED)  # a token without push access on the repository can do none of it
    if probe.scopes is not None and not {"repo", "public_repo"} & set(probe.scopes):
        return list(NEEDED)
    return []


def judge(
    probe: RepoProbe, refusals: list[AccessRefusal], skips: list[SweepSkip] | None = None
) -> RepoDiagnosis:
    """The verdict on one repository: failed when Mender cannot read it or lacks a permission it needs
    (or GitHub refused an activity since), warning when archived, low on rate limit or a sweep skipped
    it lately (it backs off: retried later, never failing the other repositories)."""
    reasons: list[str] = []
    if probe.error is not None:
        reasons.append(probe.error)
    missing = _missing(probe) if probe.error is None else []
    for name in missing:
        reasons.append(f"missing permission {name}=write (needed to {NEEDED[name]})")
    refused = sorted({r.permission for r in refusals if r.permission} - {f"{m}=write" for m in missing})
    for refusal in refusals:
        needs = f"; needs {refusal.permission}" if refusal.permission else ""
        reasons.append(
            f"GitHub refused {refusal.call or 'a call'} ({refusal.status} {refusal.message}{needs}) "
            f"at {refusal.at:%Y-%m-%d %H:%M} UTC"
        )
    failed = bool(reasons)
    if probe.archived:
        reasons.append("the repository is archived: GitHub refuses every write")
    low = (
        probe.rate_remaining is not None
        and probe.rate_limit
        and probe.rate_remaining < LOW_RATE_LIMIT * probe.rate_limit
    )
    if low:
        reasons.append(
            f"rate limit low: {probe.rate_remaining} of {probe.rate_limit} requests left this hour"
        )
    for skip in skips or []:
        retry = f", next try at {skip.retry_at:%H:%M:%S} UTC" if skip.retry_at else ""
        reasons.append(
            f"the {skip.sweep} skipped it ({skip.failures_in_a_row} failures in a row{retry}): {skip.reason}"
        )
    status: Status = "failed" if failed else "warning" if reasons else "ok"
    return RepoDiagnosis(
        repository=probe.repository,
        status=status,
        reasons=reasons,
        rate_limit_remaining=probe.rate_remaining,
        rate_limit=probe.rate_limit,
        missing=[f"{m}=write" for m in missing] + refused,
        refusals=refusals,
        skipped_by=list(skips or []),
    )
