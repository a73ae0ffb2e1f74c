"""Which webhooks nudge a fix PR's workflow (`fixpr/<repo>/<n>`, signal `nudge`), from real GitHub payloads
with the head moved to a fix branch: a finished check run or suite, a finished workflow run, an approval.
Other PRs' events are unchanged; nothing before a check finished nudges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.config import MenderConfig
from domain.pr_healing.events import EventType, PRRef
from starter.ci_ingest import fix_prs_of_workflow_run
from starter.github_events import translate
from tests.conftest import FIXTURES

FIX = "mender/ci-fix/289782451-1"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _load(path: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "github" / "webhooks" / path).read_text())


def _on_fix_branch(payload: dict[str, Any], where: str) -> dict[str, Any]:
    for pull in payload[where]["pull_requests"]:
        pull["head"]["ref"] = FIX
    return payload


def _translate(event: str, payload: dict[str, Any]) -> Any:
    return translate(event, payload, MenderConfig(), NOW, lambda r, s: [])


@pytest.mark.parametrize(
    ("event", "path", "where"),
    [
        ("check_run", "check_run/completed.payload.json", "check_run"),
        ("check_suite", "check_suite/completed.payload.json", "check_suite"),
    ],
)
def test_a_finished_check_of_a_fix_pr_nudges_its_workflow_instead_of_a_pr_event(
    event: str, path: str, where: str
) -> None:
    plain = _translate(event, _load(path))
    assert plain.events and not plain.fix_prs  # a bot PR's check: the PR workflow's event, as before
    nudged = _translate(event, _on_fix_branch(_load(path), where))
    numbers = [p["number"] for p in _load(path)[where]["pull_requests"]]
    assert nudged.events == [] and nudged.ignored is None
    assert nudged.fix_prs == [PRRef(repo=plain.events[0].pr.repo, number=n) for n in numbers]


def test_a_started_check_of_a_fix_pr_nudges_nothing() -> None:
    created = _translate("check_run", _on_fix_branch(_load("check_run/created.payload.json"), "check_run"))
    assert created.events == [] and created.fix_prs == [] and "fix PR" in (created.ignored or "")


def test_a_check_of_a_fix_pr_and_a_bot_pr_on_one_head_does_both() -> None:
    payload = _load("check_run/completed.payload.json")
    bot = json.loads(json.dumps(payload["check_run"]["pull_requests"][0]))
    bot["number"] = 77
    _on_fix_branch(payload, "check_run")["check_run"]["pull_requests"].append(bot)
    both = _translate("check_run", payload)
    assert [e.pr.number for e in both.events] == [77]
    assert both.events[0].type is EventType.CHECK_RUN_COMPLETED and len(both.fix_prs) == 1


def test_an_approval_of_a_fix_pr_nudges_its_workflow() -> None:
    payload = _load("pull_request_review/submitted.payload.json")
    payload["review"]["state"] = "approved"
    assert _translate("pull_request_review", payload).events  # a bot PR's approval, as before
    payload["pull_request"]["head"]["ref"] = FIX
    nudged = _translate("pull_request_review", payload)
    assert nudged.events == [] and [p.number for p in nudged.fix_prs] == [payload["pull_request"]["number"]]


def test_a_finished_workflow_run_on_a_fix_branch_names_its_fix_prs() -> None:
    payload = _load("workflow_run/completed.payload.json")
    payload["workflow_run"]["pull_requests"] = [{"number": 12, "head": {"ref": FIX, "sha": "a" * 40}}]
    assert fix_prs_of_workflow_run(payload) == []  # the run is on the default branch
    payload["workflow_run"]["head_branch"] = FIX
    assert fix_prs_of_workflow_run(payload) == [12]
    payload["action"] = "in_progress"
    assert fix_prs_of_workflow_run(payload) == []
