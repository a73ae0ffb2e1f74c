"""`ci.analyse` reports progress itself (the liveness interceptor does not beat for it): reading a
failed job's log heartbeats as the chunks come, well within its call's heartbeat timeout."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from activities import ci_logs
from contracts.activities import ANALYSE_RUN, CallKind
from runtime.activity_liveness import LIVENESS
from workflows.calls import OPTIONS


def test_reading_a_log_heartbeats_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ci_logs, "HEARTBEAT_SECONDS", 0.0)  # every chunk is "a while later"
    beats: list[tuple] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    chunks = [b"step 1\nerr", b"or: boom\n", b"step 3\n", b"tail"]
    lines = env.run(lambda: list(ci_logs.lines_of(iter(chunks))))
    assert lines == ["step 1", "error: boom", "step 3", "tail"]
    assert len(beats) == len(chunks)


def test_the_analysis_beats_often_enough_for_its_heartbeat_timeout() -> None:
    timeout = OPTIONS[CallKind.ANALYSE]["heartbeat_timeout"].total_seconds()
    assert ANALYSE_RUN.kind is CallKind.ANALYSE and ANALYSE_RUN.name not in LIVENESS
    assert timeout >= ci_logs.HEARTBEAT_SECONDS * 4
