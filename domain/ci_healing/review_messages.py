"""Slack messages of the review queue: a queued fix PR with Approve/Reject buttons, and the backlog alert.

The buttons reuse the approval action ids; their value is the fix PR workflow id (`fixpr/...`), which
the one Slack interactivity path turns into the `review` signal.
"""

from __future__ import annotations

from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID
from domain.ci_healing.review_queue import ReviewItem
from domain.shared.redaction import redact
from domain.shared.slack_messages import SlackMessage, clip, escape


def review_message(item: ReviewItem) -> SlackMessage:
    """A queued fix PR: score, why it waits, a link, and the buttons (none for a blocked fix)."""
    title = f"Fix PR waits for review: {item.pr_ref} (confidence {item.score:.2f})"
    why = "\n".join(f"• {escape(redact(r))[:300]}" for r in item.reasons[:8]) or "• below the thresholds"
    link = f"<{item.pr_url}|{escape(redact(item.title or 'the fix PR'))[:200]}>" if item.pr_url else ""
    blocks: list[dict] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": clip(f"*{escape(redact(title))}*\n{link}", 2900)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(why, 2900)}},
    ]
    if item.route != "blocked":
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button("Approve and merge", APPROVE_ACTION_ID, item.workflow_id, "primary"),
                    _button("Reject and close", REJECT_ACTION_ID, item.workflow_id, "danger"),
                ],
            }
        )
    return SlackMessage(text=clip(escape(redact(title)), 300), blocks=blocks)


def backlog_message(text: str) -> SlackMessage:
    return SlackMessage(
        text=clip(escape(text), 300),
        blocks=[
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": clip(f":inbox_tray: {escape(text)}", 2900)},
            }
        ],
    )


def _button(text: str, action_id: str, value: str, style: str) -> dict:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "style": style,
        "value": value,
    }
