"""PR command activities: may this commenter command Mender, and the bot's reply on the PR."""

from __future__ import annotations

from activities.definition import defn
from activities.github import _repo, github_errors
from contracts.pr import Permission, PermissionArgs, ReplyArgs
from domain.shared.redaction import redact
from runtime.settings import get_settings

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


def reply_marker(key: str) -> str:
    """A hidden line naming the command the reply answers (`--` cannot appear in an HTML comment)."""
    return f"<!-- mender-command: {key.replace('--', '-')} -->"


@defn(name="commands.permission")
def permission(args: PermissionArgs) -> Permission:
    """Permitted when listed in `commands.allowed_users`, or (allow_repo_writers) a writer on GitHub."""
    config = get_settings().config.commands
    if args.login in config.allowed_users:
        return Permission(permitted=True, reason=f"@{args.login} is in commands.allowed_users")
    if not config.allow_repo_writers:
        return Permission(permitted=False, reason=f"@{args.login} may not command Mender on this repository")
    with github_errors(f"reading the permission of {args.login} on {args.pr.repo}", args.pr.repo):
        level = _repo(args.pr).get_collaborator_permission(args.login)
    if level in WRITE_PERMISSIONS:
        return Permission(permitted=True, reason=f"@{args.login} has {level} permission")
    return Permission(
        permitted=False,
        reason=f"@{args.login} may not command Mender on this repository (permission: {level})",
    )


@defn(name="commands.reply")
def reply(args: ReplyArgs) -> None:
    """Comment on the PR, unless a reply to this command is already there (a retried activity)."""
    marker = reply_marker(args.key)
    with github_errors(f"replying on {args.pr.key}", args.pr.repo):
        issue = _repo(args.pr).get_issue(args.pr.number)
        if any(marker in (comment.body or "") for comment in issue.get_comments()):
            return
        issue.create_comment(f"{redact(args.body)}\n\n{marker}")


COMMAND_ACTIVITIES = [permission, reply]
