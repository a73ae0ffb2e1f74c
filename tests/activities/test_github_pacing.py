"""Writes take turns under GitHub's secondary limit (`activities/github_pacing.py`), on a fake clock."""

from __future__ import annotations

import pytest

from activities.github_pacing import LONGEST_INLINE_WAIT, TURN_KEPT, Held, WritePacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_writes_within_the_limit_go_at_once_and_the_next_when_the_first_leaves_the_window(
    clock: Clock,
) -> None:
    pacer = WritePacer(clock, window=60)
    assert [pacer.turn("token", 3) for _ in range(3)] == [1000.0] * 3
    clock.now = 1010.0
    assert pacer.turn("token", 3) == 1060.0  # the first write leaves the window
    assert pacer.turn("token", 3) == 1060.0
    assert pacer.turn("token", 3) == 1060.0
    assert pacer.turn("token", 3) == 1120.0  # the fourth, given 1060, leaves it then
    assert pacer.turn("other", 3) == 1010.0  # another credential has its own limit


def test_never_more_than_the_limit_in_any_window(clock: Clock) -> None:
    pacer = WritePacer(clock, window=60)
    turns = []
    for n in range(400):  # bursts and lulls
        clock.now += 0.1 if n % 50 else 30
        turns.append(pacer.turn("token", 80))
    assert turns == sorted(turns)
    assert max(sum(1 for t in turns if start <= t < start + 60) for start in turns) == 80


def test_an_activity_whose_turn_is_far_is_held_and_finds_its_turn_kept(clock: Clock) -> None:
    pacer = WritePacer(clock, window=60)
    pacer.turn("token", 1)  # the one write of the window
    with pytest.raises(Held) as held:
        pacer.wait_turn("token", 1, "pr/1/run/7")
    assert held.value.seconds == pytest.approx(60)
    assert pacer.turn("token", 1) == 1120.0  # the next writer queues behind the kept turn
    clock.now = 1061.0  # the activity comes back at its turn
    pacer.wait_turn("token", 1, "pr/1/run/7")  # its kept turn, now due: goes without waiting


def test_a_near_turn_is_waited_for_inside_the_activity(clock: Clock, monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("activities.github_pacing.time.sleep", lambda s: slept.append(s))
    pacer = WritePacer(clock, window=60)
    pacer.turn("token", 1)
    clock.now = 1060.0 - LONGEST_INLINE_WAIT + 1
    pacer.wait_turn("token", 1, "pr/1/run/7")
    assert slept == [pytest.approx(LONGEST_INLINE_WAIT - 1)]


def test_a_kept_turn_not_taken_is_given_up(clock: Clock) -> None:
    pacer = WritePacer(clock, window=60)
    pacer.turn("token", 1)
    with pytest.raises(Held):
        pacer.wait_turn("token", 1, "gone")
    clock.now += 60 + TURN_KEPT
    assert pacer.turn("token", 1, "gone") == clock.now  # not kept any more: a fresh turn


def test_a_write_sent_late_counts_from_when_it_went(clock: Clock) -> None:
    pacer = WritePacer(clock, window=60)
    at = pacer.turn("token", 1)
    clock.now += 10
    pacer.sent("token", at)  # went 10 s after its turn
    assert pacer.turn("token", 1) == 1070.0


def test_the_gate_paces_writes_only_and_holds_a_far_one_as_a_rate_limit(clock: Clock, monkeypatch) -> None:
    from activities import github_gate
    from activities.github import _fail

    monkeypatch.setattr(github_gate, "PACER", WritePacer(clock, window=60))
    monkeypatch.setattr(github_gate, "holder", lambda: "pr/1/run/7")
    github_gate.before_request("token", "POST", "/repos/a/b/issues/1/labels", writes_per_minute=1)
    github_gate.before_request("token", "GET", "/repos/a/b/pulls/1", writes_per_minute=1)  # reads go
    with pytest.raises(github_gate.HeldByRateGate) as held:
        github_gate.before_request("token", "PUT", "/repos/a/b/pulls/1/merge", writes_per_minute=1)
    error = _fail(held.value, "merging a/b#1")
    assert error.type == "GitHubRateLimited" and "pacing GitHub writes" in error.message
    assert error.next_retry_delay is not None and error.next_retry_delay.total_seconds() == 60
    github_gate.before_request("token", "POST", "/repos/a/b/issues/1/labels")  # not paced without a limit


def test_a_remediation_takes_its_turn_before_it_reads_and_its_write_finds_it(
    clock: Clock, monkeypatch
) -> None:
    monkeypatch.setattr("activities.github_pacing.time.sleep", lambda s: pytest.fail(f"slept {s}"))
    pacer = WritePacer(clock, window=60)
    pacer.turn("token", 1)
    with pytest.raises(Held):
        pacer.reserve("token", 1, "pr/1/run/7")  # far: retried at its turn, nothing read yet
    clock.now = 1060.0
    pacer.reserve("token", 1, "pr/1/run/7")  # the retry, at its turn: goes on to read
    pacer.wait_turn("token", 1, "pr/1/run/7")  # its write: the turn it holds, at once
    assert pacer.turn("token", 1) == 1120.0  # one turn taken for the remediation, not two


def test_the_gate_holds_a_remediation_before_it_reads(clock: Clock, monkeypatch) -> None:
    from activities import github_gate

    monkeypatch.setattr(github_gate, "PACER", WritePacer(clock, window=60))
    monkeypatch.setattr(github_gate, "holder", lambda: "pr/1/run/7")
    github_gate.before_writing("token", 1)
    github_gate.before_writing("token", 1)  # the same activity again (a retry): its turn, kept
    monkeypatch.setattr(github_gate, "holder", lambda: "pr/2/run/3")
    with pytest.raises(github_gate.HeldByRateGate) as held:
        github_gate.before_writing("token", 1)  # another: the next turn is a minute away
    assert held.value.headers == {"retry-after": "60"}
