"""The commands a PR comment carries, the same whether its webhook arrived or the reconciler found it.

A comment by a human becomes one `CommandRequest` per command in it (`commands.parse`), keyed
`comment:<comment id>:<command>`; the key is what makes the webhook and the reconciler's recovery of a
lost webhook one command (the PR workflow answers a repeated key from memory, and the reply on the PR
carries the key). Comments by bots, or by Mender itself, never command Mender.
"""

from __future__ import annotations

from domain.config import Bots
from domain.pr_healing.commands import CommandRequest, CommandSource, parse


def comment_key(comment_id: int, command: str) -> str:
    return f"comment:{comment_id}:{command}"


def by_a_bot(login: str, user_type: str | None, bots: Bots) -> bool:
    return user_type == "Bot" or login.endswith("[bot]") or login == bots.mender_login


def comment_requests(
    comment_id: int, login: str, user_type: str | None, body: str | None, bots: Bots
) -> list[CommandRequest]:
    """The comment's commands, in order; [] for a bot's comment or one without a command."""
    if by_a_bot(login, user_type, bots):
        return []
    return [
        CommandRequest(
            command=command,
            requester=login,
            source=CommandSource.COMMENT,
            idempotency_key=comment_key(comment_id, command),
        )
        for command in parse(body or "")
    ]
