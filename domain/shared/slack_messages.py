"""Notices rendered as Slack Block Kit messages. Pure functions: no I/O, no settings.

Every piece of free text goes through `domain.shared.redaction.redact`, then mrkdwn escaping, then a length
bound, so a message never carries a credential and always fits Slack's limits (50 blocks, 150 chars per
header, 3000 per section text, 2000 per field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.shared.notifications import ActionAttempt, BreakerNotice, EscalationNotice
from domain.shared.redaction import redact
from domain.shared.times import aware

MAX_BLOCKS = 50
HEADER_LIMIT = 150
TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
FALLBACK_LIMIT = 3000
HISTORY_LINES = 20
LINE_LIMIT = 300
ACTION_LINES = 15

OUTCOME_EMOJI = {
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "no effect": ":heavy_minus_sign:",
    "refused by breaker": ":no_entry:",
    "observe only": ":eyes:",
}
BREAKER_EMOJI = {
    "open": ":rotating_light:",
    "half_open": ":large_yellow_circle:",
    "closed": ":large_green_circle:",
}


@dataclass(frozen=True)
class SlackMessage:
    """What `chat.postMessage` needs besides the channel."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Escape the three characters mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int) -> str:
    """Free text made fit for mrkdwn: redacted, escaped, bounded."""
    return clip(escape(redact(text)), limit)


def code(text: str, limit: int) -> str:
    """Free text as inline code (backticks inside would end it early)."""
    inner = safe(text, limit).replace("`", "'")
    return f"`{inner}`"


def pr_url(notice: EscalationNotice) -> str:
    """The PR's web page: `html_url` when it is an http(s) URL, else the github.com address."""
    url = notice.html_url or ""
    if not url.startswith(("https://", "http://")):
        url = f"https://github.com/{notice.pr.repo}/pull/{notice.pr.number}"
    return redact(url).replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def slack_date(at: datetime) -> str:
    """A Slack date token (shown in the reader's time zone) with a UTC fallback."""
    at = aware(at)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short}} {{time}}|{fallback}>"


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_LIMIT), "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, TEXT_LIMIT)}}


def _fields(*texts: str) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(t, FIELD_LIMIT)} for t in texts]}


def _bounded_lines(title: str, lines: list[str], keep: int, fence: bool = False) -> str:
    """`title` plus the newest lines that fit in one section text, noting how many were left out."""
    wrap = 8 if fence else 0  # "```\n" + "\n```"
    chosen: list[str] = []
    budget = TEXT_LIMIT - len(title) - wrap - 60  # room for the "earlier ... omitted" note
    for line in reversed(lines[-keep:]):
        if len(line) + 1 > budget:
            break
        chosen.insert(0, line)
        budget -= len(line) + 1
    omitted = len(lines) - len(chosen)
    note = f"\n_… {omitted} earlier {'line' if omitted == 1 else 'lines'} not shown_" if omitted else ""
    body = "\n".join(chosen)
    if fence and body:
        body = f"```\n{body}\n```"
    return clip(f"{title}{note}\n{body}", TEXT_LIMIT)


def action_line(attempt: ActionAttempt) -> str:
    """One mrkdwn bullet: emoji, action, outcome, when, detail."""
    emoji = OUTCOME_EMOJI.get(attempt.outcome, ":small_blue_diamond:")
    line = f"{emoji} {code(attempt.action, 80)} → *{safe(attempt.outcome, 80)}* · {slack_date(attempt.at)}"
    if attempt.detail:
        line += f" · {safe(attempt.detail, 200)}"
    return line


def escalation_message(notice: EscalationNotice) -> SlackMessage:
    """The escalation message: why a PR needs a human, its history, and what Mender tried."""
    key = notice.pr.key
    url = pr_url(notice)
    reason = safe(notice.reason, TEXT_LIMIT - 20)
    history = [safe(line, LINE_LIMIT).replace("```", "'''") for line in notice.history]
    if notice.actions:
        actions = _bounded_lines("*Actions tried*", [action_line(a) for a in notice.actions], ACTION_LINES)
    else:
        actions = "*Actions tried*\n_none_"
    events = (
        _bounded_lines("*Recent events*", history, HISTORY_LINES, fence=True)
        if history
        else "*Recent events*\n_none recorded_"
    )
    blocks = [
        _header(f"Mender needs a human: {key}"),
        _section(f"*Reason:* {reason}"),
        _fields(f"*Pull request*\n<{url}|{escape(key)}>", f"*State*\n{code(notice.state or 'unknown', 100)}"),
        {"type": "divider"},
        _section(actions),
        _section(events),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Temporal workflow `{escape(notice.pr.workflow_id)}`"}],
        },
    ]
    text = clip(f"Mender needs a human: {escape(key)}: {reason} ({url})", FALLBACK_LIMIT)
    return SlackMessage(text=text, blocks=blocks[:MAX_BLOCKS])


def breaker_message(notice: BreakerNotice) -> SlackMessage:
    """The breaker message: scope, transition, reason, failure rate and samples."""
    title = redact(f"Circuit breaker {notice.scope}: {notice.old_state} → {notice.new_state}")
    emoji = BREAKER_EMOJI.get(notice.new_state.lower(), ":warning:")
    rate = "n/a" if notice.failure_rate is None else f"{notice.failure_rate:.0%}"
    reason = safe(notice.reason, TEXT_LIMIT - 40)
    blocks = [
        _header(title),
        _section(f"{emoji} *Reason:* {reason}"),
        _fields(f"*Failure rate*\n{rate}", f"*Samples*\n{notice.samples}", f"*At*\n{slack_date(notice.at)}"),
    ]
    text = clip(f"{escape(title)}: {reason} (failure rate {rate}, {notice.samples} samples)", FALLBACK_LIMIT)
    return SlackMessage(text=text, blocks=blocks)
