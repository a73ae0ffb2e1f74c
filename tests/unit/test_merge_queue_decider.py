"""The merge queue decider as tables: (memory, input) -> (memory, PRs to wake), without Temporal.

Turn requests, releases, the lease timer and a PR that cannot be woken; how long the workflow sleeps
and when an idle queue completes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.pr_healing.merge_queue import TurnRequest
from domain.pr_healing.merge_queue_decider import (
    QueueMemory,
    finished,
    on_release,
    on_request,
    on_timer,
    on_unreachable,
    wait_seconds,
    woken,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE, IDLE = 60.0, 300.0


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ask(m: QueueMemory, n: int, seconds: float = 0, nearness: int = 0) -> QueueMemory:
    req = TurnRequest(pr_number=n, requester=f"pr/acme/api/{n}", nearness=nearness, lease_seconds=LEASE)
    return on_request(m, req, at(seconds))[0]


def drained(m: QueueMemory) -> tuple[QueueMemory, list[str]]:
    sent: list[str] = []
    while True:
        m, requester = woken(m)
        if requester is None:
            return m, sent
        sent.append(requester)


EMPTY = QueueMemory()
HELD = drained(ask(EMPTY, 1))[0]  # PR 1 holds the turn, woken already
TWO = ask(HELD, 2, 1)  # PR 2 waits


@pytest.mark.parametrize(
    ("memory", "pr", "granted", "position", "wakes"),
    [
        pytest.param(EMPTY, 1, True, 0, [], id="first-asks-gets-it"),
        pytest.param(HELD, 1, True, 0, [], id="holder-renews"),
        pytest.param(HELD, 2, False, 1, [], id="second-waits"),
        pytest.param(TWO, 3, False, 2, [], id="third-waits-behind"),
    ],
)
def test_a_turn_request(memory: QueueMemory, pr: int, granted: bool, position: int, wakes: list[str]) -> None:
    req = TurnRequest(pr_number=pr, requester=f"pr/acme/api/{pr}", lease_seconds=LEASE)
    m, turn = on_request(memory, req, at(2))
    assert (turn.granted, turn.position) == (granted, position)
    assert m.wakes == wakes and m.lease_seconds == LEASE


def test_the_nearest_to_merge_goes_first() -> None:
    m = ask(ask(TWO, 3, 2, nearness=5), 4, 3)
    m = on_release(m, 1, at(4))
    assert m.queue.holder is not None and m.queue.holder.pr_number == 3
    assert m.wakes == ["pr/acme/api/3"]


@pytest.mark.parametrize(
    ("pr", "holder", "wakes"),
    [
        pytest.param(1, 2, ["pr/acme/api/2"], id="holder-leaves-next-woken"),
        pytest.param(2, 1, [], id="waiter-leaves"),
        pytest.param(9, 1, [], id="stranger-changes-nothing"),
    ],
)
def test_a_release(pr: int, holder: int, wakes: list[str]) -> None:
    m = on_release(TWO, pr, at(5))
    assert m.queue.holder is not None and m.queue.holder.pr_number == holder and m.wakes == wakes


def test_a_lease_that_ran_out_passes_the_turn_on() -> None:
    m, expired = on_timer(TWO, at(LEASE - 1))
    assert expired is None and m == TWO
    m, expired = on_timer(TWO, at(LEASE))
    assert expired is not None and expired.pr_number == 1
    assert m.queue.holder is not None and m.queue.holder.pr_number == 2 and m.wakes == ["pr/acme/api/2"]
    assert m.queue.expired == 1


def test_a_pr_that_cannot_be_woken_leaves_and_the_next_is_woken() -> None:
    m = on_release(TWO, 1, at(5))
    m, requester = woken(m)
    assert requester == "pr/acme/api/2" and m.wakes == []
    m = on_unreachable(ask(m, 3, 6), "pr/acme/api/2", at(7))
    assert m.queue.holder is not None and m.queue.holder.pr_number == 3 and m.wakes == ["pr/acme/api/3"]


def test_wakes_are_sent_in_order_once() -> None:
    m = on_release(ask(TWO, 3, 2), 1, at(3))  # 2 gets the turn
    m = on_release(ask(m, 2, 4), 2, at(5))  # 2 asked again (no second wake), then left: 3 gets it
    m, sent = drained(m)
    assert sent == ["pr/acme/api/2", "pr/acme/api/3"] and m.wakes == []


@pytest.mark.parametrize(
    ("memory", "now", "seconds"),
    [
        pytest.param(EMPTY, 0, IDLE, id="idle-waits-to-complete"),
        pytest.param(HELD, 0, LEASE, id="until-the-lease-ends"),
        pytest.param(HELD, LEASE - 10, 10, id="the-rest-of-the-lease"),
        pytest.param(HELD, LEASE + 5, 0.001, id="lease-over-at-once"),
    ],
)
def test_how_long_the_workflow_sleeps(memory: QueueMemory, now: float, seconds: float) -> None:
    assert wait_seconds(memory, at(now), IDLE) == pytest.approx(seconds)


def test_an_idle_queue_completes_only_when_nobody_is_left_to_wake() -> None:
    assert finished(EMPTY) and not finished(HELD)
    left = on_release(on_release(TWO, 1, at(1)), 2, at(2))  # 2 got the turn and left before it was woken
    assert not finished(left) and finished(drained(left)[0])


def test_the_memory_survives_continue_as_new() -> None:
    assert QueueMemory.model_validate_json(TWO.model_dump_json()) == TWO
