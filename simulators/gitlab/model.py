"""The GitLab simulator's records: projects, pipelines, jobs, incident issues. No HTTP, no locking here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

HealsOn = Literal["retry", "fix", "never"]
HEALS_ON: tuple[str, ...] = ("retry", "fix", "never")
FINISHED = ("success", "failed", "canceled", "skipped")


def now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime | None) -> str | None:
    """REST API timestamps: `2016-08-11T11:28:34.085Z`."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z" if at else None


def hook_ts(at: datetime | None) -> str | None:
    """Webhook timestamps: `2016-08-12 15:23:28 UTC`."""
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else None


def fake_sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()


class GitLabError(Exception):
    """A REST failure rendered as GitLab renders it: `{"message": "404 Project Not Found"}`."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


@dataclass
class Project:
    id: int
    path: str  # group/name (groups may nest)
    default_branch: str = "main"
    created_at: datetime = field(default_factory=now)
    next_pipeline_iid: int = 1
    next_issue_iid: int = 1
    variables: dict[str, tuple[str, bool]] = field(
        default_factory=dict
    )  # CI/CD variables: key -> (value, masked)
    branches: dict[str, Any] = field(default_factory=dict)  # name -> repo_model.Branch
    merge_requests: dict[int, Any] = field(default_factory=dict)  # iid -> repo_model.MergeRequest
    next_mr_iid: int = 1
    fix_jobs: dict[str, str] = field(default_factory=dict)  # extra MR pipeline jobs: name -> status
    commits: dict[str, Any] = field(default_factory=dict)  # sha -> repo_model.Commit (every commit made)
    breaks_after_merge: bool = False  # the default branch fails once a fix MR is merged (until reverted)
    breaking: dict[str, str] = field(default_factory=dict)  # path -> text that breaks the default branch
    signs_commits: bool = False  # API commits carry a verified signature (GitLab's own key)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def namespace(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else self.path


@dataclass
class Job:
    id: int
    pipeline_id: int
    project_id: int
    name: str
    stage: str
    status: str = "created"  # created, pending, running, success, failed
    trace: str = ""
    failure_reason: str | None = None
    created_at: datetime = field(default_factory=now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    retried: bool = False  # superseded by a newer job of the same name
    retry_of: int | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return round(((self.finished_at or now()) - self.started_at).total_seconds(), 3)

    @property
    def queued_duration(self) -> float | None:
        if self.started_at is None:
            return None
        return round((self.started_at - self.created_at).total_seconds(), 3)

    def start(self) -> None:
        self.status, self.started_at = "running", now()

    def finish(self, status: str, trace: str, failure_reason: str | None = None) -> None:
        self.status, self.trace, self.failure_reason, self.finished_at = status, trace, failure_reason, now()


@dataclass
class Pipeline:
    """A pipeline and what the simulator knows about how it heals."""

    id: int
    iid: int
    project_id: int
    project_path: str
    index: int  # creation order, for the report
    ref: str
    sha: str
    log_text: str
    heals_on: str
    approve: Any = None
    failing_job: str = "test"  # the job that fails until healed; other jobs pass when retried
    status: str = "created"
    source: str = "push"
    jobs: list[Job] = field(default_factory=list)
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    failed_at: datetime | None = None  # first failure
    retries_requested: int = 0
    healed_at: datetime | None = None
    healed_by: str | None = None

    @property
    def latest_jobs(self) -> list[Job]:
        return [job for job in self.jobs if not job.retried]

    @property
    def stages(self) -> list[str]:
        return list(dict.fromkeys(job.stage for job in self.jobs))

    @property
    def duration(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds())

    def refresh_status(self) -> str:
        """Derive the pipeline status from its latest jobs (GitLab's composite status, simplified)."""
        statuses = {job.status for job in self.latest_jobs}
        if "running" in statuses:
            status = "running"
        elif statuses & {"pending", "created"}:
            status = "pending"
        elif statuses <= set(FINISHED) and statuses:
            status = "failed" if "failed" in statuses else "success"
        else:
            status = "created"
        if status != self.status:
            self.status, self.updated_at = status, now()
            if status in FINISHED:
                self.finished_at = self.updated_at
            elif status == "running" and self.started_at is None:
                self.started_at = self.updated_at
            else:
                self.finished_at = None
        return status


@dataclass
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str = ""
    labels: list[str] = field(default_factory=list)
    issue_type: str = "issue"
    state: str = "opened"
    created_at: datetime = field(default_factory=now)
    pipeline_ids: list[int] = field(default_factory=list)  # pipelines the issue mentions
