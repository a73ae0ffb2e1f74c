"""PR commands: one grammar and one validity table for every source (comment, Admin API, CLI, reconciler).

Grammar (`parse`): a command is a known slash word at the start of a line of a comment, leading
whitespace allowed, case-insensitive, followed by whitespace or the end of the line (`/rebuild please`
is `/rebuild`; `/rebuild.` is nothing). Lines quoted with `>` and lines inside ``` or ~~~ fences are
never commands (quoting someone's `/merge` must not merge). One command per line; several lines give
several commands, deduplicated in order. Unknown slash words (`/policy-bot recheck`, typos) are ignored.

Validity (`COMMANDS`, `validate`): each command is valid in a fixed set of lifecycle states, runs one
remediation `Action` (the same strategy the classifier would run) and counts against one retry budget.
After MERGED or CLOSED only `/cancel` is valid; a PR Mender does not track (state None) takes `/cancel` only.

`/cancel` stops automatic remediation on the PR for the rest of its workflow (carried across
continue-as-new): no more classification, remediation or escalation, while events and refreshes are
still tracked. Explicit commands still run afterwards. Once the PR is merged or closed, a cancelled
workflow ends its grace period at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.pr_healing.classifier import PRAction
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState


class CommandSource(StrEnum):
    COMMENT = "comment"
    API = "api"
    CLI = "cli"
    RECONCILER = "reconciler"


class CommandRequest(BaseModel):
    """One command for one PR workflow (the argument of the `command` update)."""

    model_config = ConfigDict(frozen=True)

    command: str  # e.g. "/rebuild"
    requester: str  # GitHub login, API key name, ...
    source: CommandSource
    idempotency_key: str = Field(min_length=1)  # e.g. "comment:<id>:/rebuild"; a repeat runs nothing twice


class CommandAnswer(BaseModel):
    """The PR workflow's answer to a command."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    command: str
    reason: str  # why it was refused, or what was started
    duplicate: bool = False  # the idempotency key was seen before: this is the earlier answer


class CommandRecord(BaseModel):
    """A handled command as the workflow keeps it (idempotency, `status`): request, answer, when."""

    model_config = ConfigDict(frozen=True)

    request: CommandRequest
    answer: CommandAnswer
    at: datetime


S = PRState
OPEN_STATES = frozenset(s for s in PRState if s not in TERMINAL_STATES)
HUMAN_MARK = ":command"  # retry_counts["rebuild:command"]: how many of the rebuilds humans asked for
MAX_KEY_LENGTH = 150  # idempotency keys end up in event keys (at most 200 characters)
CANCEL = "/cancel"


@dataclass(frozen=True)
class CommandSpec:
    """One row of the table: what the command does, when it is valid, what it counts against."""

    name: str
    help: str
    states: frozenset[PRState]
    action: PRAction | None  # the remediation it runs; None for /cancel
    budget: str | None  # the RetryBudgets field it counts against; None for /cancel
    done: str  # confirmation, "<done> triggered by @user"
    refusal: str  # why it is refused in an open state outside `states`


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "/rebuild",
            "Re-run the failed checks of the head commit.",
            frozenset({S.CHECKS_RUNNING, S.CHECKS_FAILED, S.NEEDS_INTERVENTION}),
            PRAction.RETRY_CHECKS,
            "rebuild",
            "Rebuild",
            "there are no failed or stuck checks to re-run",
        ),
        CommandSpec(
            "/recheck-policy",
            "Ask the policy bot to evaluate the head again.",
            frozenset({S.CHECKS_PASSED, S.POLICY_EVALUATING, S.POLICY_FAILED, S.NEEDS_INTERVENTION}),
            PRAction.RETRIGGER_POLICY_BOT,
            "policy_bot",
            "Policy re-check",
            "the policy is not due: checks have not passed or the policy already passed",
        ),
        CommandSpec(
            "/recheck-sod",
            "Ask the separation-of-duties validator to check the PR again.",
            frozenset(
                {
                    S.CHECKS_PASSED,
                    S.POLICY_EVALUATING,
                    S.POLICY_PASSED,
                    S.POLICY_FAILED,
                    S.APPROVED,
                    S.NEEDS_INTERVENTION,
                }
            ),
            PRAction.RETRIGGER_SOD_BOT,
            "sod_bot",
            "Separation-of-duties re-check",
            "checks have not passed, or the PR is being merged",
        ),
        CommandSpec(
            "/recheck-approval",
            "Ask the approver bot to review the head again.",
            frozenset({S.POLICY_PASSED, S.NEEDS_INTERVENTION}),
            PRAction.RETRIGGER_APPROVER_BOT,
            "approver_bot",
            "Approval re-check",
            "approval is not due: the policy has not passed or the PR is already approved",
        ),
        CommandSpec(
            "/merge",
            "Merge the PR now (squash), only if the head is green and approved.",
            frozenset({S.POLICY_PASSED, S.APPROVED, S.MERGING, S.NEEDS_INTERVENTION}),
            PRAction.RETRIGGER_MERGE,
            "merge",
            "Merge",
            "checks and policy have not passed",
        ),
        CommandSpec(
            "/update-branch",
            "Bring the branch up to date with its base.",
            OPEN_STATES - {S.CHECKS_RUNNING, S.MERGING},
            PRAction.UPDATE_BRANCH,
            "update_branch",
            "Branch update",
            "checks are running or the PR is being merged",
        ),
        CommandSpec(
            "/close-and-reopen",
            "Replace the PR with a fresh one from the latest base.",
            OPEN_STATES - {S.MERGING},
            PRAction.CLOSE_AND_REOPEN,
            "close_and_reopen",
            "Close-and-reopen",
            "the PR is being merged",
        ),
        CommandSpec(
            CANCEL,
            "Stop automatic remediation on this PR (events are still tracked).",
            frozenset(PRState),
            None,
            None,
            "Automatic remediation cancelled",
            "",
        ),
    )
}

_LINE = re.compile(r"^[ \t]*(/[A-Za-z][A-Za-z0-9_-]*)(?=\s|$)")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_QUOTE = re.compile(r"^[ \t]*>")


def normalize(command: str) -> str:
    """`Rebuild`, `/REBUILD ` -> `/rebuild` (the table's spelling)."""
    word = command.strip().lower()
    return word if word.startswith("/") else f"/{word}"


def parse(body: str) -> list[str]:
    """The known commands in a comment body, in order, each once (see the module docstring)."""
    found: list[str] = []
    fence: str | None = None
    for line in body.splitlines():
        opening = _FENCE.match(line)
        if opening:
            marker = opening.group(1)
            fence = None if fence == marker else (fence or marker)
            continue
        if fence or _QUOTE.match(line):
            continue
        match = _LINE.match(line)
        if match:
            command = normalize(match.group(1))
            if command in COMMANDS and command not in found:
                found.append(command)
    return found


def validate(command: str, state: PRState | None) -> str | None:
    """Why `command` is refused in `state`, or None when it is valid there."""
    spec = COMMANDS.get(normalize(command))
    if spec is None:
        return f"unknown command {command!r}"
    if spec.name == CANCEL:
        return None
    if state is None:
        return "Mender does not track this PR"
    state = PRState(state)
    if state in spec.states:
        return None
    if state in TERMINAL_STATES:
        return f"the PR is already {state.value.lower()} (state {state.value})"
    return f"{spec.refusal} (state {state.value})"


def automatic_runs(retry_counts: dict[str, int]) -> dict[str, int]:
    """Retry counts per budget without the runs humans asked for (those are marked `<budget>:command`)."""
    return {
        name: count - retry_counts.get(name + HUMAN_MARK, 0)
        for name, count in retry_counts.items()
        if not name.endswith(HUMAN_MARK)
    }


def help_text() -> str:
    """One line per command, for replies and docs."""
    return "\n".join(f"`{spec.name}`: {spec.help}" for spec in COMMANDS.values())


def malformed(request: CommandRequest) -> str | None:
    """Why the `command` update rejects `request` outright (it never reaches the PR), or None."""
    if normalize(request.command) not in COMMANDS:
        return f"unknown command {request.command!r}; known: {', '.join(COMMANDS)}"
    if not request.requester.strip():
        return "a command needs a requester"
    if len(request.idempotency_key) > MAX_KEY_LENGTH:
        return f"idempotency key longer than {MAX_KEY_LENGTH} characters"
    return None
