"""The merge queue workflow's boundary: id, messages, input, status and its activities' models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.pr_healing.merge_queue import MergeQueue, TurnRequest

QUEUE_WORKFLOW = "MergeQueue"
REQUEST_TURN_UPDATE = "request_turn"
RELEASE_SIGNAL = "release"
STATUS_QUERY = "status"
HISTORY_EVENTS_BEFORE_CONTINUE = 2000
IDLE_SECONDS = 3600.0  # an empty queue completes after this long; the next request starts it again


def queue_workflow_id(repo: str, base_ref: str) -> str:
    """The id of the merge queue of `base_ref` in `repo`: `queue/<owner>/<repo>/<base>`."""
    return f"queue/{repo}/{base_ref}"


class QueueInput(BaseModel):
    """Start input; `carried` and `pending_wakes` are filled in by continue-as-new."""

    repo: str = Field(min_length=1)
    base_ref: str = Field(min_length=1)
    carried: MergeQueue | None = None
    pending_wakes: list[str] = Field(default_factory=list)
    lease_seconds: float = Field(600.0, gt=0)
    idle_seconds: float = Field(IDLE_SECONDS, gt=0)
    history_events_before_continue: int = Field(HISTORY_EVENTS_BEFORE_CONTINUE, ge=20, le=40000)


class TurnRelease(BaseModel):
    """A PR leaves the queue."""

    pr_number: int = Field(ge=1)


class QueueStatus(BaseModel):
    """Answer of the `status` query."""

    repo: str
    base_ref: str
    queue: MergeQueue


class TurnArgs(BaseModel):
    """Ask the queue of (`repo`, `base_ref`) for the turn (the activity starts the queue if needed)."""

    repo: str = Field(min_length=1)
    base_ref: str = Field(min_length=1, max_length=255)
    request: TurnRequest


class ReleaseArgs(BaseModel):
    """Leave the queue of (`repo`, `base_ref`)."""

    repo: str = Field(min_length=1)
    base_ref: str = Field(min_length=1, max_length=255)
    pr_number: int = Field(ge=1)
