"""Evidence for a fix PR: the fix branch's check runs (or jobs) mapped to signals, and Mender's own scan.

A check's signal comes from the repository's mapping (`fix_prs.checks`: exact names or globs) first,
then from words in its name (`DEFAULT_CHECK_WORDS`); a check that maps to nothing is still a required
check when it is listed as one. A signal is PASSED when every check giving it succeeded, FAILED when
one did not, MISSING when no check gives it, ABSENT when the repository says it has no such signal.
Tests pass only when the job that failed in the original run passes too (when it ran). Security also
counts Mender's own findings: any finding fails it, a high or critical one blocks every automatic merge.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from enum import StrEnum

from pydantic import Field

from domain.ci_healing.fixpr_config import DEFAULT_CHECK_WORDS, Signal
from domain.shared.models import Frozen

PASSING = ("success", "neutral", "skipped")
BLOCKING_SEVERITIES = ("high", "critical")


class SignalState(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    MISSING = "missing"  # no check gives it: counts 0
    ABSENT = "absent"  # the repository has no such signal: left out, the weights renormalise


class CheckResult(Frozen):
    """One finished (or still running) check run or job on the fix branch's head."""

    name: str
    conclusion: str | None = None  # None while it runs
    required: bool = False

    @property
    def passed(self) -> bool:
        return self.conclusion in PASSING


class Finding(Frozen):
    """One problem Mender's own scan found in the change."""

    tool: str  # osv, pip-audit, bandit
    id: str
    target: str  # package==version, or path:line
    severity: str = "unknown"  # low, medium, high, critical, unknown
    summary: str = ""

    @property
    def blocking(self) -> bool:
        return self.severity.lower() in BLOCKING_SEVERITIES


class ScanReport(Frozen):
    """What Mender's own scan of the fix branch found; `ran` False when it could not run (and why)."""

    ran: bool
    findings: list[Finding] = Field(default_factory=list)
    scanned: list[str] = Field(default_factory=list)  # the changed files scanned
    detail: str = ""


class Evidence(Frozen):
    """Every signal's state, with the checks and findings behind it."""

    signals: dict[Signal, SignalState]
    checks: dict[Signal, list[str]] = Field(default_factory=dict)  # signal -> the check names behind it
    findings: list[Finding] = Field(default_factory=list)
    required_passed: bool = True
    notes: list[str] = Field(default_factory=list)

    @property
    def blocking_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


def signal_of(name: str, mapping: dict[Signal, list[str]]) -> Signal | None:
    """The signal a check named `name` gives: the repository's mapping first, then the default words."""
    lowered = name.lower()
    for signal, patterns in mapping.items():
        if any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns):
            return signal
    words = set(re.split(r"[^a-z0-9]+", lowered))
    for signal, known in DEFAULT_CHECK_WORDS.items():
        if words & set(known):
            return signal
    return None


def collect(
    checks: list[CheckResult],
    mapping: dict[Signal, list[str]],
    absent: list[Signal],
    scan: ScanReport | None,
    failed_jobs: Sequence[str] = (),
) -> Evidence:
    """The evidence of finished `checks` plus Mender's `scan` (None: not run)."""
    by_signal: dict[Signal, list[CheckResult]] = {}
    for check in checks:
        if (signal := signal_of(check.name, mapping)) is not None:
            by_signal.setdefault(signal, []).append(check)
    notes: list[str] = []
    for job in failed_jobs:
        original = next((c for c in checks if c.name == job), None)
        if original is None:
            notes.append(f"the job that failed ({job}) did not run on the fix branch")
        elif signal_of(original.name, mapping) is not Signal.TESTS:
            by_signal.setdefault(Signal.TESTS, []).append(original)  # the job that failed must now pass
    signals: dict[Signal, SignalState] = {}
    for signal in Signal:
        found = by_signal.get(signal, [])
        if signal in absent and not found:
            signals[signal] = SignalState.ABSENT
        elif not found:
            signals[signal] = SignalState.MISSING
        else:
            signals[signal] = SignalState.PASSED if all(c.passed for c in found) else SignalState.FAILED
    findings = list(scan.findings) if scan is not None else []
    if scan is not None and scan.ran:
        if findings:
            signals[Signal.SECURITY] = SignalState.FAILED
        elif signals[Signal.SECURITY] in (SignalState.MISSING, SignalState.ABSENT):
            signals[Signal.SECURITY] = SignalState.PASSED
    elif scan is not None:
        notes.append(f"Mender's scan did not run: {scan.detail}")
    return Evidence(
        signals=signals,
        checks={s: [c.name for c in found] for s, found in by_signal.items()},
        findings=findings,
        required_passed=all(c.passed for c in checks if c.required),
        notes=notes,
    )


GITLAB_CONCLUSIONS = {
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "skipped": "skipped",
}


def check_of(payload: dict[str, object], required: frozenset[str] = frozenset()) -> CheckResult | None:
    """A check from one API or webhook object: a GitHub check run or Actions job (`name`, `status`,
    `conclusion`), or a GitLab job (`name`, `status`; `build_name`, `build_status` in job hooks).
    None when it has no name."""
    name = payload.get("name") or payload.get("build_name")
    if not isinstance(name, str) or not name:
        return None
    if "conclusion" in payload:
        status, conclusion = payload.get("status"), payload.get("conclusion")
        done = status == "completed" and isinstance(conclusion, str)
        return CheckResult(name=name, conclusion=conclusion if done else None, required=name in required)
    status = payload.get("status") or payload.get("build_status")
    mapped = GITLAB_CONCLUSIONS.get(status) if isinstance(status, str) else None
    if mapped == "failure" and payload.get("allow_failure") is True:
        mapped = "neutral"  # an allowed failure does not fail the pipeline
    return CheckResult(name=name, conclusion=mapped, required=name in required)
