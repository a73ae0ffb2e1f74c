"""Delivering an approver's click to its CI workflow (or a queued fix PR's workflow): once, and telling later clicks what was decided.

The decision delivered first is remembered in the store (`starter.slack_clicks`), after the signal,
so a click that did not reach Temporal can be retried; a second click is answered "already decided"
without signalling again. A workflow that is no longer running is told to the clicker, not an error.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from contracts.ci import APPROVAL_SIGNAL
from contracts.fixpr import REVIEW_SIGNAL
from domain.ci_healing.review_queue import ReviewDecision
from runtime.dispatch import EventDispatcher, TemporalUnavailable
from runtime.settings import Settings
from starter import slack_clicks
from starter.intake.model import ApprovalItem, Note, StoreUnavailable
from store.db import engine_for

log = logging.getLogger("mender.slack.interactivity")
RPC_TIMEOUT = timedelta(seconds=5)
REVIEW_PREFIX = "fixpr/"


async def deliver_approval(
    dispatcher: EventDispatcher, settings: Settings, item: ApprovalItem
) -> tuple[str, Note]:
    """Signal `item` unless a decision was delivered before: (verdict, the note for the clicker)."""
    decision, workflow_id = item.decision, item.workflow_id
    verb = "approve" if decision.approved else "reject"
    who = decision.approver
    engine = engine_for(settings.database_url)
    try:
        earlier = await run_in_threadpool(slack_clicks.decided, engine, workflow_id)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"{verb} of {workflow_id} by {who} not checked: {exc}") from exc
    if earlier is not None:
        log.info("%s of %s by %s ignored: decided before by %s", verb, workflow_id, who, earlier.actor)
        return "already_decided", Note(slack_clicks.already(earlier), private=True)
    try:
        client = await dispatcher.client()
        name, arg = APPROVAL_SIGNAL, decision
        if workflow_id.startswith(REVIEW_PREFIX):  # a queued fix PR (the review queue's buttons)
            name, arg = (
                REVIEW_SIGNAL,
                ReviewDecision(approved=decision.approved, by=who, at=decision.decided_at),
            )
        await client.get_workflow_handle(workflow_id).signal(name, arg, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            log.info("%s of %s by %s ignored: workflow not running", verb, workflow_id, who)
            return "not_pending", Note("This approval is no longer pending.", private=True)
        raise TemporalUnavailable(f"Temporal refused the decision: {exc.status.name}: {exc}") from exc
    log.info("%s of %s by %s signalled", verb, workflow_id, who)
    try:
        first = await run_in_threadpool(slack_clicks.remember, engine, workflow_id, decision.approved, who)
    except SQLAlchemyError as exc:  # delivered; only the memory of it is lost
        log.error("%s of %s by %s delivered but not remembered: %s", verb, workflow_id, who, exc)
        first = True
    if not first:  # a concurrent click was delivered first: the workflow kept that one
        earlier = await run_in_threadpool(slack_clicks.decided, engine, workflow_id)
        if earlier is not None:
            return "already_decided", Note(slack_clicks.already(earlier), private=True)
    verdict = "approved" if decision.approved else "rejected"
    return "signalled", Note(f"Recorded: {verdict} by {who}.")
