"""`POST /webhooks/github`: verify, validate, dedupe, translate, signal. It never decides."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from runtime.dispatch import Delivered, EventDispatcher, TemporalUnavailable
from starter import ci_ingest
from starter.ci_delivery import accept_ci, answer, json_object
from starter.github_events import PayloadError, translate
from starter.signatures import verify_github_signature
from store import repository
from store.db import engine_for
from store.models import WebhookDeliveryRecord

log = logging.getLogger("mender.webhooks")
MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
router = APIRouter()
CI_EVENTS = {"workflow_run"}


@router.post("/webhooks/github", tags=["webhooks"])
async def github_webhook(
    request: Request,
    x_github_event: str | None = Header(default=None),
    x_github_delivery: str | None = Header(default=None),
    x_hub_signature_256: str | None = Header(default=None),
) -> JSONResponse:
    """Receive one GitHub webhook. 401 bad signature, 400 malformed, 503 when Temporal is down."""
    settings = request.app.state.settings
    body = await request.body()
    delivery = x_github_delivery
    if len(body) > MAX_BODY_BYTES:
        log.warning("rejected delivery %s: body of %d bytes is over the limit", delivery, len(body))
        return answer(413, delivery, "rejected", "payload too large")
    if not verify_github_signature(settings.webhook_secrets, body, x_hub_signature_256):
        log.warning("rejected delivery %s (%s): missing or bad signature", delivery, x_github_event)
        return answer(401, delivery, "rejected", "missing or bad X-Hub-Signature-256")
    if not x_github_event or not delivery:
        log.warning("rejected delivery %s: missing X-GitHub-Event or X-GitHub-Delivery", delivery)
        return answer(400, delivery, "rejected", "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = json_object(body)
    except ValueError as exc:
        log.warning("rejected delivery %s: body is not a JSON object: %s", delivery, exc)
        return answer(400, delivery, "rejected", f"body is not a JSON object: {exc}")
    if x_github_event == "ping":
        return answer(200, delivery, "pong")

    engine = engine_for(settings.database_url)
    if await run_in_threadpool(repository.delivery_seen, engine, delivery):
        log.info("delivery %s already handled: duplicate ignored", delivery)
        return answer(200, delivery, "duplicate")
    received_at = datetime.now(UTC)
    if x_github_event in CI_EVENTS:
        return await _ci_delivery(request, engine, delivery, x_github_event, payload, received_at)
    try:
        translation = await run_in_threadpool(
            translate,
            x_github_event,
            payload,
            settings.config,
            received_at,
            lambda repo, sha: repository.find_pr_by_head(engine, repo, sha),
        )
    except PayloadError as exc:
        log.warning("rejected delivery %s: %s", delivery, exc)
        return answer(400, delivery, "rejected", str(exc))

    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    dispatcher: EventDispatcher = request.app.state.dispatcher
    results: list[str] = []
    try:
        for event in translation.events:
            outcome = await dispatcher.deliver(event)
            results.append(f"{event.pr.key}:{event.type}:{outcome}")
            if outcome is Delivered.NO_WORKFLOW:
                log.info("delivery %s: %s for %s ignored: PR not tracked", delivery, event.type, event.pr.key)
        for item in translation.commands:  # PR comment commands: the workflow answers on the PR
            reply = await dispatcher.command(item.pr, item.request, wait="accepted")
            verdict = "no_workflow" if reply is None else "accepted" if reply.accepted else "rejected"
            results.append(f"{item.pr.key}:{item.request.command}:{verdict}")
            if reply is None:
                log.info(
                    "delivery %s: %s for %s ignored: PR not tracked",
                    delivery,
                    item.request.command,
                    item.pr.key,
                )
    except TemporalUnavailable as exc:
        log.error("delivery %s NOT accepted, GitHub must redeliver it: %s", delivery, exc)
        return answer(503, delivery, "retry", "Temporal is unavailable; redeliver later")

    ignored = translation.ignored
    if ignored:
        log.info("delivery %s (%s.%s) ignored: %s", delivery, x_github_event, action, ignored)
    record = WebhookDeliveryRecord(
        delivery_id=delivery,
        event=x_github_event[:60],
        action=action[:60] if action else None,
        received_at=received_at,
        outcome="ignored" if ignored else "accepted",
        reason=ignored or "; ".join(results),
    )
    await run_in_threadpool(repository.record_delivery, engine, record)
    return answer(200 if ignored else 202, delivery, record.outcome, ignored or "", events=results)


async def _ci_delivery(
    request: Request, engine: Engine, delivery: str, event: str, payload: dict, received_at: datetime
) -> JSONResponse:
    """A `workflow_run` webhook: one CI run event for the CI failure workflow of that run."""
    try:
        translated = ci_ingest.from_workflow_run(payload, request.app.state.settings.config, received_at)
    except ci_ingest.PayloadError as exc:
        log.warning("rejected delivery %s: %s", delivery, exc)
        return answer(400, delivery, "rejected", str(exc))
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    return await accept_ci(
        request,
        engine,
        delivery=delivery,
        record_id=delivery,
        event=event,
        action=action,
        translated=translated,
        received_at=received_at,
    )
