"""Chaos tests: Mender as separate processes (`tests/support/processes.py`), one stack for the module,
each test on its own repository. `-m chaos` selects them; `bench/chaos.py` reruns them and prints the
fault table of the README from what they measured (`MENDER_CHAOS_TABLE`)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ProcessStack
from tests.support.stack import quick_lifecycle

HERE = Path(__file__).parent
REPOS = {
    "baseline": "chaos/no-fault",
    "worker": "chaos/worker-kill",
    "reopen": "chaos/reopen-kill",
    "ci": "chaos/ci-kill",
    "bots": "chaos/bot-kill",
    "temporal": "chaos/temporal-pause",
    "github": "chaos/github-errors",
    "store": "chaos/store-locked",
    "webhooks": "chaos/webhooks",
}
CONFIG: dict[str, Any] = {
    "mode": "act",
    "repositories": [{"name": name} for name in REPOS.values()],
    "lifecycle": {**quick_lifecycle(2.0), "terminal_grace_seconds": 2.0},
    "remediation": {"close_and_reopen": True, "effect_deadline_seconds": 8},
    "breaker": {"scope": "chaos", "min_samples": 1000},  # the faults must not stop healing here
    "reconciler": {"interval_seconds": 3, "max_run_seconds": 20},
    "ci": {
        "poll_interval_seconds": 3,
        "rerun_backoff_seconds": 0.5,
        "verify_timeout_seconds": 60,
        "risk": {"threshold": 10.0, "confidence_floor": 0},  # fixes go out without a Slack approval
        "watch": [{"provider": "github", "project": REPOS["ci"]}],
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.chaos)


@contextlib.contextmanager
def running(processes: ProcessStack) -> Iterator[ProcessStack]:
    try:
        processes.start()
        yield processes
    finally:
        processes.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessStack]:
    with running(ProcessStack(tmp_path_factory.mktemp("chaos"), CONFIG)) as processes:
        yield processes


@pytest.fixture
def fault_table() -> Iterator[list[dict[str, Any]]]:
    """Rows a test measured (fault, injected, doubled, lost, ended); appended to $MENDER_CHAOS_TABLE."""
    rows: list[dict[str, Any]] = []
    yield rows
    if path := os.environ.get("MENDER_CHAOS_TABLE"):
        with open(path, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
