"""The reconciler's recovery of lost comment webhooks: commands in recent comments of open bot PRs.

A comment is read again only within `reconciler.command_lookback_seconds`; its commands go to the PR
workflow under the same key a webhook would have used (`comment:<id>:<command>`), so a command whose
webhook did arrive is answered from the workflow's memory, never run twice. A command Mender already
answered on the PR (its reply carries the key) is not sent at all: that also holds for a workflow that
started afresh and remembers nothing.
"""

from __future__ import annotations

from datetime import datetime

from activities.commands import reply_marker
from activities.github import github_client, github_errors
from domain.pr_healing.commands import CommandRequest
from domain.pr_healing.comment_commands import comment_requests
from domain.pr_healing.events import PRRef
from domain.shared.times import aware
from runtime.settings import Settings


def unanswered_commands(settings: Settings, pr: PRRef, since: datetime) -> list[CommandRequest]:
    """Commands in the PR's comments created since `since` that have no reply from Mender yet."""
    bots = settings.config.bots
    with github_errors(f"reading the comments of {pr.key}"):
        issue = github_client(settings, pr.repo).get_repo(pr.repo).get_issue(pr.number)
        comments = [c for c in issue.get_comments(since=since) if aware(c.created_at) >= since]
    replies = [c.body or "" for c in comments if c.user.login == bots.mender_login]
    found = []
    for comment in comments:
        user = comment.user
        for request in comment_requests(comment.id, user.login, user.type, comment.body, bots):
            marker = reply_marker(request.idempotency_key)
            if not any(marker in body for body in replies):
                found.append(request)
    return found
