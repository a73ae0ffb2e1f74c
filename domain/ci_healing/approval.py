"""Approval of a risky CI remediation: what is asked, and the answer delivered to the CI workflow."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.diagnosis.verdict import Diagnosis

APPROVE_ACTION_ID = "mender_approve"
REJECT_ACTION_ID = "mender_reject"


class ApprovalRequest(BaseModel):
    """Everything an approver needs to decide in one click (rendered as a Slack Block Kit message)."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str  # ci/<provider>/<project>/<run_id>: the button value, where the answer is signalled
    provider: str
    project: str
    run_id: str
    run_url: str
    diagnosis: Diagnosis
    plan: str  # one line: what Mender will do if approved
    gate_reasons: list[str] = Field(default_factory=list)  # why a human must decide
    timeout_seconds: float


class ApprovalDecision(BaseModel):
    """An approver's answer, signalled to the CI workflow (signal `approval`)."""

    model_config = ConfigDict(frozen=True)

    approved: bool
    approver: str  # Slack user id (and name when known): `U123 (alice)`
    decided_at: datetime
    channel: str | None = None
    message_ts: str | None = None
