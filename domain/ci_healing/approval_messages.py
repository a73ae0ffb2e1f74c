"""Approval requests and CI stage notices rendered as Slack Block Kit messages. Pure: no I/O, no settings.

Free text goes through `domain.shared.redaction.redact`, mrkdwn escaping and Slack's length limits (the helpers
of `domain.shared.slack_messages`). The one value left verbatim is the buttons' `value`: the workflow id the
interactivity endpoint signals, which must survive unchanged. Also: the activity inputs and outputs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalRequest
from domain.ci_healing.config import Stage
from domain.shared.redaction import redact
from domain.shared.slack_messages import (
    FALLBACK_LIMIT,
    LINE_LIMIT,
    MAX_BLOCKS,
    TEXT_LIMIT,
    SlackMessage,
    _fields,
    _header,
    _section,
    clip,
    code,
    escape,
    safe,
    slack_date,
)

ACTIONS_BLOCK_ID = "mender_approval"
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
CONFIRM_TEXT_LIMIT = 300
LIST_ITEMS = 20

STAGE_TITLES = {
    Stage.DETECTED: (":mag:", "CI failure detected"),
    Stage.ANALYSED: (":brain:", "CI failure analysed"),
    Stage.APPROVAL: (":raised_hand:", "Fix awaiting approval"),
    Stage.FIXED: (":white_check_mark:", "CI fixed"),
    Stage.FAILED: (":rotating_light:", "CI fix failed"),
}


class ApprovalOutcome(StrEnum):
    """How an approval request ended."""

    APPROVED = "approved"
    REJECTED = "rejected"
    TIMEOUT = "timeout"  # nobody answered in time: escalated to the critical channel and rejected


class PostedMessage(BaseModel):
    """Where Slack put a message (`channel` is the id Slack returned, not the configured `#name`)."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


class ApprovalResolution(BaseModel):
    """Input of `approval.resolve`: the request, its posted message and how it ended."""

    model_config = ConfigDict(frozen=True)

    request: ApprovalRequest
    channel: str | None = None  # None when the request was never posted: nothing to update
    ts: str | None = None
    outcome: str  # an ApprovalOutcome value; any other text closes the request without a decision
    by: str | None = None  # the approver (`U123 (alice)`); None on timeout
    at: datetime


class ResolvedApproval(BaseModel):
    """Output of `approval.resolve`: the updated message (None if it was gone) and any escalation post."""

    model_config = ConfigDict(frozen=True)

    updated: PostedMessage | None = None
    escalation: PostedMessage | None = None


class StageNotice(BaseModel):
    """Input of `ci.notify`: one stage of a CI failure, announced in that stage's channel."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    project: str
    run_id: str
    run_url: str
    summary: str
    details: list[str] = Field(default_factory=list)


def duration(seconds: float) -> str:
    """A short human duration: `24h`, `90min`, `45s`."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}min"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds:g}s"


def run_link(run_url: str, run_id: str) -> str:
    """`<url|run id>` for an http(s) URL (made safe for mrkdwn), else the escaped run id."""
    label = safe(f"run {run_id}", 200).replace("|", "¦")
    if not run_url.startswith(("https://", "http://")):
        return label
    url = redact(run_url).replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"<{clip(url, 1500)}|{label}>"


def _bullets(title: str, items: list[str], empty: str) -> str:
    """`title` plus bullets in order, as many as fit in one section, noting how many were left out."""
    if not items:
        return f"{title}\n_{empty}_"
    lines: list[str] = []
    budget = TEXT_LIMIT - len(title) - 60
    for item in items[:LIST_ITEMS]:
        line = f"• {safe(item, LINE_LIMIT)}"
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
    omitted = len(items) - len(lines)
    note = f"\n_… {omitted} more not shown_" if omitted else ""
    return clip(f"{title}\n" + "\n".join(lines) + note, TEXT_LIMIT)


def _code_block(text: str, limit: int) -> str:
    inner = safe(text, limit).replace("```", "'''") or " "
    return f"```\n{inner}\n```"


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2000)}]}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(redact(text), limit), "emoji": True}


def _request_blocks(request: ApprovalRequest) -> list[dict[str, Any]]:
    """The context every approval message carries: run, root cause, key line, plan, risk, reasons."""
    d = request.diagnosis
    where = f" (line {d.key_line_number})" if d.key_line_number else ""
    fix = safe(request.plan, 1000)
    steps = (
        _bullets(f"*Proposed fix*\n{fix}", d.steps, "no further steps")
        if d.steps
        else f"*Proposed fix*\n{fix}"
    )
    return [
        _section(f"*Project:* {safe(request.project, 300)} · {run_link(request.run_url, request.run_id)}"),
        _section(f"*Root cause*\n{safe(d.explanation, TEXT_LIMIT - 20)}"),
        _section(f"*Key line*{where}\n{_code_block(d.key_line, TEXT_LIMIT - 40)}"),
        _section(steps),
        _fields(
            f"*Risk*\n{d.risk_score:.1f}/10 ({d.tier.value})",
            f"*Confidence*\n{d.confidence}%",
            f"*Category*\n{d.category.value}",
            f"*Action*\n{d.action.value}",
        ),
        _section(_bullets("*Why approval is needed*", request.gate_reasons, "no reason recorded")),
    ]


def _buttons(request: ApprovalRequest) -> dict[str, Any]:
    value = request.workflow_id
    if len(value) > BUTTON_VALUE_LIMIT:
        raise ValueError(f"workflow id longer than {BUTTON_VALUE_LIMIT} characters cannot be a button value")
    confirm = {
        "title": _plain("Approve this fix?", 100),
        "text": _plain(f"Mender will: {request.plan}", CONFIRM_TEXT_LIMIT),
        "confirm": _plain("Approve", 30),
        "deny": _plain("Cancel", 30),
    }
    return {
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION_ID,
                "text": _plain("Approve", BUTTON_TEXT_LIMIT),
                "style": "primary",
                "value": value,
                "confirm": confirm,
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION_ID,
                "text": _plain("Reject", BUTTON_TEXT_LIMIT),
                "style": "danger",
                "value": value,
            },
        ],
    }


def approval_message(request: ApprovalRequest) -> SlackMessage:
    """The approval request: everything needed to decide, then Approve and Reject buttons."""
    title = f"Approval needed: {request.project} run {request.run_id}"
    wait = duration(request.timeout_seconds)
    blocks = [
        _header(redact(title)),
        *_request_blocks(request),
        _context(
            f":hourglass_flowing_sand: Without an answer within {wait} the fix is rejected and escalated."
            f" Workflow {code(request.workflow_id, 500)}"
        ),
        _buttons(request),
    ]
    text = clip(
        f"{escape(redact(title))}: {safe(request.plan, 500)} (risk {request.diagnosis.risk_score:.1f}, "
        f"{request.diagnosis.tier.value})",
        FALLBACK_LIMIT,
    )
    return SlackMessage(text=text, blocks=blocks[:MAX_BLOCKS])


def outcome_line(request: ApprovalRequest, outcome: str, by: str | None, at: datetime) -> str:
    """`Approved by X at T`, `Rejected by X at T`, the timeout line, or `Closed: <outcome>` (mrkdwn, safe)."""
    who = safe(by or "unknown", 200)
    when = slack_date(at)
    if outcome == ApprovalOutcome.APPROVED:
        return f":white_check_mark: Approved by {who} at {when}"
    if outcome == ApprovalOutcome.REJECTED:
        return f":x: Rejected by {who} at {when}"
    if outcome == ApprovalOutcome.TIMEOUT:
        return f":alarm_clock: No answer within {duration(request.timeout_seconds)}: escalated and rejected"
    return f":information_source: Closed without a decision at {when}: {safe(outcome, 500)}"


def approval_outcome_message(
    request: ApprovalRequest, outcome: str, by: str | None, at: datetime
) -> SlackMessage:
    """The approval message after the decision (for `chat.update`): same context, no buttons."""
    line = outcome_line(request, outcome, by, at)
    verdict = {
        ApprovalOutcome.APPROVED: "Fix approved",
        ApprovalOutcome.REJECTED: "Fix rejected",
        ApprovalOutcome.TIMEOUT: "Approval timed out",
    }.get(outcome, "Approval closed")
    title = f"{verdict}: {request.project} run {request.run_id}"
    blocks = [_header(redact(title)), _section(line), *_request_blocks(request)]
    text = clip(f"{escape(redact(title))}. {line}", FALLBACK_LIMIT)
    return SlackMessage(text=text, blocks=blocks[:MAX_BLOCKS])


def stage_message(
    stage: Stage, *, project: str, run_id: str, run_url: str, summary: str, details: list[str]
) -> SlackMessage:
    """A notice for one stage of a CI failure (detected, analysed, approval, fixed, failed)."""
    emoji, label = STAGE_TITLES[stage]
    title = f"{label}: {project}"
    body = safe(summary, TEXT_LIMIT - 20)
    blocks = [
        _header(redact(title)),
        _section(f"*Project:* {safe(project, 300)} · {run_link(run_url, run_id)}"),
        _section(f"{emoji} {body}"),
    ]
    if details:
        blocks.append(_section(_bullets("*Details*", details, "none")))
    blocks.append(_context(f"Stage `{stage.value}`"))
    text = clip(f"{escape(redact(title))}: {body}", FALLBACK_LIMIT)
    return SlackMessage(text=text, blocks=blocks[:MAX_BLOCKS])
