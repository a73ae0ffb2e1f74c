"""Slack interactivity as an intake source: an Approve/Reject click becomes the CI workflow's `approval`.

Verified with slack-sdk's `SignatureVerifier` and a 5-minute freshness window (a replay is refused);
the delivery id is the request's signature, so the same signed request is a duplicate. The body is a
form with one `payload` field holding the interaction (bounded JSON); only Mender's buttons on a
`ci/` workflow, clicked by a configured approver (`ci.approval.approvers`), are delivered. Slack shows
the answer's `text` to the clicker. Neither the signing secret nor the raw body is ever logged.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.signature import SignatureVerifier
from starlette.background import BackgroundTask
from starlette.datastructures import Headers

from domain.ci_healing.approval import APPROVE_ACTION_ID, REJECT_ACTION_ID, ApprovalDecision
from runtime.settings import ConfigError, Settings
from starter.intake.model import (
    OUTCOME_HEADER,
    Answer,
    ApprovalItem,
    Delivery,
    Intake,
    Note,
    PayloadError,
    Rejection,
)
from starter.intake.parsing import bounded_json

log = logging.getLogger("mender.slack.interactivity")
MAX_SKEW_SECONDS = 5 * 60
WORKFLOW_PREFIX = "ci/"
REVIEW_PREFIX = "fixpr/"  # a fix PR in the review queue: the button becomes its `review` signal
INTERACTION = "interaction"


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


def allowed(payload: BlockActions, approvers: list[str]) -> bool:
    """True if the clicking user is listed by id or user name (`@name` also matches); empty = nobody."""
    names = {a.removeprefix("@").strip() for a in approvers if a.strip()}
    user = payload.user
    return any(ref and ref in names for ref in (user.id, user.username, user.name))


def check_signature(secret: str, body: bytes, timestamp: str | None, signature: str | None) -> str | None:
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


def _describe(exc: ValidationError) -> str:
    """Pydantic errors without the input values (they may echo the payload)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


class SlackSource:
    name = "slack"
    max_body_bytes = 1024 * 1024
    in_memory_events: frozenset[str] = frozenset()

    def verify(self, headers: Headers, body: bytes, settings: Settings) -> Rejection | None:
        try:
            secret = settings.slack_signing_secret
        except ConfigError as exc:
            log.error("rejected interaction: %s", exc)
            return Rejection(500, "Slack signing secret not configured")
        problem = check_signature(
            secret, body, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        )
        return Rejection(401, problem) if problem else None

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("x-slack-signature")

    def event(self, headers: Headers) -> str:
        return INTERACTION

    def parse(self, body: bytes) -> dict[str, Any]:
        """The form's one `payload` field, as bounded JSON (validated by `translate`)."""
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise ValueError("body is not form-encoded") from None
        fields = form.get("payload")
        if not fields or len(fields) != 1:
            raise ValueError("exactly one form field `payload` is required")
        try:
            return {"payload": bounded_json(fields[0])}
        except ValueError as exc:
            raise ValueError(f"payload is not JSON: {exc.args[0] if exc.args else exc}") from None

    def translate(self, delivery: Delivery, settings: Settings) -> Intake:
        raw = delivery.payload["payload"]
        try:
            envelope = Envelope.model_validate(raw)
            if envelope.type != "block_actions":
                return Intake(ignored=f"interaction of type {envelope.type[:40]} ignored")
            payload = BlockActions.model_validate(raw)
        except ValidationError as exc:
            raise PayloadError(f"payload is not a valid interaction: {_describe(exc)}") from None
        ids = (APPROVE_ACTION_ID, REJECT_ACTION_ID)
        action = next((a for a in payload.actions if a.action_id in ids), None)
        if action is None:
            return Intake(
                ignored=f"not an approval button: {[a.action_id[:40] for a in payload.actions][:5]}"
            )
        workflow_id = action.value or ""
        if not workflow_id.startswith((WORKFLOW_PREFIX, REVIEW_PREFIX)):
            raise PayloadError(f"button value must be a workflow id starting with {WORKFLOW_PREFIX!r}")
        approved = action.action_id == APPROVE_ACTION_ID
        who = payload.identity()
        if not allowed(payload, settings.config.ci.approval.approvers):
            verb = "approve" if approved else "reject"
            log.warning("refused %s of %s by %s: not in ci.approval.approvers", verb, workflow_id, who)
            text = f"Sorry, you are not allowed to approve or reject Mender fixes ({who})."
            return Intake(answer_only="refused", note=Note(text, private=True))
        decision = ApprovalDecision(
            approved=approved,
            approver=who,
            decided_at=delivery.received_at.astimezone(UTC),
            channel=(payload.channel.id if payload.channel else None)
            or (payload.container.channel_id if payload.container else None),
            message_ts=(payload.container.message_ts if payload.container else None)
            or (payload.message.ts if payload.message else None),
        )
        return Intake(approval=ApprovalItem(workflow_id, decision))

    def reply(self, answer: Answer, background: BackgroundTask | None = None) -> JSONResponse:
        """Slack's shape: `text` shown to the clicker (ephemeral for a private note); 200 when taken."""
        status = 200 if answer.status in (200, 202) else answer.status
        if answer.note is not None:
            text = answer.note.text
        elif answer.outcome in ("rejected", "retry"):
            text = answer.reason
        else:
            text = answer.outcome  # ignored, duplicate
        body: dict[str, Any] = {"text": text}
        if answer.note is not None and answer.note.private:
            body = {"response_type": "ephemeral", "replace_original": False, **body}
        return JSONResponse(
            body, status_code=status, background=background, headers={OUTCOME_HEADER: answer.outcome}
        )


SLACK = SlackSource()
