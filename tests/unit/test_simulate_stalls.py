"""`mender simulate`'s stall figures count from the PR's last external event before the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starter.simulate_stalls import stall_seconds

T0 = datetime(2026, 12, 8, tzinfo=UTC)


@dataclass
class Row:
    type: str
    at: float  # seconds after T0
    source: str = "webhook"
    outcome: str = "applied"
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(seconds=self.at)


def acted(at: float, scheduled: float | None) -> Row:
    details: dict[str, Any] = {"outcome": "acted", "action": "RETRY_CHECKS"}
    if scheduled is not None:
        details["scheduled_at"] = (T0 + timedelta(seconds=scheduled)).isoformat()
    return Row("remediation", at, source="mender", outcome="noted", payload={"details": details})


def test_what_the_remediation_caused_is_not_the_stalls_start() -> None:
    """The journal is in event-time order: the re-run's checks (GitHub time 25.99) come before the
    remediation's row (26.0) but after its decision (21.0); the stall began at the failure (0.5)."""
    journal = [
        Row("opened", 0.0),
        Row("checks_failed", 0.5),
        Row("checks_started", 25.99),
        acted(26.0, scheduled=21.0),
    ]
    assert stall_seconds(journal) == ([25.5], [20.5])


def test_mender_s_own_rows_and_facts_read_at_a_check_are_not_progress() -> None:
    journal = [
        Row("checks_failed", 1.0),
        Row("checks_failed", 20.9, source="reconciler"),  # folded from the check's read, at its time
        Row("remediation", 15.0, source="mender", outcome="noted", payload={"details": {"outcome": "late"}}),
        Row("command", 16.0, source="command"),
        Row("check_run_completed", 17.0, outcome="noted"),  # a webhook that changed nothing
        acted(22.0, scheduled=21.0),
    ]
    assert stall_seconds(journal) == ([21.0], [20.0])


def test_each_remediation_counts_from_the_progress_before_it() -> None:
    journal = [
        Row("checks_failed", 0.0),
        acted(21.0, scheduled=20.0),
        Row("checks_started", 21.5),
        Row("checks_failed", 24.0),
        acted(45.0, scheduled=44.5),
        acted(50.0, scheduled=None),  # before `scheduled_at` was journaled: stall -> action only
    ]
    assert stall_seconds(journal) == ([21.0, 21.0, 26.0], [20.0, 20.5])


def test_a_remediation_with_no_external_event_before_it_is_skipped() -> None:
    assert stall_seconds([acted(5.0, scheduled=4.0), Row("opened", 4.5)]) == ([], [])
