"""PR commands: the grammar, the validity table, and the translation of PR comments into commands."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.config import MenderConfig
from domain.pr_healing.classifier import BUDGET_OF
from domain.pr_healing.commands import (
    COMMANDS,
    CommandSource,
    automatic_runs,
    help_text,
    normalize,
    parse,
    validate,
)
from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState
from domain.pr_healing.remediation_config import RetryBudgets
from starter.github_events import translate
from tests.conftest import FIXTURES

COMMENTS = FIXTURES / "github" / "webhooks" / "issue_comment"
S = PRState


# --- grammar ---


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/rebuild", ["/rebuild"]),
        ("/rebuild please", ["/rebuild"]),
        ("   /merge\t now", ["/merge"]),
        ("/REBUILD", ["/rebuild"]),
        ("/Recheck-Policy", ["/recheck-policy"]),
        ("please /rebuild", []),  # not at the start of a line
        ("/rebuild.", []),  # the word must end with whitespace or the line
        ("/rebuilds", []),
        ("/policy-bot recheck", []),  # another bot's command: unknown, ignored
        ("/unknown\n/merge", ["/merge"]),
        ("/rebuild\n/merge\n/rebuild", ["/rebuild", "/merge"]),  # several, deduplicated in order
        ("/merge\r\n/cancel", ["/merge", "/cancel"]),
        ("/rebuild /merge", ["/rebuild"]),  # one command per line, the rest is text
        ("> /merge\nok", []),  # quoted
        ("  > /merge", []),
        ("```\n/merge\n```\n/rebuild", ["/rebuild"]),  # fenced
        ("~~~\n/merge\n```\n/cancel\n~~~\n/update-branch", ["/update-branch"]),  # ``` inside ~~~
        ("```\n/merge", []),  # unclosed fence runs to the end
        ("", []),
        ("LGTM", []),
    ],
)
def test_parse(body: str, expected: list[str]) -> None:
    assert parse(body) == expected


def test_normalize_accepts_missing_slash_and_case() -> None:
    assert normalize(" Rebuild ") == "/rebuild"
    assert normalize("/MERGE") == "/merge"


# --- the table ---


def test_the_table_has_the_issue_commands_with_help_and_consistent_budgets() -> None:
    assert list(COMMANDS) == [
        "/rebuild",
        "/recheck-policy",
        "/recheck-sod",
        "/recheck-approval",
        "/merge",
        "/update-branch",
        "/close-and-reopen",
        "/cancel",
    ]
    for spec in COMMANDS.values():
        assert spec.help and spec.name in help_text()
        if spec.name == "/cancel":
            assert spec.action is None and spec.budget is None
            continue
        assert spec.action is not None and spec.budget == BUDGET_OF[spec.action]
        assert spec.budget in RetryBudgets.model_fields
        assert not (spec.states & TERMINAL_STATES), spec.name


@pytest.mark.parametrize("state", list(PRState), ids=str)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_in_every_state_follows_the_table(command: str, state: PRState) -> None:
    reason = validate(command, state)
    if state in COMMANDS[command].states:
        assert reason is None
    else:
        assert reason is not None and f"(state {state.value})" in reason


@pytest.mark.parametrize(
    ("command", "state", "valid"),
    [
        ("/merge", S.CHECKS_FAILED, False),
        ("/merge", S.CHECKS_RUNNING, False),
        ("/merge", S.CREATED, False),
        ("/merge", S.APPROVED, True),
        ("/merge", S.MERGING, True),
        ("/rebuild", S.CHECKS_FAILED, True),
        ("/rebuild", S.CHECKS_RUNNING, True),
        ("/rebuild", S.NEEDS_INTERVENTION, True),
        ("/rebuild", S.CHECKS_PASSED, False),
        ("/rebuild", S.APPROVED, False),
        ("/recheck-policy", S.POLICY_EVALUATING, True),
        ("/recheck-policy", S.CHECKS_FAILED, False),
        ("/recheck-approval", S.POLICY_PASSED, True),
        ("/recheck-approval", S.APPROVED, False),
        ("/recheck-sod", S.APPROVED, True),
        ("/recheck-sod", S.CHECKS_RUNNING, False),
        ("/update-branch", S.CHECKS_RUNNING, False),
        ("/update-branch", S.CHECKS_FAILED, True),
        ("/close-and-reopen", S.MERGING, False),
        ("/close-and-reopen", S.CHECKS_FAILED, True),
        ("/cancel", S.CHECKS_RUNNING, True),
    ],
)
def test_hand_written_expectations(command: str, state: PRState, valid: bool) -> None:
    assert (validate(command, state) is None) is valid


def test_merge_refusal_says_why_and_where() -> None:
    assert validate("/merge", S.CHECKS_FAILED) == "checks and policy have not passed (state CHECKS_FAILED)"


@pytest.mark.parametrize("state", [S.MERGED, S.CLOSED], ids=str)
def test_only_cancel_after_a_terminal_state(state: PRState) -> None:
    accepted = [command for command in COMMANDS if validate(command, state) is None]
    assert accepted == ["/cancel"]
    assert validate("/rebuild", state) == f"the PR is already {state.value.lower()} (state {state.value})"


def test_untracked_pr_takes_only_cancel_and_unknown_commands_are_refused() -> None:
    assert [c for c in COMMANDS if validate(c, None) is None] == ["/cancel"]
    assert validate("/deploy", S.APPROVED) == "unknown command '/deploy'"
    assert validate("rebuild", "CHECKS_FAILED") is None  # type: ignore[arg-type]  (state names work too)


def test_automatic_runs_leave_out_what_humans_asked_for() -> None:
    counts = {"rebuild": 3, "rebuild:command": 2, "merge": 1}
    assert automatic_runs(counts) == {"rebuild": 1, "merge": 1}


# --- PR comments into commands ---


def comment_payload(
    body: str, login: str = "alice", action: str = "created", on_pr: bool = True
) -> dict[str, Any]:
    payload = copy.deepcopy(json.loads((COMMENTS / f"{action}.payload.json").read_text()))
    payload["comment"]["body"] = body
    payload["comment"]["user"]["login"] = login
    payload["comment"]["user"]["type"] = "Bot" if login.endswith("[bot]") else "User"
    if on_pr:
        number = payload["issue"]["number"]
        url = payload["repository"]["url"]
        payload["issue"]["pull_request"] = {"url": f"{url}/pulls/{number}"}
    return payload


def translated(payload: dict[str, Any], config: MenderConfig | None = None):
    return translate("issue_comment", payload, config or MenderConfig(), datetime.now(UTC), lambda r, s: [])


def test_a_pr_comment_becomes_one_command_per_line_keyed_by_the_comment() -> None:
    payload = comment_payload("/rebuild please\n/recheck-policy\n/rebuild\n/nope")
    result = translated(payload)
    assert result.ignored is None and result.events == []
    comment_id = payload["comment"]["id"]
    pr = PRRef(repo=payload["repository"]["full_name"], number=payload["issue"]["number"])
    assert [(c.pr, c.request.command, c.request.idempotency_key) for c in result.commands] == [
        (pr, "/rebuild", f"comment:{comment_id}:/rebuild"),
        (pr, "/recheck-policy", f"comment:{comment_id}:/recheck-policy"),
    ]
    assert {(c.request.requester, c.request.source) for c in result.commands} == {
        ("alice", CommandSource.COMMENT)
    }


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (comment_payload("/rebuild", action="edited"), "only new comments"),
        (comment_payload("/rebuild", action="deleted"), "only new comments"),
        (comment_payload("/rebuild", on_pr=False), "not on a pull request"),
        (comment_payload("/rebuild", login="renovate[bot]"), "bots never command"),
        (comment_payload("/rebuild", login="mender-app[bot]"), "bots never command"),
        (comment_payload("thanks!\n> /merge"), "no command"),
    ],
    ids=["edited", "deleted", "issue", "bot", "mender", "no-command"],
)
def test_comments_that_are_not_commands_are_ignored_with_a_reason(payload: dict[str, Any], why: str) -> None:
    result = translated(payload)
    assert result.commands == [] and result.ignored is not None and why in result.ignored


def test_mender_own_login_is_never_a_command_even_without_a_bot_suffix() -> None:
    config = MenderConfig.model_validate({"bots": {"mender_login": "mender"}})
    assert translated(comment_payload("/merge", login="mender"), config).commands == []


@pytest.mark.parametrize("path", sorted(COMMENTS.glob("*.json")), ids=lambda p: p.name)
def test_real_issue_comment_payloads_translate_without_error(path) -> None:
    result = translated(json.loads(path.read_text()))
    assert result.commands == [] and result.ignored  # issue comments without commands
