"""Slack activities of CI healing: ask for an approval, record its outcome, announce each stage.

They use `activities.slack`'s WebClient and error mapping: Slack refusals are non-retryable
`SlackRejected`, rate limits `SlackRateLimited`, outages and connection failures `SlackUnavailable`.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from activities.slack import as_application_error, slack_client
from domain.ci_healing.approval import ApprovalRequest
from domain.ci_healing.approval_messages import (
    ApprovalOutcome,
    ApprovalResolution,
    PostedMessage,
    ResolvedApproval,
    StageNotice,
    approval_message,
    approval_outcome_message,
    stage_message,
)
from domain.ci_healing.config import Stage
from domain.shared.slack_messages import SlackMessage
from runtime import metrics
from runtime.settings import Settings, get_settings

log = logging.getLogger("mender.activities.approval")

# chat.update refusals meaning the message cannot be edited any more (deleted, too old): not worth failing on.
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

__all__ = [
    "APPROVAL_ACTIVITIES",
    "ApprovalResolution",
    "PostedMessage",
    "ResolvedApproval",
    "StageNotice",
    "notify_stage",
    "request_approval",
    "resolve_approval",
]


def _call(method: str, channel: str, send: Callable[[], SlackResponse]) -> PostedMessage:
    """Run one Web API call, mapping failures to `ApplicationError`s like `activities.slack` does."""
    try:
        response = send()
    except SlackApiError as exc:
        error = as_application_error(exc, method)
        log.warning("%s in %s: %s", method, channel, error)
        raise error from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, refused/reset connections
        log.warning("%s in %s: Slack unreachable: %s", method, channel, exc)
        raise ApplicationError(
            f"Slack unreachable: {type(exc).__name__}: {exc}", "unreachable", type="SlackUnavailable"
        ) from exc
    return PostedMessage(channel=response["channel"], ts=response["ts"])


def post(channel: str, message: SlackMessage, settings: Settings) -> PostedMessage:
    """`chat.postMessage` of `message` to `channel` (id, `name` or `#name`)."""
    client = slack_client(settings)
    args: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False}
    return _call(
        "chat.postMessage",
        channel,
        lambda: client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks, **args),
    )


def update(channel: str, ts: str, message: SlackMessage, settings: Settings) -> PostedMessage:
    """`chat.update` of the message `ts` in `channel` (the id Slack returned when posting)."""
    client = slack_client(settings)
    return _call(
        "chat.update",
        channel,
        lambda: client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks),
    )


@defn(name="approval.request")
def request_approval(request: ApprovalRequest) -> PostedMessage:
    """Post the approval request with Approve/Reject buttons to the approval channel.

    Returns the channel id and ts Slack assigned: `approval.resolve` edits that message later.
    """
    settings = get_settings()
    channel = settings.config.ci.channel(Stage.APPROVAL)
    posted = post(channel, approval_message(request), settings)
    metrics.approval("requested")
    log.info("approval for %s requested in %s (ts %s)", request.workflow_id, posted.channel, posted.ts)
    return posted


@defn(name="approval.resolve")
def resolve_approval(resolution: ApprovalResolution) -> ResolvedApproval:
    """Replace the buttons of the approval message with its outcome (`chat.update`).

    On a timeout the outcome is also posted to `ci.approval.critical_channel`. A message that was never
    posted (no channel/ts) or can no longer be edited (deleted, too old) is reported as `updated=None`.
    """
    settings = get_settings()
    request = resolution.request
    message = approval_outcome_message(request, resolution.outcome, resolution.by, resolution.at)
    updated: PostedMessage | None = None
    if resolution.channel and resolution.ts:
        try:
            updated = update(resolution.channel, resolution.ts, message, settings)
        except ApplicationError as exc:
            if exc.type != "SlackRejected" or not exc.details or exc.details[0] not in GONE:
                raise
            log.warning("approval message of %s not updated: %s", request.workflow_id, exc.details[0])
    escalation = None
    if resolution.outcome == ApprovalOutcome.TIMEOUT:
        escalation = post(settings.config.ci.approval.critical_channel, message, settings)
        log.warning("approval for %s timed out: escalated to %s", request.workflow_id, escalation.channel)
    return ResolvedApproval(updated=updated, escalation=escalation)


@defn(name="ci.notify")
def notify_stage(notice: StageNotice) -> PostedMessage:
    """Announce one stage of a CI failure in the channel configured for that stage."""
    settings = get_settings()
    message = stage_message(
        notice.stage,
        project=notice.project,
        run_id=notice.run_id,
        run_url=notice.run_url,
        summary=notice.summary,
        details=notice.details,
    )
    return post(settings.config.ci.channel(notice.stage), message, settings)


APPROVAL_ACTIVITIES = [request_approval, resolve_approval, notify_stage]
