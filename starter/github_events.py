"""GitHub webhook payloads (`starter/github_payloads.py`) translated into domain events and PR commands.

The edge only translates: each handled event becomes zero or more `PREvent`s, or an ignore reason.
Idempotency keys name the fact, not the delivery, so the same fact from any source dedupes. A new PR
comment by a human becomes one `PRCommand` per command in it (`domain.pr_healing.commands.parse`), keyed by the
comment id; edited and deleted comments, and comments by bots or by Mender itself, are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.ci_healing.runs import fix_branch_origin
from domain.config import MenderConfig
from domain.pr_healing import facts
from domain.pr_healing.commands import CommandRequest
from domain.pr_healing.comment_commands import by_a_bot, comment_requests
from domain.pr_healing.events import EventType, PREvent, PRRef
from starter.github_payloads import (
    CheckRunEvent,
    CheckSuiteEvent,
    IssueCommentEvent,
    PullRef,
    PullRequestEvent,
    Repository,
    ReviewEvent,
    StatusEvent,
)
from starter.webhook_payloads import validated

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
FAILING_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
)


class PRCommand(BaseModel):
    """A command for one PR workflow, sent as the `command` update."""

    pr: PRRef
    request: CommandRequest


class Translation(BaseModel):
    """Events and commands to deliver, or why the webhook was ignored."""

    events: list[PREvent] = Field(default_factory=list)
    commands: list[PRCommand] = Field(default_factory=list)
    fix_prs: list[PRRef] = Field(default_factory=list)  # Mender's fix PRs whose checks or reviews changed
    ignored: str | None = None


HeadLookup = Callable[[str, str], list[PRRef]]


def translate(
    event: str, payload: dict[str, Any], config: MenderConfig, received_at: datetime, prs_for_head: HeadLookup
) -> Translation:
    """Map one webhook to domain events; `PayloadError` when a handled event is malformed."""
    handler = _HANDLERS.get(event)
    if handler is None:
        return Translation(ignored=f"event {event!r} is not handled")
    model, function = handler
    parsed = validated(model, payload, event)
    repo = parsed.repository.full_name
    if config.repositories and config.repository(repo) is None:
        return Translation(ignored=f"repository {repo} is not configured")
    return function(parsed, _Context(config, received_at, prs_for_head))


class _Context:
    def __init__(self, config: MenderConfig, received_at: datetime, prs_for_head: HeadLookup) -> None:
        self.config, self.received_at, self.prs_for_head = config, received_at, prs_for_head

    def event(
        self, pr: PRRef, type: EventType, key: str, github_at: str | None = None, **fields: Any
    ) -> PREvent:
        when = facts.github_time(github_at)
        return PREvent(key=key, pr=pr, type=type, occurred_at=self.received_at, github_at=when, **fields)


def _pull_request(p: PullRequestEvent, ctx: _Context) -> Translation:
    pr, pull = PRRef(repo=p.repository.full_name, number=p.pull_request.number), p.pull_request
    if p.action in ("opened", "reopened") and not ctx.config.bots.tracks(pull.user.login, pull.head.ref):
        if ctx.config.bots.tracks(pull.user.login):
            return Translation(
                ignored=f"{pull.head.ref} is a CI fix branch: its CI failure workflow follows it"
            )
        return Translation(ignored=f"author {pull.user.login} is not a configured bot")
    details = {"title": pull.title, "html_url": pull.html_url, "author": pull.user.login}
    if p.action == "opened":
        key, type = facts.opened_key(pull.head.sha), EventType.OPENED
    elif p.action == "reopened":
        key, type = f"reopened:{pull.updated_at}", EventType.REOPENED
    elif p.action == "synchronize":
        key, type = facts.synchronize_key(p.before, p.after or pull.head.sha), EventType.SYNCHRONIZE
        details["before"] = p.before
    elif p.action == "closed" and pull.merged:
        key, type = facts.merged_key(pull.merge_commit_sha, pull.closed_at), EventType.MERGED
    elif p.action == "closed":
        key, type = facts.closed_key(pull.closed_at), EventType.CLOSED
    else:
        return Translation(ignored=f"pull_request action {p.action!r} is not handled")
    event = ctx.event(
        pr, type, key, pull.updated_at, head_sha=pull.head.sha, actor=pull.user.login, details=details
    )
    return Translation(events=[event])


def _check_suite(p: CheckSuiteEvent, ctx: _Context) -> Translation:
    suite = p.check_suite
    if p.action in ("requested", "rerequested"):
        type, key = EventType.CHECKS_STARTED, facts.suite_started_key(suite.id, suite.updated_at)
    elif p.action == "completed" and suite.conclusion in PASSING_CONCLUSIONS | FAILING_CONCLUSIONS:
        type = EventType.CHECKS_PASSED if suite.conclusion in PASSING_CONCLUSIONS else EventType.CHECKS_FAILED
        key = facts.suite_completed_key(suite.id, suite.conclusion, suite.updated_at)
    else:
        return Translation(
            ignored=f"check_suite {p.action} with conclusion {suite.conclusion!r} is not handled"
        )
    details = {"check_suite_id": suite.id, "conclusion": suite.conclusion}
    pulls, sha = suite.pull_requests, suite.head_sha
    return _for_pulls(p.repository, pulls, ctx, type, key, sha, details, suite.updated_at)


def _check_run(p: CheckRunEvent, ctx: _Context) -> Translation:
    run = p.check_run
    if p.action == "created" and run.check_suite is not None:
        # Checks started: GitHub sends `check_suite.requested` to the suite's own app only, but
        # `check_run.created` to every app; one event per suite start (the key names the suite).
        suite = run.check_suite
        key = facts.suite_started_key(suite.id, suite.updated_at)
        details = {"check_suite_id": suite.id, "check_run_id": run.id, "name": run.name}
        return _for_pulls(
            p.repository,
            run.pull_requests,
            ctx,
            EventType.CHECKS_STARTED,
            key,
            run.head_sha,
            details,
            suite.updated_at,
        )
    if p.action != "completed":
        return Translation(ignored=f"check_run action {p.action!r} is not handled")
    details = {"check_run_id": run.id, "name": run.name, "conclusion": run.conclusion}
    key = facts.check_run_key(run.id, run.completed_at)
    return _for_pulls(
        p.repository, run.pull_requests, ctx, EventType.CHECK_RUN_COMPLETED, key, run.head_sha, details
    )


def _for_pulls(
    repo: Repository,
    pulls: list[PullRef],
    ctx: _Context,
    type: EventType,
    key: str,
    sha: str,
    details: dict,
    github_at: str | None = None,
) -> Translation:
    """The event for each PR; a fix PR (no PR workflow follows it) has its own workflow look again."""
    if not pulls:
        return Translation(ignored=f"{type} for {sha[:12]} names no pull request")
    fixes = [p for p in pulls if fix_branch_origin(p.head.ref) is not None]
    tracked = [p for p in pulls if fix_branch_origin(p.head.ref) is None]
    started = type is EventType.CHECKS_STARTED  # nothing to look at before a check finished
    nudged = [] if started else [PRRef(repo=repo.full_name, number=p.number) for p in fixes]
    if not tracked and not nudged:
        return Translation(ignored=f"{type} of a fix PR: its workflow looks once a check finished")
    events = [
        ctx.event(
            PRRef(repo=repo.full_name, number=pull.number),
            type,
            key,
            github_at,
            head_sha=sha,
            details=details,
        )
        for pull in tracked
    ]
    return Translation(events=events, fix_prs=nudged)


def _status(p: StatusEvent, ctx: _Context) -> Translation:
    if p.context != ctx.config.bots.policy_context:
        return Translation(ignored=f"status context {p.context!r} is not the policy bot's")
    prs = ctx.prs_for_head(p.repository.full_name, p.sha)
    if not prs:
        return Translation(ignored=f"no tracked open PR has head {p.sha[:12]}")
    actor = p.sender.login if p.sender else None
    events = [
        ctx.event(
            pr,
            facts.POLICY_EVENTS[p.state],
            facts.status_key(p.id),
            p.updated_at,
            head_sha=p.sha,
            actor=actor,
            details={"state": p.state},
        )
        for pr in prs
    ]
    return Translation(events=events)


def _review(p: ReviewEvent, ctx: _Context) -> Translation:
    if p.action != "submitted" or p.review.state.lower() != "approved":
        return Translation(ignored=f"review {p.action} with state {p.review.state!r} is not an approval")
    pr = PRRef(repo=p.repository.full_name, number=p.pull_request.number)
    if fix_branch_origin(p.pull_request.head.ref) is not None:  # a fix PR waiting for one approval
        return Translation(fix_prs=[pr])
    event = ctx.event(
        pr,
        EventType.APPROVED,
        facts.review_key(p.review.id),
        head_sha=p.review.commit_id,
        actor=p.review.user.login,
        details={"review_id": p.review.id},
    )
    return Translation(events=[event])


def _issue_comment(p: IssueCommentEvent, ctx: _Context) -> Translation:
    if p.action != "created":
        return Translation(ignored=f"issue_comment {p.action}: only new comments carry commands")
    if p.issue.pull_request is None:
        return Translation(ignored=f"comment on issue #{p.issue.number}, not on a pull request")
    author, bots = p.comment.user, ctx.config.bots
    if by_a_bot(author.login, author.type, bots):
        return Translation(ignored=f"comment by {author.login}: bots never command Mender")
    requests = comment_requests(p.comment.id, author.login, author.type, p.comment.body, bots)
    if not requests:
        return Translation(ignored="the comment holds no command")
    pr = PRRef(repo=p.repository.full_name, number=p.issue.number)
    return Translation(commands=[PRCommand(pr=pr, request=request) for request in requests])


_HANDLERS: dict[str, tuple[type[BaseModel], Callable[[Any, _Context], Translation]]] = {
    "pull_request": (PullRequestEvent, _pull_request),
    "check_suite": (CheckSuiteEvent, _check_suite),
    "check_run": (CheckRunEvent, _check_run),
    "status": (StatusEvent, _status),
    "pull_request_review": (ReviewEvent, _review),
    "issue_comment": (IssueCommentEvent, _issue_comment),
}
