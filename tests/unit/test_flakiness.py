"""Flakiness from history: the failed tests a log names (runner markers) and each test's score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ci_healing.failed_tests import MAX_TESTS, FailedTest, read_failed_tests
from domain.ci_healing.flakiness import (
    FlakyConfig,
    TestOutcome,
    same_failure,
    score_test,
    times_out,
)

MARKERS = [
    "FAILED t.py::",
    "--- FAIL: ",
    "  \u25cf A \u203a ",
    "[ERROR]   A.b:1 ",
    "A > b FAILED",
    "t(A)  Time elapsed: 1 <<< FAILURE!",
]
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
CONFIG = FlakyConfig()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["2026-03-01T12:00:01.1234567Z FAILED tests/test_cart.py::test_total - AssertionError: 3 != 4"],
            [("tests/test_cart.py::test_total", "AssertionError: 3 != 4")],
        ),
        (["tests/test_io.py::test_read FAILED                [ 50%]"], [("tests/test_io.py::test_read", "")]),
        (
            ["--- FAIL: TestDial (5.01s)", "    dial_test.go:41: dial tcp 127.0.0.1:4242: i/o timeout"],
            [("TestDial", "dial_test.go:<port>: dial tcp 127.0.0.1:<port>: i/o timeout")],
        ),
        (
            ["  ● Cart \u203a adds an item", "", "    expect(received).toBe(expected) // Object.is equality"],
            [("Cart \u203a adds an item", "expect(received).toBe(expected) // Object.is equality")],
        ),
        (
            [
                "testTotal(com.acme.CartTest)  Time elapsed: 0.011 s  <<< FAILURE!",
                "java.lang.AssertionError: expected:<3> but was:<4>",
            ],
            [("com.acme.CartTest.testTotal", "java.lang.AssertionError: expected:<3> but was:<4>")],
        ),
        (
            ["[ERROR]   CartTest.testTotal:42 expected:<3> but was:<4>"],
            [("CartTest.testTotal", "expected:<3> but was:<4>")],
        ),
        (["CartTest > testTotal FAILED", "    java.lang.AssertionError at CartTest.java:12"], None),
        (["ERROR: build failed", "npm ERR! Test failed.  See above for more details."], []),
    ],
)
def test_failed_tests_are_read_from_runner_markers(lines: list[str], expected: list | None) -> None:
    found = [(f.test, f.signature) for f in read_failed_tests(lines)]
    if expected is None:  # Gradle: the class and method, the message from the next line
        assert found == [("CartTest.testTotal", "java.lang.AssertionError at CartTest.java:<port>")]
    else:
        assert found == expected


def test_the_same_failure_on_a_rerun_has_the_same_signature() -> None:
    first = read_failed_tests(["FAILED t.py::test_a - TimeoutError: waited 5.02s for 0x7f00aa12 at 12:00:01"])
    again = read_failed_tests(["FAILED t.py::test_a - TimeoutError: waited 6.10s for 0x7f99bb34 at 12:09:44"])
    other = read_failed_tests(["FAILED t.py::test_a - KeyError: 'total'"])
    assert same_failure(first, again) == ["t.py::test_a"]
    assert same_failure(first, other) == []
    assert times_out(first[0]) and not times_out(other[0])


def test_a_log_naming_many_tests_keeps_a_bounded_number() -> None:
    lines = [f"FAILED t.py::test_{i} - x" for i in range(MAX_TESTS * 3)]
    assert len(read_failed_tests(lines)) == MAX_TESTS
    assert len(read_failed_tests(["FAILED t.py::" + "x" * 5000])[0].test) <= 300


def outcome(passed: bool, minutes: float = 0, sha: str = "a", attempt: int = 1, on_base: bool = False):
    return TestOutcome(
        project="acme/api",
        test="t.py::test_a",
        run_key=f"github/acme/api/{sha}",
        attempt=attempt,
        sha=sha,
        on_base=on_base,
        passed=passed,
        at=T0 + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    ("history", "flaky", "low", "high"),
    [
        ([outcome(False)], False, 0.0, 0.3),  # one failure: not flaky, below any fix threshold
        ([outcome(False), outcome(True, 5, attempt=2)], True, 0.29, 0.31),  # failed then passed: a flip
        (  # a flip on two commits: above the fix threshold
            [outcome(False), outcome(True, 5, attempt=2), outcome(False, 60, "b"), outcome(True, 65, "b", 2)],
            True,
            0.49,
            0.51,
        ),
        (  # passed then failed on one commit is not a flip
            [outcome(True), outcome(False, 5, attempt=2)],
            False,
            0.0,
            0.3,
        ),
        (  # fails on a branch and on the base branch for another commit within 24 h
            [outcome(False, 0, "b", on_base=True), outcome(False, 600, "c")],
            True,
            0.29,
            0.31,
        ),
        (  # the base-branch failure was more than 24 h earlier
            [outcome(False, 0, "b", on_base=True), outcome(False, 25 * 60, "c")],
            False,
            0.0,
            0.3,
        ),
        (  # 3 failures in 10 runs: rate 0.3 over >= 10 runs
            [outcome(i >= 3, i, f"s{i}") for i in range(10)],
            True,
            0.29,
            0.31,
        ),
        ([outcome(i >= 2, i, f"s{i}") for i in range(10)], False, 0.19, 0.21),  # 2 of 10: below the rate
        ([outcome(False, i, f"s{i}") for i in range(4)], False, 0.0, 0.3),  # 4 of 4 but too few runs
    ],
)
def test_the_score_follows_the_history(history: list, flaky: bool, low: float, high: float) -> None:
    scored = score_test("acme/api", "t.py::test_a", history, CONFIG)
    assert scored.flaky is flaky, scored.reasons
    assert low <= scored.score <= high, scored
    assert scored.runs == len(history)


def test_the_rate_rule_reads_the_configured_thresholds() -> None:
    history = [outcome(i >= 2, i, f"s{i}") for i in range(5)]  # 2 of 5 failed
    strict = score_test("acme/api", "t", history, CONFIG)
    loose = score_test("acme/api", "t", history, FlakyConfig(min_runs=5, min_rate=0.4))
    assert not strict.flaky and loose.flaky and "failed 2 of its last 5 runs" in loose.reasons


def test_no_history_scores_nothing() -> None:
    assert score_test("acme/api", "t", [], CONFIG).runs == 0
    assert same_failure([], [FailedTest(test="t")]) == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=300), st.sampled_from(MARKERS).map(lambda m: m + "x" * 40)), max_size=80
    )
)
def test_any_log_text_gives_a_bounded_answer_never_a_crash(lines: list[str]) -> None:
    found = read_failed_tests(lines)
    assert len(found) <= MAX_TESTS
    assert all(0 < len(f.test) <= 300 and len(f.signature) <= 300 for f in found)


def test_invalid_utf8_binary_and_one_line_logs_are_read_safely() -> None:
    binary = bytes(range(256)).decode("utf-8", "replace")
    assert read_failed_tests([binary, "\x00" * 10_000, "FAILED " + "\ufffd" * 10]) == []
    one_line = "FAILED t.py::test_a - " + "y" * 1_000_000
    [only] = read_failed_tests([one_line])
    assert only.test == "t.py::test_a" and len(only.signature) <= 300
