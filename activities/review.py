"""Review queue activities: store a queued fix PR, record how it ended, announce it and the backlog."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from activities.slack import post_message
from contracts.fixpr import ReviewResolution, SettleArgs
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_messages import backlog_message, review_message
from domain.ci_healing.review_queue import ReviewItem, ReviewStatus, backlog_alert
from runtime import metrics
from runtime.settings import get_settings
from store import ci_failures, review_queue
from store.db import engine_for

log = logging.getLogger("mender.activities.review")


def _engine() -> Engine:
    return engine_for(get_settings().database_url)


@defn(name="review.enqueue")
def enqueue(item: ReviewItem) -> int:
    """Add a fix PR to the review queue (idempotent); its id."""
    return review_queue.enqueue(_engine(), item)


@defn(name="review.resolve")
def resolve(resolution: ReviewResolution) -> bool:
    """Record how a queued fix PR ended; False when it was no longer pending."""
    return review_queue.resolve(
        _engine(),
        resolution.workflow_id,
        ReviewStatus(resolution.status),
        resolution.by,
        resolution.reason,
        resolution.at,
    )


@defn(name="review.announce")
def announce(item: ReviewItem) -> None:
    """Post the queued fix PR to the review channel with Approve/Reject buttons."""
    settings = get_settings()
    post_message(settings.config.ci.fix_prs.review.channel, review_message(item), settings)


@defn(name="review.backlog")
def backlog() -> bool:
    """Send the backlog alert when the queue calls for one (at most once per period); True when sent."""
    settings = get_settings()
    config = settings.config.ci.fix_prs.review
    engine = _engine()
    now = datetime.now(UTC)
    text = backlog_alert(review_queue.backlog(engine), now, config)
    if text is None or not review_queue.claim_alert(engine, now, timedelta(hours=config.alert_period_hours)):
        return False
    post_message(config.channel, backlog_message(text), settings)
    log.info("review backlog alert sent to %s", config.channel)
    return True


@defn(name="review.settle_run")
def settle_run(args: SettleArgs) -> bool:
    """The CI failure whose fix PR waited for review ends with its fix PR: healed once merged, handed to a
    human once rejected or closed (only a row still `awaiting_review` changes)."""
    changed = ci_failures.settle_review(_engine(), args.workflow_id, args.outcome)
    if changed is None:  # the CI workflow has not recorded its outcome yet: retried (2 minutes at most)
        raise ApplicationError(f"{args.workflow_id} has no outcome yet", type="NotFinished")
    if changed:
        log.info("%s settled as %s after its fix PR's review", args.workflow_id, args.outcome)
        metrics.ci_outcome_changed(CIOutcome.AWAITING_REVIEW.value, args.outcome)
    return changed


@defn(name="review.hold_run")
def hold_run(workflow_id: str) -> bool:
    """The CI failure whose fix PR was proposed waits for its merge (`awaiting_review`, not healed)."""
    engine = _engine()
    before = ci_failures.get_ci_failure(engine, workflow_id)
    changed = ci_failures.hold_for_review(engine, workflow_id)
    if changed is None:  # the CI workflow has not recorded its outcome yet: retried (2 minutes at most)
        raise ApplicationError(f"{workflow_id} has no outcome yet", type="NotFinished")
    if changed:
        log.info("%s awaits the merge of its proposed fix PR", workflow_id)
        metrics.ci_outcome_changed(str(before.outcome if before else ""), CIOutcome.AWAITING_REVIEW.value)
    return changed


REVIEW_ACTIVITIES = [enqueue, resolve, announce, backlog, settle_run, hold_run]
