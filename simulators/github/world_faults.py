"""World-wide faults of a scenario (`world_faults:`): GitHub outages, webhook loss, reordering,
duplicates and delays.

Times are relative to the start of the scenario (`WorldFaults.start`). During an outage every REST
call answers 502 and nothing changes in the world: CI, bots, scheduled PRs and comments wait for the
window to end (`until_up`), and webhook deliveries are held until then. `webhook_loss` drops each
delivery with probability `rate`, from an RNG seeded with the scenario seed. GitHub promises neither
order nor exactly-once: `webhook_reorder` holds a delivery back (probability `rate`, up to
`max_delay_seconds`) while later ones of the same PR overtake it; `webhook_duplicate` sends a delivery
twice (same delivery id, as a redelivery); `webhook_delay` delays every delivery by `seconds`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class GitHubOutage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["github_outage"]
    start_seconds: float = Field(0.0, ge=0)
    duration_seconds: float = Field(30.0, gt=0)


class WebhookLoss(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook_loss"]
    rate: float = Field(0.3, ge=0, le=1)


class WebhookReorder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook_reorder"]
    rate: float = Field(0.1, ge=0, le=1)
    max_delay_seconds: float = Field(1.0, gt=0, le=60)


class WebhookDuplicate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook_duplicate"]
    rate: float = Field(0.1, ge=0, le=1)


class WebhookDelay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook_delay"]
    seconds: float = Field(0.5, ge=0, le=60)


WorldFault = Annotated[
    GitHubOutage | WebhookLoss | WebhookReorder | WebhookDuplicate | WebhookDelay, Field(discriminator="type")
]


@dataclass
class Outage:
    start: float  # time.monotonic() values
    end: float
    start_at: datetime
    end_at: datetime
    start_seconds: float
    duration_seconds: float
    refused_requests: int = 0

    def report(self, now: float) -> dict[str, Any]:
        state = "scheduled" if now < self.start else "active" if now < self.end else "over"
        return {
            "start": self.start_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "end": self.end_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "start_seconds": self.start_seconds,
            "duration_seconds": self.duration_seconds,
            "state": state,
            "refused_requests": self.refused_requests,
        }


class WorldFaults:
    """The active world faults; empty (no outage, no loss) until a scenario starts with some."""

    def __init__(self) -> None:
        self.outages: list[Outage] = []
        self.loss_rate = 0.0
        self.reorder_rate, self.reorder_max_seconds = 0.0, 0.0
        self.duplicate_rate, self.delay_seconds = 0.0, 0.0
        self.rng = random.Random(0)
        self.parked = 0  # background tasks waiting in `until_up` for the outage to end

    def start(self, faults: list[WorldFault], seed: int) -> None:
        """Arm `faults` with times counted from now; replaces what an earlier scenario armed."""
        mono, wall = time.monotonic(), datetime.now(UTC)
        self.outages, self.loss_rate = [], 0.0
        self.reorder_rate, self.reorder_max_seconds = 0.0, 0.0
        self.duplicate_rate, self.delay_seconds = 0.0, 0.0
        self.rng = random.Random(f"webhook_loss:{seed}")
        for fault in faults:
            if isinstance(fault, WebhookReorder):
                self.reorder_rate, self.reorder_max_seconds = fault.rate, fault.max_delay_seconds
            elif isinstance(fault, WebhookDuplicate):
                self.duplicate_rate = fault.rate
            elif isinstance(fault, WebhookDelay):
                self.delay_seconds = fault.seconds
            elif fault.type == "github_outage":
                start, duration = fault.start_seconds, fault.duration_seconds
                self.outages.append(
                    Outage(
                        mono + start,
                        mono + start + duration,
                        wall + timedelta(seconds=start),
                        wall + timedelta(seconds=start + duration),
                        start,
                        duration,
                    )
                )
            elif isinstance(fault, WebhookLoss):  # several combine as independent losses
                self.loss_rate = 1 - (1 - self.loss_rate) * (1 - fault.rate)

    def _active(self) -> Outage | None:
        now = time.monotonic()
        active = [o for o in self.outages if o.start <= now < o.end]
        return max(active, key=lambda o: o.end) if active else None

    def outage_left(self) -> float:
        """Seconds until the current outage ends; 0 when GitHub is up."""
        active = self._active()
        return active.end - time.monotonic() if active else 0.0

    def refuse_request(self) -> bool:
        """True (and counted) when a REST call falls in an outage."""
        active = self._active()
        if active is not None:
            active.refused_requests += 1
        return active is not None

    async def until_up(self) -> None:
        """Return once no outage is under way (at once when GitHub is up)."""
        if self.outage_left() <= 0:
            return
        self.parked += 1
        try:
            while (left := self.outage_left()) > 0:
                await asyncio.sleep(left)
        finally:
            self.parked -= 1

    def lose_webhook(self) -> bool:
        return self.loss_rate > 0 and self.rng.random() < self.loss_rate

    def hold_back(self) -> float:
        """Seconds to hold one delivery back while later ones overtake it (0: in order)."""
        if self.reorder_rate > 0 and self.rng.random() < self.reorder_rate:
            return self.rng.uniform(0.1 * self.reorder_max_seconds, self.reorder_max_seconds)
        return 0.0

    def duplicate(self) -> bool:
        return self.duplicate_rate > 0 and self.rng.random() < self.duplicate_rate

    def report(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [outage.report(now) for outage in self.outages]
