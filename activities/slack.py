"""Slack activities: post escalation and circuit-breaker notices with slack-sdk's WebClient.

Errors become Temporal `ApplicationError`s: Slack's refusals (`channel_not_found`, `not_authed`,
`invalid_auth`, `invalid_blocks`, ... any `ok: false` not listed as transient) are non-retryable
(type `SlackRejected`); rate limits (`ratelimited`, HTTP 429) are retryable (type `SlackRateLimited`,
with `next_retry_delay` from `Retry-After`); 5xx, transient errors and connection failures are retryable
(type `SlackUnavailable`). The Slack error code is the first item of `details`.
"""

from __future__ import annotations

import http.client
import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from domain.shared.notifications import BreakerNotice, EscalationNotice, NoticeResult
from domain.shared.slack_messages import SlackMessage, breaker_message, escalation_message
from runtime.settings import Settings, get_settings

log = logging.getLogger("mender.activities.slack")

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
TIMEOUT_SECONDS = 10


def slack_client(settings: Settings | None = None) -> WebClient:
    """A WebClient for the configured Slack (the simulator when no SLACK_BOT_TOKEN is set)."""
    settings = settings or get_settings()
    return WebClient(token=settings.slack_token, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS)


def _retry_after(headers: Any) -> timedelta | None:
    """The `Retry-After` header (seconds) of a response, if any."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return timedelta(seconds=max(1, int(value)))
            except (TypeError, ValueError):
                return None
    return None


def as_application_error(exc: SlackApiError, method: str) -> ApplicationError:
    """Classify a Slack API failure as retryable or not."""
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or f"http_{response.status_code}")
    message = f"Slack {method} failed: {code} (HTTP {response.status_code})"
    if response.status_code == 429 or code == "ratelimited":
        delay = _retry_after(response.headers)
        return ApplicationError(message, code, type="SlackRateLimited", next_retry_delay=delay)
    if response.status_code >= 500 or code in TRANSIENT_ERRORS:
        return ApplicationError(message, code, type="SlackUnavailable")
    return ApplicationError(message, code, type="SlackRejected", non_retryable=True)


def post_message(channel: str, message: SlackMessage, settings: Settings | None = None) -> NoticeResult:
    """Post `message` to `channel`; the result names the channel id and message ts Slack assigned."""
    client = slack_client(settings)
    try:
        response = client.chat_postMessage(
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = as_application_error(exc, "chat.postMessage")
        log.warning("posting to %s: %s", channel, error)
        raise error from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, refused/reset connections
        log.warning("posting to %s: Slack unreachable: %s", channel, exc)
        raise ApplicationError(
            f"Slack unreachable: {type(exc).__name__}: {exc}", "unreachable", type="SlackUnavailable"
        ) from exc
    return NoticeResult(channel=response["channel"], ts=response["ts"])


@defn(name="notify.escalation")
def notify_escalation(notice: EscalationNotice) -> NoticeResult:
    """Tell the escalation channel that a PR needs a human."""
    settings = get_settings()
    return post_message(settings.config.slack.escalation_channel, escalation_message(notice), settings)


@defn(name="notify.breaker")
def notify_breaker(notice: BreakerNotice) -> NoticeResult:
    """Tell the ops channel that a circuit breaker changed state."""
    settings = get_settings()
    return post_message(settings.config.slack.ops_channel, breaker_message(notice), settings)
