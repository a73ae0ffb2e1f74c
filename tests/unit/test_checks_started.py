"""Checks started, from what GitHub sends every app: `check_run.created` (not `check_suite.requested`,
which GitHub sends only to the app that owns the suite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.config import MenderConfig
from domain.pr_healing.events import EventType, PRRef
from domain.pr_healing.facts import suite_started_key
from starter.github_events import translate
from tests.conftest import FIXTURES

CREATED = json.loads((FIXTURES / "github" / "webhooks" / "check_run" / "created.payload.json").read_text())


def test_a_created_check_run_starts_the_checks_of_its_pull_requests() -> None:
    result = translate("check_run", CREATED, MenderConfig(), datetime.now(UTC), lambda r, s: [])
    [event] = result.events
    suite = CREATED["check_run"]["check_suite"]
    assert (event.type, event.pr) == (
        EventType.CHECKS_STARTED,
        PRRef(repo="Codertocat/Hello-World", number=2),
    )
    assert event.key == suite_started_key(suite["id"], suite["updated_at"])  # one per suite start
    assert event.head_sha == CREATED["check_run"]["head_sha"]


def test_every_check_run_of_one_suite_start_gives_the_same_key() -> None:
    second = json.loads(json.dumps(CREATED))
    second["check_run"]["id"] += 1
    second["check_run"]["name"] = "lint"
    keys = {
        translate("check_run", body, MenderConfig(), datetime.now(UTC), lambda r, s: []).events[0].key
        for body in (CREATED, second)
    }
    assert len(keys) == 1
