"""`POST /slack/interactivity`: a Slack button click (Approve/Reject) becomes the `approval` signal.

Checks, in order: signature (slack-sdk's `SignatureVerifier`; missing or bad → 401), freshness (a
timestamp more than 5 minutes away → 401, a possible replay), the payload (form field `payload`, JSON,
`block_actions`; malformed → 400), the button (Mender's action ids, a `ci/` workflow id), the approver
(`ci.approval.approvers`; refused → 200 with an ephemeral refusal, no signal), a decision delivered
before (`starter.slack_clicks`: a second click → 200 "already decided", no signal). Then it signals the
CI workflow (`approval`), or for a `fixpr/` id the fix PR's workflow (`review`, the review queue):
not found → 200 "no longer pending", Temporal unavailable → 503 so Slack retries.
Neither the signing secret nor the raw body is ever logged.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from contracts.fixpr import REVIEW_SIGNAL
from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalDecision
from domain.ci_healing.review_queue import ReviewDecision
from runtime.dispatch import EventDispatcher, TemporalUnavailable
from runtime.settings import ConfigError, Settings
from starter import slack_clicks
from store.db import engine_for

log = logging.getLogger("mender.slack.interactivity")
router = APIRouter()

APPROVAL_SIGNAL = "approval"
MAX_BODY_BYTES = 1024 * 1024
MAX_SKEW_SECONDS = 5 * 60
RPC_TIMEOUT = timedelta(seconds=5)
WORKFLOW_PREFIX = "ci/"
REVIEW_PREFIX = "fixpr/"  # a fix PR in the review queue: the button becomes its `review` signal


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SlackUser(_Loose):
    id: str = Field(min_length=1)
    username: str | None = None
    name: str | None = None


class SlackAction(_Loose):
    action_id: str
    value: str | None = None


class SlackContainer(_Loose):
    message_ts: str | None = None
    channel_id: str | None = None


class SlackChannel(_Loose):
    id: str


class SlackMessageRef(_Loose):
    ts: str | None = None


class Envelope(_Loose):
    """Just enough to tell the kind of interaction."""

    type: str


class BlockActions(_Loose):
    """The fields of a `block_actions` payload that Mender reads."""

    type: Literal["block_actions"]
    user: SlackUser
    actions: list[SlackAction] = Field(min_length=1)
    container: SlackContainer | None = None
    channel: SlackChannel | None = None
    message: SlackMessageRef | None = None

    def identity(self) -> str:
        """`U123 (alice)`, or the bare id when Slack sent no name."""
        name = self.user.username or self.user.name
        return f"{self.user.id} ({name})" if name else self.user.id


def _reply(status: int, text: str, *, ephemeral: bool = False, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"text": text, **extra}
    if ephemeral:
        body = {"response_type": "ephemeral", "replace_original": False, **body}
    return JSONResponse(body, status_code=status)


def _describe(exc: ValidationError) -> str:
    """Pydantic errors without the input values (they may echo the payload)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def _check_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> str | None:
    """Why the request is not authentically from Slack right now, or None when it is."""
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    try:
        stamp = int(timestamp)
    except ValueError:
        return "bad X-Slack-Request-Timestamp"
    if abs(time.time() - stamp) > MAX_SKEW_SECONDS:
        return "stale request (possible replay)"
    try:
        valid = SignatureVerifier(secret).is_valid(body, timestamp, signature)
    except UnicodeDecodeError:
        valid = False
    return None if valid else "invalid signature"


def _parse(body: bytes) -> Envelope | BlockActions:
    """The interaction in a form-encoded body; ValueError with the reason when malformed."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("body is not form-encoded") from None
    fields = form.get("payload")
    if not fields or len(fields) != 1:
        raise ValueError("exactly one form field `payload` is required")
    try:
        raw = json.loads(fields[0])
    except ValueError as exc:
        raise ValueError(f"payload is not JSON: {exc.args[0] if exc.args else exc}") from None
    try:
        envelope = Envelope.model_validate(raw)
        return BlockActions.model_validate(raw) if envelope.type == "block_actions" else envelope
    except ValidationError as exc:
        raise ValueError(f"payload is not a valid interaction: {_describe(exc)}") from None


def allowed(payload: BlockActions, approvers: list[str]) -> bool:
    """True if the clicking user is listed by id or user name (`@name` also matches); empty = nobody."""
    names = {a.removeprefix("@").strip() for a in approvers if a.strip()}
    user = payload.user
    return any(ref and ref in names for ref in (user.id, user.username, user.name))


@router.post("/slack/interactivity", tags=["slack"])
async def slack_interactivity(request: Request) -> JSONResponse:
    """Receive one Slack interaction. 401 unsigned/stale, 400 malformed, 503 when Temporal is down."""
    settings: Settings = request.app.state.settings
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        log.warning("rejected interaction: body of %d bytes is over the limit", len(body))
        return _reply(413, "payload too large")
    try:
        secret = settings.slack_signing_secret
    except ConfigError as exc:
        log.error("rejected interaction: %s", exc)
        return _reply(500, "Slack signing secret not configured")
    headers = request.headers
    problem = _check_signature(
        secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    )
    if problem:
        log.warning(
            "rejected interaction from %s: %s", request.client.host if request.client else "?", problem
        )
        return _reply(401, problem)
    try:
        payload = _parse(body)
    except ValueError as exc:
        log.warning("rejected interaction: %s", exc)
        return _reply(400, str(exc))
    if not isinstance(payload, BlockActions):
        log.info("interaction of type %s ignored", payload.type)
        return _reply(200, "ignored")

    action = next((a for a in payload.actions if a.action_id in (APPROVE_ACTION_ID, REJECT_ACTION_ID)), None)
    if action is None:
        log.info("block_actions %s ignored: not an approval button", [a.action_id for a in payload.actions])
        return _reply(200, "ignored")
    workflow_id = action.value or ""
    if not workflow_id.startswith((WORKFLOW_PREFIX, REVIEW_PREFIX)):
        log.warning(
            "rejected %s by %s: button value is not a CI workflow id", action.action_id, payload.user.id
        )
        return _reply(400, f"button value must be a workflow id starting with {WORKFLOW_PREFIX!r}")
    approved = action.action_id == APPROVE_ACTION_ID
    verb = "approve" if approved else "reject"
    who = payload.identity()
    if not allowed(payload, settings.config.ci.approval.approvers):
        log.warning("refused %s of %s by %s: not in ci.approval.approvers", verb, workflow_id, who)
        return _reply(
            200, f"Sorry, you are not allowed to approve or reject Mender fixes ({who}).", ephemeral=True
        )

    engine = engine_for(settings.database_url)
    try:
        earlier = await run_in_threadpool(slack_clicks.decided, engine, workflow_id)
    except SQLAlchemyError as exc:
        log.error("%s of %s by %s NOT recorded, the store is unavailable: %s", verb, workflow_id, who, exc)
        return _reply(503, "the store is unavailable; try again")
    if earlier is not None:
        log.info("%s of %s by %s ignored: decided before by %s", verb, workflow_id, who, earlier.actor)
        return _reply(200, slack_clicks.already(earlier), ephemeral=True)

    decision = ApprovalDecision(
        approved=approved,
        approver=who,
        decided_at=datetime.now(UTC),
        channel=(payload.channel.id if payload.channel else None)
        or (payload.container.channel_id if payload.container else None),
        message_ts=(payload.container.message_ts if payload.container else None)
        or (payload.message.ts if payload.message else None),
    )
    dispatcher: EventDispatcher = request.app.state.dispatcher
    try:
        client = await dispatcher.client()
        name, arg = APPROVAL_SIGNAL, decision
        if workflow_id.startswith(REVIEW_PREFIX):  # a queued fix PR (the review queue's buttons)
            name, arg = REVIEW_SIGNAL, ReviewDecision(approved=approved, by=who, at=decision.decided_at)
        await client.get_workflow_handle(workflow_id).signal(name, arg, rpc_timeout=RPC_TIMEOUT)
    except TemporalUnavailable as exc:
        log.error("%s of %s by %s NOT recorded, Slack must retry: %s", verb, workflow_id, who, exc)
        return _reply(503, "Temporal is unavailable; try again")
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            log.info("%s of %s by %s ignored: workflow not running", verb, workflow_id, who)
            return _reply(200, "This approval is no longer pending.", ephemeral=True)
        log.error("%s of %s by %s NOT recorded: %s: %s", verb, workflow_id, who, exc.status.name, exc)
        return _reply(503, "Temporal refused the decision; try again")
    log.info("%s of %s by %s signalled", verb, workflow_id, who)
    try:
        first = await run_in_threadpool(slack_clicks.remember, engine, workflow_id, approved, who)
    except SQLAlchemyError as exc:  # delivered; only the memory of it is lost
        log.error("%s of %s by %s delivered but not remembered: %s", verb, workflow_id, who, exc)
        first = True
    if not first:  # a concurrent click was delivered first: the workflow kept that one
        earlier = await run_in_threadpool(slack_clicks.decided, engine, workflow_id)
        if earlier is not None:
            return _reply(200, slack_clicks.already(earlier), ephemeral=True)
    return _reply(200, f"Recorded: {'approved' if approved else 'rejected'} by {who}.")
