"""The reconciler's look back at closed bot PRs (`activities/reconcile_closed.py`), as tables: how far
back it lists, where it stops paging, which PRs it records and with which events; and when a
`mender simulate` run counts a PR as settled (`starter/simulate.unsettled_prs`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from activities.reconcile_closed import ClosedPR, ending_events, lookback_seconds, unrecorded, updated_since
from domain.config import ReconcilerConfig
from domain.pr_healing.events import EventSource, EventType, PRRef
from domain.pr_healing.facts import closed_key, merged_key, opened_key
from starter.simulate import unsettled_prs

NOW = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lookback", "interval", "expected"),
    [
        (3600, 10, 3600),  # the configured window
        (60, 300, 600),  # never less than two sweep intervals: a PR ended after a sweep is in the next
        (0, 300, 0),  # off
    ],
)
def test_the_window_is_at_least_two_sweep_intervals(
    lookback: float, interval: float, expected: float
) -> None:
    config = ReconcilerConfig(closed_lookback_seconds=lookback, interval_seconds=interval)
    assert lookback_seconds(config) == expected


class Paged:
    """A lazily paged list (as PyGithub's): counts the items read, so the test sees where reading stopped."""

    def __init__(self, ages: list[float | None]) -> None:
        self.ages, self.read = ages, 0

    def __iter__(self) -> Iterator[datetime | None]:
        for age in self.ages:
            self.read += 1
            yield None if age is None else NOW - timedelta(seconds=age)


@pytest.mark.parametrize(
    ("ages", "kept", "read"),
    [
        ([], 0, 0),
        ([5, 30, 59], 3, 3),  # all within 60 s
        ([5, 30, 61, 2, 3], 2, 3),  # stops at the first older one: the rest is never read (nor paged)
        ([61, 5], 0, 1),
        ([5, 60], 2, 2),  # exactly at the edge: kept
        ([None, 5, 90], 2, 3),  # no time: kept, the walk goes on
    ],
)
def test_the_walk_stops_at_the_first_pr_updated_before_the_window(
    ages: list[float | None], kept: int, read: int
) -> None:
    pages = Paged(ages)
    found = list(updated_since(pages, NOW - timedelta(seconds=60), lambda at: at))
    assert (len(found), pages.read) == (kept, read)


def test_a_naive_time_is_read_as_utc() -> None:
    naive = (NOW - timedelta(seconds=30)).replace(tzinfo=None)
    old = (NOW - timedelta(seconds=90)).replace(tzinfo=None)
    assert list(updated_since([naive, old], NOW - timedelta(seconds=60), lambda at: at)) == [naive]


def closed(number: int, merged: bool = True) -> ClosedPR:
    return ClosedPR(
        pr=PRRef(repo="acme/api", number=number),
        author="dependabot[bot]",
        head_sha=f"{number:040x}",
        merged=merged,
        merge_commit_sha="m" * 40 if merged else None,
        closed_at="2026-12-07T20:59:00Z",
        updated_at="2026-12-07T20:59:01Z",
    )


@pytest.mark.parametrize(
    ("state", "recorded"),
    [
        ("absent", True),  # never tracked: its opening webhook was lost
        (None, True),  # a row without a state
        ("CHECKS_RUNNING", True),  # tracked, but its end was not seen
        ("NEEDS_INTERVENTION", True),
        ("MERGED", False),
        ("CLOSED", False),
    ],
)
def test_only_prs_whose_end_mender_has_not_recorded_are_taken(state: str | None, recorded: bool) -> None:
    states = {} if state == "absent" else {"acme/api#7": state}
    assert unrecorded([closed(7)], states) == ([closed(7)] if recorded else [])


@pytest.mark.parametrize(
    ("merged", "end", "key"),
    [
        (True, EventType.MERGED, merged_key("m" * 40, "2026-12-07T20:59:00Z")),
        (False, EventType.CLOSED, closed_key("2026-12-07T20:59:00Z")),
    ],
)
def test_the_events_are_keyed_as_the_webhooks_would_be(merged: bool, end: EventType, key: str) -> None:
    opened, ending = ending_events(closed(7, merged), NOW)
    assert (opened.type, opened.key) == (EventType.OPENED, opened_key(f"{7:040x}"))
    assert (ending.type, ending.key) == (end, key)  # a late webhook of the end is then a duplicate
    assert {opened.source, ending.source} == {EventSource.RECONCILER}
    assert ending.github_at == datetime(2026, 12, 7, 20, 59, 1, tzinfo=UTC)


def sim_pr(number: int, state: str) -> dict[str, object]:
    return {"repo": "acme/api", "number": number, "state": state}


@pytest.mark.parametrize(
    ("state", "mender", "waits"),
    [
        ("merged", None, True),  # merged on GitHub, never tracked: the reconciler has yet to record it
        ("merged", "APPROVED", True),
        ("merged", "MERGED", False),
        ("closed", None, True),
        ("closed", "CLOSED", False),
        ("open", None, True),
        ("open", "CHECKS_RUNNING", True),
        ("open", "NEEDS_INTERVENTION", False),  # with a human: settled for the run
    ],
)
def test_a_simulation_waits_for_every_pr_to_end_in_mender_too(
    state: str, mender: str | None, waits: bool
) -> None:
    states = {} if mender is None else {"acme/api#1": mender}
    assert bool(unsettled_prs([sim_pr(1, state)], states, expected=1)) is waits


def test_a_simulation_does_not_wait_for_mender_to_record_a_pr_it_does_not_follow() -> None:
    prs = [{**sim_pr(1, "merged"), "author": "alice", "head_ref": "feature"}]
    assert unsettled_prs(prs, {}, expected=1, tracks=lambda author, ref: author.endswith("[bot]")) == []
    prs = [{**sim_pr(1, "merged"), "author": "dependabot[bot]", "head_ref": "deps"}]
    assert unsettled_prs(prs, {}, expected=1, tracks=lambda author, ref: author.endswith("[bot]"))


def test_a_simulation_waits_for_prs_not_opened_yet() -> None:
    assert unsettled_prs([sim_pr(1, "merged")], {"acme/api#1": "MERGED"}, expected=2) == [
        "1 PRs not opened yet"
    ]
