"""The circuit breaker workflow's boundary: id, messages, input, status and the breaker activities' models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.config import BreakerConfig
from domain.shared.breaker import Breaker, BreakerState, StateChange
from domain.shared.breaker_isolation import RepoBreakers
from domain.shared.notifications import BreakerNotice

WORKFLOW_TYPE = "CircuitBreaker"
REQUEST_PERMIT_UPDATE = "request_permit"
REPORT_OUTCOME_SIGNAL = "report_outcome"
RESET_UPDATE = "reset"
CONFIGURE_UPDATE = "configure"
STATUS_QUERY = "status"
HISTORY_EVENTS_BEFORE_CONTINUE = 3000


class BreakerInput(BaseModel):
    """Start input; `carried` and `pending_notices` are filled in by continue-as-new."""

    scope: str = Field(min_length=1)
    config: BreakerConfig = Field(default_factory=BreakerConfig)
    carried: Breaker | None = None
    pending_notices: list[BreakerNotice] = Field(default_factory=list)
    carried_repos: RepoBreakers | None = None
    history_events_before_continue: int = Field(HISTORY_EVENTS_BEFORE_CONTINUE, ge=20, le=40000)


class PermitRequest(BaseModel):
    """Who asks to start guarded work (e.g. `pr/acme/api/12:rebuild`)."""

    requester: str
    repo: str | None = None  # the repository the work is on (its own breaker may be open)


class OutcomeReport(BaseModel):
    """How guarded work went; `requester` must match the permit's for a probe to count."""

    requester: str
    ok: bool
    detail: str = ""
    repo: str | None = None
    repo_only: bool = False
    repo: str | None = None
    repo_only: bool = False  # a failure only this repository causes: its own breaker, not the shared one


class ResetRequest(BaseModel):
    """Who resets the breaker by hand."""

    actor: str


class BreakerStatus(BaseModel):
    """Answer of the `status` query and of the `reset` and `configure` updates."""

    scope: str
    state: BreakerState
    failure_rate: float | None
    samples: int
    opened_at: datetime | None
    changes: list[StateChange]
    probe_in_flight: bool = False
    probe_at: datetime | None = None  # when an open breaker will grant its probe
    config: BreakerConfig | None = None
    isolated: list[str] = Field(default_factory=list)  # repositories paused by their own breaker


def breaker_workflow_id(scope: str) -> str:
    """The id of the breaker workflow guarding `scope`."""
    return f"breaker/{scope}"


class BreakerPermitArgs(BaseModel):
    """Ask the breaker of `scope` whether `requester` may start guarded work."""

    scope: str = Field(min_length=1)
    requester: str = Field(min_length=1)
    repo: str | None = None


class BreakerOutcomeArgs(BaseModel):
    """Tell the breaker of `scope` how `requester`'s guarded work went."""

    scope: str = Field(min_length=1)
    requester: str = Field(min_length=1)
    ok: bool
    detail: str = ""
    repo: str | None = None
    repo_only: bool = False
