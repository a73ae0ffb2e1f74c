"""What the webhook endpoints share: body parsing and answers, and the common end of the CI webhooks
(GitHub `workflow_run`, GitLab Pipeline Hook): deliver, record, answer."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from domain.ci_healing.runs import CIRunEvent
from runtime.ci_dispatch import deliver_ci
from runtime.dispatch import TemporalUnavailable
from store import repository
from store.models import WebhookDeliveryRecord

log = logging.getLogger("mender.webhooks.ci")


def json_object(body: bytes) -> dict:
    """A webhook body as a JSON object; ValueError saying why it is not one."""
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


def answer(
    status: int, delivery: str | None, outcome: str, reason: str = "", **extra: object
) -> JSONResponse:
    """The JSON every webhook endpoint answers with."""
    return JSONResponse(
        {"delivery": delivery, "outcome": outcome, "reason": reason, **extra},
        status_code=status,
        headers={"X-Mender-Outcome": outcome},  # counted by `starter.operations`
    )


async def accept_ci(
    request: Request,
    engine: Engine,
    *,
    delivery: str,
    record_id: str,
    event: str,
    action: str | None,
    translated: CIRunEvent | str,
    received_at: datetime,
) -> JSONResponse:
    """Deliver a translated CI event (or log why it is ignored), record the delivery, answer.

    Temporal unavailable → 503 and nothing recorded, so the sender's redelivery is not taken for a duplicate.
    """
    if isinstance(translated, str):
        log.info("delivery %s (%s.%s) ignored: %s", delivery, event, action, translated)
        outcome, reason = "ignored", translated
    else:
        try:
            delivered = await deliver_ci(request.app.state.dispatcher, translated)
        except TemporalUnavailable as exc:
            log.error("delivery %s (%s) NOT accepted, the sender must redeliver it: %s", delivery, event, exc)
            return answer(503, delivery, "retry", "Temporal is unavailable; redeliver later")
        outcome, reason = "accepted", f"{translated.target.workflow_id}:{translated.key}:{delivered}"
    record = WebhookDeliveryRecord(
        delivery_id=record_id,
        event=event[:60],
        action=action[:60] if action else None,
        received_at=received_at,
        outcome=outcome,
        reason=reason,
    )
    await run_in_threadpool(repository.record_delivery, engine, record)
    ignored = outcome == "ignored"
    return answer(200 if ignored else 202, delivery, outcome, reason if ignored else "", events=[reason])
