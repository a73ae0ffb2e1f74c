"""The approval and stage activities, called directly, against the Slack simulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.approval import (
    APPROVAL_ACTIVITIES,
    ApprovalResolution,
    StageNotice,
    notify_stage,
    request_approval,
    resolve_approval,
)
from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalRequest
from domain.ci_healing.approval_messages import ApprovalOutcome
from domain.ci_healing.config import Stage
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from runtime.settings import Settings, set_settings
from simulators.slack import SlackSimulator
from tests.support.stack import make_settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "ghp_" + "Fake0Token1" * 3 + "abc"
WID = "ci/github/acme/api/42"


@pytest.fixture
def url(slack_served: tuple[SlackSimulator, str]) -> str:
    slack_served[0].reset()
    return slack_served[1]


@pytest.fixture
def slack_settings(tmp_path: Path, url: str) -> Iterator[Settings]:
    ci = {"approval": {"critical_channel": "#mender-critical"}, "channels": {"fixed": "#general"}}
    yield make_settings(tmp_path, slack={"simulator_url": f"{url}/api/"}, ci=ci)
    set_settings(None)


def posted(url: str, channel: str | None = None) -> list[dict[str, Any]]:
    params = {"channel": channel} if channel else {}
    return httpx.get(f"{url}/_sim/messages", params=params).json()["messages"]


def approval_request() -> ApprovalRequest:
    diagnosis = Diagnosis(
        category=Category.ENVIRONMENT,
        action=FixAction.SET_ENV_DEFAULT,
        risk_score=7.0,
        tier=Tier.HIGH,
        confidence=64,
        key_line=f"Error: NPM_TOKEN={TOKEN} is invalid",
        explanation="The CI variable NPM_TOKEN expired.",
        steps=["set a default registry in .npmrc"],
    )
    return ApprovalRequest(
        workflow_id=WID,
        provider="github",
        project="acme/api",
        run_id="42",
        run_url="https://github.com/acme/api/actions/runs/42",
        diagnosis=diagnosis,
        plan="Set a default registry in .npmrc",
        gate_reasons=["confidence 64 is below the floor 70"],
        timeout_seconds=3600,
    )


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_request_posts_to_the_approval_channel_with_buttons(slack_settings: Settings, url: str) -> None:
    result = request_approval(approval_request())

    [message] = posted(url)
    assert message["channel_name"] == "mender-approvals"
    assert (message["channel"], message["ts"]) == (result.channel, result.ts)
    assert result.channel.startswith("C")  # the id Slack answered, not "#mender-approvals"
    assert action_ids(message) == [APPROVE_ACTION_ID, REJECT_ACTION_ID]
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["value"] for b in buttons} == {WID}
    everything = json.dumps(message["blocks"]) + message["text"]
    assert TOKEN not in everything and "NPM_TOKEN=***" in everything


@pytest.mark.parametrize(
    ("outcome", "by", "line"),
    [
        (ApprovalOutcome.APPROVED, "U123 (alice)", "Approved by U123 (alice)"),
        (ApprovalOutcome.REJECTED, "U9 (bob)", "Rejected by U9 (bob)"),
    ],
)
def test_resolve_updates_the_same_message(
    slack_settings: Settings, url: str, outcome: ApprovalOutcome, by: str, line: str
) -> None:
    request = approval_request()
    first = request_approval(request)

    result = resolve_approval(
        ApprovalResolution(request=request, channel=first.channel, ts=first.ts, outcome=outcome, by=by, at=T0)
    )

    [message] = posted(url)
    assert message["updated"] is True and message["ts"] == first.ts
    assert result.updated is not None and result.updated.ts == first.ts and result.escalation is None
    assert action_ids(message) == []
    assert line in json.dumps(message["blocks"]) and "The CI variable NPM_TOKEN expired" in json.dumps(
        message["blocks"]
    )
    assert posted(url, "mender-critical") == []


def test_timeout_updates_and_escalates_to_the_critical_channel(slack_settings: Settings, url: str) -> None:
    request = approval_request()
    first = request_approval(request)

    result = resolve_approval(
        ApprovalResolution(
            request=request, channel=first.channel, ts=first.ts, outcome=ApprovalOutcome.TIMEOUT, at=T0
        )
    )

    [original] = posted(url, "mender-approvals")
    [critical] = posted(url, "mender-critical")
    line = "No answer within 1h: escalated and rejected"
    assert (
        original["updated"] is True and action_ids(original) == [] and line in json.dumps(original["blocks"])
    )
    assert line in json.dumps(critical["blocks"]) and action_ids(critical) == []
    assert result.escalation is not None and (result.escalation.channel, result.escalation.ts) == (
        critical["channel"],
        critical["ts"],
    )


def test_resolve_of_a_vanished_message_still_escalates(slack_settings: Settings, url: str) -> None:
    assert posted(url) == []  # the message was deleted: chat.update answers message_not_found
    result = resolve_approval(
        ApprovalResolution(
            request=approval_request(),
            channel="#mender-approvals",
            ts="1.000001",
            outcome=ApprovalOutcome.TIMEOUT,
            at=T0,
        )
    )
    assert result.updated is None and result.escalation is not None
    assert len(posted(url, "mender-critical")) == 1


def test_resolve_of_a_request_never_posted_only_escalates(slack_settings: Settings, url: str) -> None:
    """The workflow passes channel/ts None when `approval.request` failed; the timeout still escalates."""
    for outcome in ("timeout", "no longer needed: the gate now passes"):
        result = resolve_approval(
            ApprovalResolution.model_validate(
                {"request": approval_request(), "channel": None, "ts": None, "outcome": outcome, "at": T0}
            )
        )
        assert result.updated is None
    [critical] = posted(url)
    assert critical["channel_name"] == "mender-critical" and result.escalation is None


@pytest.mark.parametrize(
    ("stage", "channel"),
    [
        (Stage.DETECTED, "mender-ci"),
        (Stage.ANALYSED, "mender-ci"),
        (Stage.APPROVAL, "mender-approvals"),
        (Stage.FIXED, "general"),  # configured in this test's settings
        (Stage.FAILED, "mender-critical"),
    ],
)
def test_stage_notices_go_to_the_configured_channel(
    slack_settings: Settings, url: str, stage: Stage, channel: str
) -> None:
    notice = StageNotice(
        stage=stage,
        project="acme/api",
        run_id="42",
        run_url="https://github.com/acme/api/actions/runs/42",
        summary=f"stage {stage.value}",
        details=[f"token {TOKEN}"],
    )
    result = notify_stage(notice)

    [message] = posted(url)
    assert message["channel_name"] == channel and message["ts"] == result.ts
    assert f"stage {stage.value}" in json.dumps(message["blocks"])
    assert TOKEN not in json.dumps(message["blocks"]) + message["text"]


def test_slack_refusals_become_non_retryable_errors(tmp_path: Path, url: str) -> None:
    make_settings(tmp_path, slack={"simulator_url": f"{url}/api/"}, ci={"channels": {"detected": "#nowhere"}})
    try:
        with pytest.raises(ApplicationError) as exc:
            notify_stage(
                StageNotice(stage=Stage.DETECTED, project="a/b", run_id="1", run_url="", summary="x")
            )
    finally:
        set_settings(None)
    assert exc.value.type == "SlackRejected" and exc.value.non_retryable
    assert exc.value.details[0] == "channel_not_found"


def test_rate_limits_are_retryable(slack_settings: Settings, url: str) -> None:
    httpx.post(
        f"{url}/_sim/faults", json={"method": "chat.postMessage", "error": "ratelimited", "retry_after": 3}
    )
    with pytest.raises(ApplicationError) as exc:
        request_approval(approval_request())
    assert exc.value.type == "SlackRateLimited" and not exc.value.non_retryable


def test_activity_names() -> None:
    names = [activity._Definition.must_from_callable(fn).name for fn in APPROVAL_ACTIVITIES]
    assert names == ["approval.request", "approval.resolve", "ci.notify"]
