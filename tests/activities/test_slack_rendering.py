"""Pure rendering of notices into Slack messages: content, escaping, redaction and Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.pr_healing.events import PRRef
from domain.shared.notifications import ActionAttempt, BreakerNotice, EscalationNotice
from domain.shared.slack_messages import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    TEXT_LIMIT,
    breaker_message,
    escalation_message,
    pr_url,
)
from simulators.slack import validate_blocks

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "ghp_" + "Z9" * 18
PR = PRRef(repo="acme/api", number=12)


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def notice(**overrides: Any) -> EscalationNotice:
    base: dict[str, Any] = {
        "pr": PR,
        "state": "CHECKS_FAILED",
        "reason": "checks still failing after 3 reruns",
        "history": ["opened by dependabot", "check build failed"],
        "actions": [
            ActionAttempt(action="rerun_failed_jobs", outcome="failed", at=T0, detail="job 7 failed again"),
            ActionAttempt(action="update_branch", outcome="refused by breaker", at=T0 + timedelta(minutes=5)),
        ],
    }
    return EscalationNotice(**{**base, **overrides})


def test_escalation_has_header_reason_link_state_history_and_actions() -> None:
    message = escalation_message(notice(html_url="https://github.com/acme/api/pull/12"))
    blocks = message.blocks
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Mender needs a human: acme/api#12", "emoji": True},
    }
    body = texts(blocks)
    assert "checks still failing after 3 reruns" in body
    assert "<https://github.com/acme/api/pull/12|acme/api#12>" in body
    assert "`CHECKS_FAILED`" in body
    assert "check build failed" in body
    assert "`rerun_failed_jobs` → *failed*" in body and "job 7 failed again" in body
    assert "`update_branch` → *refused by breaker*" in body
    assert "pr/acme/api/12" in body
    assert message.text.startswith("Mender needs a human: acme/api#12")
    assert "checks still failing" in message.text
    validate_blocks(blocks)


def test_link_falls_back_to_github_and_refuses_odd_urls() -> None:
    assert pr_url(notice()) == "https://github.com/acme/api/pull/12"
    assert pr_url(notice(html_url="javascript:alert(1)")) == "https://github.com/acme/api/pull/12"
    assert pr_url(notice(html_url="https://x.test/a|b>c")) == "https://x.test/a%7Cb%3Ec"


def test_free_text_is_redacted_and_escaped() -> None:
    message = escalation_message(
        notice(
            reason=f"push failed with {TOKEN} <@channel> & more",
            history=[f"token={TOKEN}", "Authorization: Bearer abcdefgh123"],
            actions=[ActionAttempt(action="push", outcome="failed", at=T0, detail=f"used {TOKEN}")],
        )
    )
    dumped = texts(message.blocks) + message.text
    assert TOKEN not in dumped and "Z9Z9" not in dumped and "abcdefgh123" not in dumped
    assert "ghp_***" in dumped
    assert "&lt;@channel&gt; &amp; more" in dumped and "<@channel>" not in dumped


def test_empty_history_and_actions() -> None:
    body = texts(escalation_message(notice(history=[], actions=[], state=None)).blocks)
    assert "_none recorded_" in body and "_none_" in body and "`unknown`" in body


def test_long_history_is_bounded_to_the_newest_lines() -> None:
    history = [f"event {i} " + "x" * 900 for i in range(500)]
    message = escalation_message(notice(history=history, reason="r" * 10_000))
    validate_blocks(message.blocks)
    body = texts(message.blocks)
    assert "event 499" in body and "event 0 " not in body
    assert "earlier lines not shown" in body
    assert len(message.text) <= 3000


def test_breaker_message() -> None:
    message = breaker_message(
        BreakerNotice(
            scope="github:acme/api",
            old_state="closed",
            new_state="open",
            reason=f"5 of 8 reruns failed; secret={TOKEN}",
            failure_rate=0.625,
            samples=8,
            at=T0,
        )
    )
    assert message.blocks[0]["text"]["text"] == "Circuit breaker github:acme/api: closed → open"
    body = texts(message.blocks)
    assert "5 of 8 reruns failed" in body and "62%" in body and "*Samples*\\n8" in body
    assert TOKEN not in body + message.text
    assert message.text.startswith("Circuit breaker github:acme/api: closed → open")
    validate_blocks(message.blocks)


def test_breaker_without_rate() -> None:
    notice_ = BreakerNotice(scope="s", old_state="open", new_state="half_open", reason="probe", at=T0)
    assert "n/a" in texts(breaker_message(notice_).blocks)


lines = st.text(max_size=400)
attempts = st.builds(
    ActionAttempt,
    action=st.text(min_size=1, max_size=120),
    outcome=st.sampled_from(["succeeded", "failed", "no effect", "refused by breaker", "odd"]),
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    detail=lines,
)


@given(
    reason=st.text(max_size=5000),
    history=st.lists(lines, max_size=80),
    actions=st.lists(attempts, max_size=40),
    state=st.none() | st.text(max_size=300),
)
def test_any_escalation_fits_slack_limits(
    reason: str, history: list[str], actions: list[ActionAttempt], state: str | None
) -> None:
    message = escalation_message(notice(reason=reason, history=history, actions=actions, state=state))
    validate_blocks(message.blocks)
    assert len(message.blocks) <= MAX_BLOCKS
    assert len(message.blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert all(len(b.get("text", {}).get("text", "")) <= TEXT_LIMIT for b in message.blocks)
    assert 0 < len(message.text) <= 3000
