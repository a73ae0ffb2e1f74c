"""Flakiness from history, not from wording: per-test outcomes of CI runs and the score they give.

A test is flaky when its history shows one of:
- *flip*: it failed and then passed on the same commit (a re-run healed it);
- *base*: it also failed on the base branch for another commit within `window_hours` of a failure;
- *rate*: it failed in at least `min_rate` of its last runs, over at least `min_runs` runs.

The score (0..1) grows with that evidence: the failure rate (shrunk towards 0 below `min_runs` runs),
0.1 + 0.2 per flip, 0.15 + 0.15 per other base-branch commit that failed it; the highest counts. So one
flip or one other failing commit makes a test flaky at 0.3 (watched, nothing done at the default
thresholds), two flips a fix PR, three a notice. A test with no such evidence scores at most
`NOT_FLAKY_CAP`. Above `ci.flaky.fix_above`
Mender opens a fix PR (raise the timeout or quarantine the test); above `notify_above` it tells the owners.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import Field

from domain.ci_healing.failed_tests import FailedTest
from domain.shared.models import Frozen, Strict

NOT_FLAKY_CAP = 0.3
HISTORY_KEPT = 100  # the newest outcomes of a test that its score is computed on
_TIMEOUT = re.compile(r"(?i)time(?:d)?[ -]?out|deadline exceeded|exceeded .*timeout|took too long")


class FlakyConfig(Strict):
    """`ci.flaky`: when a test counts as flaky and what Mender does about it."""

    enabled: bool = True  # confirm suspected flakes with one re-run and keep the per-test history
    fix_above: float = Field(0.3, ge=0, le=1)  # score above which a fix PR raises the timeout or quarantines
    notify_above: float = Field(0.5, ge=0, le=1)  # score above which the owners are told
    min_runs: int = Field(10, ge=1)
    min_rate: float = Field(0.3, gt=0, le=1)
    window_hours: float = Field(24.0, gt=0)
    owners: list[str] = Field(default_factory=list)  # Slack handles told about a flaky test
    quarantine_file: str = Field(".github/quarantined-tests.txt", min_length=1, max_length=200)


class TestOutcome(Frozen):
    """One test in one attempt of one CI run: failed (with its signature) or passed."""

    __test__ = False  # not a pytest test class

    project: str
    test: str
    run_key: str  # provider/project/run id
    attempt: int = 1
    sha: str = ""
    on_base: bool = False  # the run was on the base (default) branch
    passed: bool
    signature: str = ""
    at: datetime

    @property
    def key(self) -> str:
        """Idempotency key: one outcome per (run, attempt, test)."""
        return f"{self.run_key}#{self.attempt}:{self.test}"[:600]


class TestReport(Frozen):
    """What one attempt of a run says about its tests: the failed ones, and those that passed again."""

    __test__ = False

    project: str
    run_key: str
    attempt: int = 1
    sha: str = ""
    on_base: bool = False
    failed: list[FailedTest] = Field(default_factory=list)
    passed: list[str] = Field(default_factory=list)
    at: datetime

    def outcomes(self) -> list[TestOutcome]:
        common = {"project": self.project, "run_key": self.run_key, "attempt": self.attempt}
        common |= {"sha": self.sha, "on_base": self.on_base, "at": self.at}
        failed = [
            TestOutcome(test=f.test, passed=False, signature=f.signature, **common) for f in self.failed
        ]
        return [*failed, *(TestOutcome(test=t, passed=True, **common) for t in self.passed)]


class FlakeScore(Frozen):
    """A test's flakiness as its history shows it."""

    project: str
    test: str
    score: float = 0.0
    flaky: bool = False
    runs: int = 0
    failures: int = 0
    flips: int = 0  # commits it failed and then passed on
    base_failures: int = 0  # other base-branch commits it failed on within the window of a failure
    reasons: list[str] = Field(default_factory=list)
    last_seen: datetime | None = None


class FlakeHistory(Frozen):
    """The scores of the tests a failed run names (tests never seen before are absent)."""

    scores: list[FlakeScore] = Field(default_factory=list)

    def flaky(self) -> list[FlakeScore]:
        return [s for s in self.scores if s.flaky]

    def top(self) -> FlakeScore | None:
        return max(self.scores, key=lambda s: s.score, default=None)


def _flips(outcomes: list[TestOutcome]) -> int:
    flipped = 0
    for sha in {o.sha for o in outcomes if o.sha}:
        first_failure = min((o.attempt for o in outcomes if o.sha == sha and not o.passed), default=None)
        if first_failure is not None and any(
            o.passed and o.attempt > first_failure for o in outcomes if o.sha == sha
        ):
            flipped += 1
    return flipped


def _base_failures(outcomes: list[TestOutcome], window: timedelta) -> int:
    """Other base-branch commits that failed the test within `window` of a failure on another commit."""
    failures = [o for o in outcomes if not o.passed]
    other_shas = {
        b.sha
        for f in failures
        for b in failures
        if b.on_base and b.sha and b.sha != f.sha and abs(b.at - f.at) <= window
    }
    return len(other_shas)


def score_test(project: str, test: str, history: Iterable[TestOutcome], config: FlakyConfig) -> FlakeScore:
    """The flakiness of `test` from its outcomes (the newest `HISTORY_KEPT` count)."""
    outcomes = sorted(history, key=lambda o: o.at)[-HISTORY_KEPT:]
    runs, failures = len(outcomes), sum(not o.passed for o in outcomes)
    if not runs:
        return FlakeScore(project=project, test=test)
    rate = failures / runs
    flips = _flips(outcomes)
    base = _base_failures(outcomes, timedelta(hours=config.window_hours))
    reasons = []
    if flips:
        reasons.append(f"failed then passed on the same commit ({flips}x)")
    if base:
        reasons.append(
            f"also failed on the base branch for {base} other commit(s) within {config.window_hours:g} h"
        )
    if runs >= config.min_runs and rate >= config.min_rate:
        reasons.append(f"failed {failures} of its last {runs} runs")
    score = max(
        rate * min(1.0, runs / config.min_runs),
        min(1.0, 0.1 + 0.2 * flips) if flips else 0.0,
        min(1.0, 0.15 + 0.15 * base) if base else 0.0,
    )
    flaky = bool(reasons)
    if not flaky:
        score = min(score, NOT_FLAKY_CAP)
    return FlakeScore(
        project=project,
        test=test,
        score=round(score, 3),
        flaky=flaky,
        runs=runs,
        failures=failures,
        flips=flips,
        base_failures=base,
        reasons=reasons,
        last_seen=outcomes[-1].at,
    )


def same_failure(before: list[FailedTest], after: list[FailedTest]) -> list[str]:
    """The tests that failed again the same way (same normalised message) on a re-run."""
    signatures = {f.test: f.signature for f in before}
    return [f.test for f in after if f.test in signatures and signatures[f.test] == f.signature]


def times_out(failure: FailedTest, key_line: str = "") -> bool:
    """The failure is a timeout: a longer timeout is the fix, not a quarantine."""
    return bool(_TIMEOUT.search(failure.signature) or _TIMEOUT.search(key_line))
