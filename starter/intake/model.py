"""What the intake path passes along: a verified delivery, its translation, and a rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from starlette.datastructures import Headers

from domain.ci_healing.runs import CIRunEvent
from domain.pr_healing.commands import CommandRequest
from domain.pr_healing.events import PREvent, PRRef
from runtime.settings import Settings


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


@dataclass
class Intake:
    """What a delivery means: PR events, PR commands, a CI run event, or why it is ignored."""

    events: list[PREvent] = field(default_factory=list)
    commands: list[PRCommandItem] = field(default_factory=list)
    ci: CIRunEvent | None = None
    ignored: str = ""
    applied: list[str] = field(default_factory=list)  # what the intake itself did (installations)
    answer_only: str | None = None  # answered with this outcome, neither dispatched nor recorded (ping)


class PayloadError(ValueError):
    """A payload without the shape of its event; the message says which field and why."""


class Source(Protocol):
    """One kind of webhook sender (GitHub, GitLab)."""

    name: str

    def verify(self, headers: Headers, body: bytes, settings: Settings) -> Rejection | None:
        """Refuse unauthenticated or incomplete deliveries (before the body is parsed)."""

    def delivery_id(self, headers: Headers) -> str | None: ...

    def event(self, headers: Headers) -> str: ...

    def translate(self, delivery: Delivery, settings: Settings) -> Intake:
        """Map the payload to events; PayloadError when a handled event is malformed."""
