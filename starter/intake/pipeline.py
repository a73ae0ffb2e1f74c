"""The intake pipeline every webhook source (GitHub, GitLab, Slack) goes through, and its answers.

bound -> verify -> parse (bounded) -> dedupe (in memory) -> translate -> dispatch -> answer, then the
delivery record is written after the answer, in batches (`recorder.py`). Status codes: 413 too large,
401 unauthenticated, 400 malformed (with the reason), 200 duplicate/ignored, 202 accepted, 503 Temporal
(or, for a Slack click, the store) unavailable: nothing is recorded or remembered, so the sender's
redelivery is taken as new. Each source renders the answer in its sender's shape (`Source.reply`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from domain.pr_healing.lifecycle import OPENINGS
from runtime.ci_dispatch import deliver_ci, nudge_fix_pr
from runtime.dispatch import Delivered, EventDispatcher, TemporalUnavailable
from runtime.settings import Settings
from starter.intake.approvals import deliver_approval
from starter.intake.dedupe import RecentDeliveries
from starter.intake.model import (
    OUTCOME_HEADER,
    Answer,
    Delivery,
    Intake,
    PayloadError,
    Source,
    StoreUnavailable,
)
from starter.intake.recorder import DeliveryRecorder

log = logging.getLogger("mender.intake")
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
MAX_DELIVERY_ID = 100  # GitHub and GitLab send 36-character UUIDs


def answer(
    status: int,
    delivery: str | None,
    outcome: str,
    reason: str = "",
    background: BackgroundTask | None = None,
    **extra: object,
) -> JSONResponse:
    """The JSON the GitHub and GitLab endpoints answer with; the outcome also in a header, for the metrics."""
    body = {"delivery": delivery, "outcome": outcome, "reason": reason, **extra}
    headers = {OUTCOME_HEADER: outcome}
    return JSONResponse(body, status_code=status, background=background, headers=headers)


def delivery_recorder(request: Request) -> DeliveryRecorder:
    state = request.app.state
    if not hasattr(state, "delivery_recorder"):
        state.delivery_recorder = DeliveryRecorder(state.settings.database_url)
    return state.delivery_recorder


def recent_deliveries(request: Request) -> RecentDeliveries:
    state = request.app.state
    if not hasattr(state, "recent_deliveries"):
        state.recent_deliveries = RecentDeliveries()
    return state.recent_deliveries


async def receive(request: Request, source: Source) -> JSONResponse:
    """Take one delivery from `source` through the whole path and answer it."""
    settings = request.app.state.settings
    headers = request.headers
    delivery_id = source.delivery_id(headers)
    body = await request.body()
    if len(body) > source.max_body_bytes:
        return _rejected(413, source, delivery_id, f"body of {len(body)} bytes is over the limit")
    rejection = source.verify(headers, body, settings)
    if rejection:
        return _rejected(rejection.status, source, delivery_id, rejection.reason)
    assert delivery_id is not None  # verify() refuses a delivery without an id
    if len(delivery_id) > MAX_DELIVERY_ID:
        return _rejected(400, source, None, f"delivery id longer than {MAX_DELIVERY_ID} characters")
    try:
        payload = source.parse(body)
    except ValueError as exc:
        return _rejected(400, source, delivery_id, str(exc))
    delivery = Delivery(source.name, delivery_id, source.event(headers), payload, datetime.now(UTC))
    recent = recent_deliveries(request)
    if delivery.key in recent:
        log.info("%s delivery %s already handled: duplicate ignored", source.name, delivery_id)
        return source.reply(Answer(200, delivery_id, "duplicate"))
    try:
        if delivery.event in source.in_memory_events:
            intake = source.translate(delivery, settings)
        else:
            intake = await run_in_threadpool(source.translate, delivery, settings)
    except PayloadError as exc:
        return _rejected(400, source, delivery_id, str(exc))
    if intake.answer_only:
        return source.reply(Answer(200, delivery_id, intake.answer_only, note=intake.note))
    try:
        results = await dispatch(request.app.state.dispatcher, intake, delivery, settings)
    except (TemporalUnavailable, StoreUnavailable) as exc:
        log.error(
            "%s delivery %s NOT accepted, the sender must redeliver it: %s", source.name, delivery_id, exc
        )
        what = "the store" if isinstance(exc, StoreUnavailable) else "Temporal"
        return source.reply(Answer(503, delivery_id, "retry", f"{what} is unavailable; redeliver later"))
    recent.add(delivery.key)
    if intake.ignored:
        log.info(
            "%s delivery %s (%s.%s) ignored: %s",
            source.name,
            delivery_id,
            delivery.event,
            delivery.action,
            intake.ignored,
        )
    outcome = "ignored" if intake.ignored else "accepted"
    record = {  # every column of `WebhookDeliveryRecord`: a row, not an ORM object per webhook
        "delivery_id": delivery.key,
        "provider": source.name,
        "event": delivery.event[:60],
        "action": delivery.action,
        "received_at": delivery.received_at,
        "outcome": outcome,
        "reason": intake.ignored or "; ".join(results),
    }
    writer = delivery_recorder(request).add(record)
    status = 200 if intake.ignored else 202
    return source.reply(Answer(status, delivery_id, outcome, intake.ignored, results, intake.note), writer)


async def dispatch(
    dispatcher: EventDispatcher, intake: Intake, delivery: Delivery, settings: Settings
) -> list[str]:
    """Signal every event, command and approval of `intake`; TemporalUnavailable when Temporal cannot
    take them (StoreUnavailable when an approval cannot be checked against the ones delivered before)."""
    results: list[str] = list(intake.applied)
    for event in intake.events:  # an opening carries its repository's settings: one call fewer
        policy = settings.repo_policy(event.pr.repo) if event.type in OPENINGS else None
        outcome = await dispatcher.deliver(event, policy)
        results.append(f"{event.pr.key}:{event.type}:{outcome}")
        if outcome is Delivered.NO_WORKFLOW:
            log.info(
                "delivery %s: %s for %s ignored: PR not tracked",
                delivery.delivery_id,
                event.type,
                event.pr.key,
            )
    for item in intake.commands:  # PR comment commands: the workflow answers on the PR
        reply = await dispatcher.command(item.pr, item.request, wait="accepted")
        verdict = "no_workflow" if reply is None else "accepted" if reply.accepted else "rejected"
        results.append(f"{item.pr.key}:{item.request.command}:{verdict}")
    if intake.ci is not None:
        delivered = await deliver_ci(dispatcher, intake.ci)
        results.append(f"{intake.ci.target.workflow_id}:{intake.ci.key}:{delivered}")
    for workflow_id in intake.nudges:  # a fix PR's checks or reviews changed: it looks again now
        results.append(f"{workflow_id}:nudge:{await nudge_fix_pr(dispatcher, workflow_id)}")
    if intake.approval is not None:  # a Slack click: the CI workflow waits for it
        verdict, intake.note = await deliver_approval(dispatcher, settings, intake.approval)
        results.append(f"{intake.approval.workflow_id}:approval:{verdict}")
    return results


def _rejected(status: int, source: Source, delivery: str | None, reason: str) -> JSONResponse:
    shown = delivery if delivery is None or len(delivery) <= MAX_DELIVERY_ID else None
    log.warning("rejected %s delivery %s: %s", source.name, shown, reason)
    return source.reply(Answer(status, shown, "rejected", reason))


def reply_json(reply: Answer, background: BackgroundTask | None = None) -> JSONResponse:
    """GitHub's and GitLab's answer: the delivery, its outcome and reason, and what was dispatched."""
    extra = {"events": reply.results} if reply.outcome in ("accepted", "ignored") else {}
    return answer(reply.status, reply.delivery, reply.outcome, reply.reason, background, **extra)
