"""GitHub's PR webhook payloads as pydantic models: only the fields Mender reads, bounded where they
become keys (`starter/github_events.py` translates them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from domain.pr_healing.events import MAX_NUMBER
from starter.webhook_payloads import Loose


class Account(Loose):
    login: str
    type: str = "User"


class Repository(Loose):
    full_name: str = Field(pattern=r"^[^/\s]+/[^/\s]+$")


class Commit(Loose):
    sha: str = Field(min_length=7)
    ref: str | None = None


class PullRequest(Loose):
    number: int = Field(gt=0, le=MAX_NUMBER)
    user: Account
    head: Commit
    base: Commit | None = None
    html_url: str | None = None
    title: str | None = None
    merged: bool | None = None
    merge_commit_sha: str | None = None
    updated_at: str | None = None
    closed_at: str | None = None


class PullRequestEvent(Loose):
    action: str
    pull_request: PullRequest
    repository: Repository
    before: str | None = None
    after: str | None = None


class PullRef(Loose):
    number: int = Field(gt=0, le=MAX_NUMBER)
    head: Commit


class CheckSuite(Loose):
    id: int
    head_sha: str
    status: str | None = None
    conclusion: str | None = None
    updated_at: str | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)


class CheckSuiteEvent(Loose):
    action: str
    check_suite: CheckSuite
    repository: Repository


class SuiteRef(Loose):
    id: int
    updated_at: str | None = None


class CheckRun(Loose):
    id: int
    name: str
    head_sha: str
    conclusion: str | None = None
    completed_at: str | None = None
    check_suite: SuiteRef | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)


class CheckRunEvent(Loose):
    action: str
    check_run: CheckRun
    repository: Repository


class StatusEvent(Loose):
    id: int
    sha: str
    state: Literal["pending", "success", "failure", "error"]
    context: str
    repository: Repository
    sender: Account | None = None
    updated_at: str | None = None


class Review(Loose):
    id: int
    state: str
    user: Account
    commit_id: str | None = None


class ReviewEvent(Loose):
    action: str
    review: Review
    pull_request: PullRequest
    repository: Repository


class Issue(Loose):
    number: int = Field(gt=0, le=MAX_NUMBER)
    pull_request: dict[str, Any] | None = None  # present when the issue is a pull request


class Comment(Loose):
    id: int
    user: Account
    body: str | None = None


class IssueCommentEvent(Loose):
    action: str
    issue: Issue
    comment: Comment
    repository: Repository
