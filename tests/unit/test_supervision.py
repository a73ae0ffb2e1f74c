"""`mender up`'s restart policy: backoff doubles on crashes in a row, capped, and resets after a stable run."""

from __future__ import annotations

from starter.supervision import RestartPolicy, Restarts


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    restarts = Restarts(RestartPolicy(first_delay=1, max_delay=5, stable_after=60))
    delays = [restarts.crashed("worker", ran_for=2, now=0) for _ in range(5)]
    assert delays == [1, 2, 4, 5, 5]
    assert restarts.crashed("worker", ran_for=61, now=0) == 1  # it ran a while: start over
    assert restarts.crashed("starter", ran_for=0, now=0) == 1  # each child has its own streak


def test_a_child_is_ready_once_its_delay_is_over_and_only_once() -> None:
    restarts = Restarts()
    restarts.crashed("worker", ran_for=0, now=100)
    assert restarts.waiting("worker") and restarts.ready(100.5) == []
    assert restarts.ready(101) == ["worker"]
    assert restarts.ready(102) == [] and not restarts.waiting("worker")
