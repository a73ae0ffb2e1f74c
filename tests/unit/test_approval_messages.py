"""Pure rendering of approval requests, their outcomes and CI stage notices into Slack messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalRequest
from domain.ci_healing.approval_messages import (
    ApprovalOutcome,
    approval_message,
    approval_outcome_message,
    duration,
    stage_message,
)
from domain.ci_healing.config import Stage
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from domain.shared.slack_messages import FALLBACK_LIMIT, HEADER_LIMIT, MAX_BLOCKS, TEXT_LIMIT
from simulators.slack import validate_blocks

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "ghp_" + "Q7" * 18
WID = "ci/github/acme/api/7001"


def request(**overrides: Any) -> ApprovalRequest:
    diagnosis = Diagnosis(
        category=Category.DEPENDENCY,
        action=FixAction.PIN_OR_BUMP_DEPENDENCY,
        risk_score=6.5,
        tier=Tier.HIGH,
        confidence=82,
        key_line=f"npm ERR! 401 Unauthorized: token {TOKEN} <rejected> & `denied`",
        key_line_number=118,
        explanation=f"The registry refused the token {TOKEN}; the lockfile pins left-pad@<1.3",
        steps=["bump left-pad to 1.3.0", f"regenerate the lockfile with {TOKEN}"],
    )
    base: dict[str, Any] = {
        "workflow_id": WID,
        "provider": "github",
        "project": "acme/api",
        "run_id": "7001",
        "run_url": "https://github.com/acme/api/actions/runs/7001",
        "diagnosis": diagnosis,
        "plan": "Pin left-pad to 1.3.0 in package.json and push a fix commit",
        "gate_reasons": ["risk 6.5 is above the threshold 4.0", "the plan edits a manifest"],
        "timeout_seconds": 24 * 3600,
    }
    return ApprovalRequest(**{**base, **overrides})


def dump(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]


def within_limits(blocks: list[dict[str, Any]]) -> None:
    validate_blocks(blocks)  # the simulator's checks: types, header/section/field/context lengths
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_LIMIT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= TEXT_LIMIT
        for button in block.get("elements", []) if block["type"] == "actions" else []:
            assert len(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000


def test_approval_message_has_context_and_buttons_carrying_the_workflow_id() -> None:
    message = approval_message(request())
    body = dump(message.blocks)

    assert message.blocks[0]["type"] == "header" and "acme/api" in message.blocks[0]["text"]["text"]
    assert "<https://github.com/acme/api/actions/runs/7001|run 7001>" in body
    assert "The registry refused the token" in body
    assert "```\\nnpm ERR! 401 Unauthorized" in body and "(line 118)" in body
    assert "Pin left-pad to 1.3.0" in body and "bump left-pad to 1.3.0" in body
    assert "6.5/10 (high)" in body and "82%" in body
    assert "risk 6.5 is above the threshold 4.0" in body and "the plan edits a manifest" in body
    assert "24h" in body
    approve, reject = buttons(message.blocks)
    assert (approve["action_id"], approve["style"], approve["value"]) == (APPROVE_ACTION_ID, "primary", WID)
    assert (reject["action_id"], reject["style"], reject["value"]) == (REJECT_ACTION_ID, "danger", WID)
    assert "acme/api" in message.text and "Pin left-pad" in message.text
    within_limits(message.blocks)


def test_everything_is_redacted_and_escaped() -> None:
    for message in (
        approval_message(request()),
        approval_outcome_message(request(), ApprovalOutcome.APPROVED, f"U1 ({TOKEN})", T0),
    ):
        everything = dump(message.blocks) + message.text
        assert TOKEN not in everything and TOKEN[4:] not in everything and TOKEN[4:20] not in everything
        assert "ghp_***" in everything
        assert "&lt;rejected&gt; &amp;" in everything and "left-pad@&lt;1.3" in everything
        assert "<rejected>" not in everything


def test_limits_hold_for_huge_inputs() -> None:
    huge = request(
        plan="p" * 10_000,
        gate_reasons=[f"reason {i} " + "r" * 500 for i in range(200)],
        project="acme/" + "x" * 400,
        run_id="9" * 500,
        workflow_id="ci/github/" + "w" * 900,
        diagnosis=request().diagnosis.model_copy(
            update={"explanation": "e<" * 5000, "key_line": "k" * 9000, "steps": ["s" * 900] * 100}
        ),
    )
    for message in (
        approval_message(huge),
        approval_outcome_message(huge, ApprovalOutcome.TIMEOUT, None, T0),
        stage_message(
            Stage.FAILED,
            project="p" * 500,
            run_id="r" * 500,
            run_url="https://ci/" + "u" * 5000,
            summary="s" * 9000,
            details=["d" * 700] * 300,
        ),
    ):
        within_limits(message.blocks)
        assert len(message.text) <= FALLBACK_LIMIT
    assert "more not shown" in dump(approval_message(huge).blocks)
    assert buttons(approval_message(huge).blocks)[0]["value"] == huge.workflow_id  # never cut


@pytest.mark.parametrize(
    ("outcome", "by", "line"),
    [
        (ApprovalOutcome.APPROVED, "U123 (alice)", "Approved by U123 (alice) at <!date^"),
        (ApprovalOutcome.REJECTED, "U9 (bob)", "Rejected by U9 (bob) at <!date^"),
        (ApprovalOutcome.TIMEOUT, None, "No answer within 24h: escalated and rejected"),
    ],
)
def test_outcome_message_keeps_the_context_and_drops_the_buttons(
    outcome: ApprovalOutcome, by: str | None, line: str
) -> None:
    message = approval_outcome_message(request(), outcome, by, T0)
    body = dump(message.blocks)
    assert line in body and line.split(" at")[0] in message.text
    assert buttons(message.blocks) == [] and not any(b["type"] == "actions" for b in message.blocks)
    assert "The registry refused the token" in body and "Pin left-pad" in body
    if outcome is not ApprovalOutcome.TIMEOUT:
        assert "2026-03-01 12:00 UTC" in body
    within_limits(message.blocks)


def test_other_outcomes_close_the_request_without_a_decision() -> None:
    message = approval_outcome_message(request(), f"no longer needed: <gate> {TOKEN}", None, T0)
    body = dump(message.blocks)
    assert message.blocks[0]["text"]["text"].startswith("Approval closed")
    assert "Closed without a decision" in body and "no longer needed: &lt;gate&gt; ghp_***" in body
    assert TOKEN not in body + message.text and buttons(message.blocks) == []


@pytest.mark.parametrize("stage", list(Stage))
def test_stage_messages(stage: Stage) -> None:
    message = stage_message(
        stage,
        project="acme/api",
        run_id="7001",
        run_url="https://github.com/acme/api/actions/runs/7001",
        summary=f"build failed: {TOKEN}",
        details=["job `test` failed", "password=hunter2"],
    )
    body = dump(message.blocks) + message.text
    assert "acme/api" in message.blocks[0]["text"]["text"]
    assert "|run 7001>" in body and "build failed" in body and "job `test` failed" in body
    assert TOKEN not in body and "hunter2" not in body
    assert stage.value in body
    within_limits(message.blocks)


def test_run_link_is_not_a_link_for_odd_urls() -> None:
    message = stage_message(
        Stage.DETECTED, project="a/b", run_id="1", run_url="javascript:alert(1)", summary="x", details=[]
    )
    assert "javascript" not in dump(message.blocks)


def test_durations() -> None:
    assert [duration(s) for s in (86400, 5400, 45, 3600 * 1.5 + 1, 2.5)] == [
        "24h",
        "90min",
        "45s",
        "1.5h",
        "2.5s",
    ]
