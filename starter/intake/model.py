"""What the intake path passes along: a verified delivery, its translation, and a rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import Headers

from domain.ci_healing.approval import ApprovalDecision
from domain.ci_healing.runs import CIRunEvent
from domain.pr_healing.commands import CommandRequest
from domain.pr_healing.events import PREvent, PRRef
from runtime.settings import Settings
from starter.webhook_payloads import PayloadError as PayloadError  # the intake's one error for a bad body

OUTCOME_HEADER = (
    "X-Mender-Outcome"  # every intake answer says its outcome here (counted by `starter.operations`)
)


@dataclass(frozen=True)
class Rejection:
    """Why a delivery is refused: the HTTP status and the reason given back and logged."""

    status: int
    reason: str


@dataclass(frozen=True)
class Delivery:
    """A delivery whose sender is verified and whose body is a bounded JSON object."""

    source: str
    delivery_id: str  # the sender's id, as the sender wrote it
    event: str
    payload: dict[str, Any]
    received_at: datetime

    @property
    def key(self) -> str:
        """The id the delivery is recorded and deduplicated under (unique across sources)."""
        return self.delivery_id if self.source == "github" else f"{self.source}:{self.delivery_id}"

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action[:60] if isinstance(action, str) else None


@dataclass(frozen=True)
class PRCommandItem:
    pr: PRRef
    request: CommandRequest


@dataclass(frozen=True)
class ApprovalItem:
    """An approver's answer for the CI workflow `workflow_id` (signal `approval`)."""

    workflow_id: str
    decision: ApprovalDecision


@dataclass(frozen=True)
class Note:
    """A message for the person behind the delivery (Slack shows it to whoever clicked)."""

    text: str
    private: bool = False  # only the clicker sees it


@dataclass
class Intake:
    """What a delivery means: PR events, PR commands, a CI run event, an approval, or why it is ignored."""

    events: list[PREvent] = field(default_factory=list)
    commands: list[PRCommandItem] = field(default_factory=list)
    ci: CIRunEvent | None = None
    nudges: list[str] = field(default_factory=list)  # fix PR workflows to look again now (`nudge`)
    approval: ApprovalItem | None = None
    ignored: str = ""
    applied: list[str] = field(default_factory=list)  # what the intake itself did (installations)
    answer_only: str | None = None  # answered with this outcome, neither dispatched nor recorded (ping)
    note: Note | None = None  # for the sender's user; set by translate or by the dispatch of an approval


@dataclass(frozen=True)
class Answer:
    """What the intake answers a delivery; each source renders it (`Source.reply`)."""

    status: int
    delivery: str | None
    outcome: str  # accepted, ignored, duplicate, rejected, retry, or a source's own (pong, refused)
    reason: str = ""
    results: list[str] = field(default_factory=list)  # one line per event, command or approval dispatched
    note: Note | None = None


class StoreUnavailable(RuntimeError):
    """The store could not be read or written before the answer; the sender must retry."""


class Source(Protocol):
    """One kind of webhook sender (GitHub, GitLab, Slack)."""

    name: str
    max_body_bytes: int
    # Events whose translation reads nothing but the payload and the configuration: translated on the
    # event loop (a thread hop costs more than the translation); the others in the thread pool.
    in_memory_events: frozenset[str]

    def parse(self, body: bytes) -> dict[str, Any]:
        """The verified body as a bounded JSON object; ValueError with the reason (answered 400)."""

    def reply(self, answer: Answer, background: BackgroundTask | None = None) -> JSONResponse:
        """The HTTP answer in the shape the sender expects."""

    def verify(self, headers: Headers, body: bytes, settings: Settings) -> Rejection | None:
        """Refuse unauthenticated or incomplete deliveries (before the body is parsed)."""

    def delivery_id(self, headers: Headers) -> str | None: ...

    def event(self, headers: Headers) -> str: ...

    def translate(self, delivery: Delivery, settings: Settings) -> Intake:
        """Map the payload to events; PayloadError when a handled event is malformed."""
