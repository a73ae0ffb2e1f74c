"""`POST /webhooks/gitlab`: verify the token, validate, dedupe, translate, signal. It never decides."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from starter import ci_ingest
from starter.ci_delivery import accept_ci, answer, json_object
from starter.signatures import verify_token
from store import repository
from store.db import engine_for

log = logging.getLogger("mender.webhooks.gitlab")
MAX_BODY_BYTES = 25 * 1024 * 1024
router = APIRouter()


@router.post("/webhooks/gitlab", tags=["webhooks"])
async def gitlab_webhook(
    request: Request,
    x_gitlab_token: str | None = Header(default=None),
    x_gitlab_event: str | None = Header(default=None),
    x_gitlab_event_uuid: str | None = Header(default=None),
) -> JSONResponse:
    """Receive one GitLab webhook (Pipeline Hook). 401 bad token, 400 malformed, 503 when Temporal is down."""
    settings = request.app.state.settings
    delivery = x_gitlab_event_uuid
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        log.warning("rejected GitLab delivery %s: %d bytes is over the limit", delivery, len(body))
        return answer(413, delivery, "rejected", "payload too large")
    if not verify_token(settings.gitlab_webhook_tokens, x_gitlab_token):
        log.warning(
            "rejected GitLab delivery %s (%s): missing or wrong X-Gitlab-Token", delivery, x_gitlab_event
        )
        return answer(401, delivery, "rejected", "missing or wrong X-Gitlab-Token")
    if not x_gitlab_event or not delivery:
        log.warning("rejected GitLab delivery %s: missing X-Gitlab-Event or X-Gitlab-Event-UUID", delivery)
        return answer(400, delivery, "rejected", "X-Gitlab-Event and X-Gitlab-Event-UUID are required")
    try:
        payload = json_object(body)
    except ValueError as exc:
        log.warning("rejected GitLab delivery %s: %s", delivery, exc)
        return answer(400, delivery, "rejected", f"body is not a JSON object: {exc}")
    key = f"gitlab:{delivery}"
    engine = engine_for(settings.database_url)
    if await run_in_threadpool(repository.delivery_seen, engine, key):
        log.info("GitLab delivery %s already handled: duplicate ignored", delivery)
        return answer(200, delivery, "duplicate")
    received_at = datetime.now(UTC)
    if x_gitlab_event != "Pipeline Hook":
        translated: object = f"event {x_gitlab_event!r} is not handled"
    else:
        try:
            translated = ci_ingest.from_pipeline_hook(payload, settings.config, received_at)
        except ci_ingest.PayloadError as exc:
            log.warning("rejected GitLab delivery %s: %s", delivery, exc)
            return answer(400, delivery, "rejected", str(exc))
    return await accept_ci(
        request,
        engine,
        delivery=delivery,
        record_id=key,
        event=x_gitlab_event,
        action=None,
        translated=translated,
        received_at=received_at,
    )
