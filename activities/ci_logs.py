"""Diagnose failed jobs' logs as they stream in: redact, distill, scan the playbooks. Bounded memory."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from domain.ci_healing.config import CIConfig
from domain.ci_healing.failed_tests import FailedTest, FailedTests
from domain.ci_healing.second_opinion import passing_diff
from domain.diagnosis.baseline import PassingRun
from domain.diagnosis.distill import DistilledLog
from domain.diagnosis.engine import diagnose
from domain.diagnosis.playbooks import Playbooks, default_playbooks, load_playbooks
from domain.diagnosis.reading import LogFile
from domain.diagnosis.verdict import Diagnosis, Source
from domain.shared.redaction import Redactor

if TYPE_CHECKING:
    from contracts.ci import RunAnalysis

MAX_JOBS_READ = 5
log = logging.getLogger(__name__)
_cache: dict[tuple[str, float], Playbooks] = {}
_lock = threading.Lock()


def playbooks_for(config: CIConfig) -> Playbooks:
    """The configured playbooks directory (reloaded when it changes), else the shipped playbooks."""
    directory = Path(config.playbooks_dir)
    if not directory.is_dir():
        return default_playbooks()
    stamp = max((p.stat().st_mtime for p in directory.glob("*.y*ml")), default=0.0)
    with _lock:
        key = (str(directory.resolve()), stamp)
        if key not in _cache:
            _cache.clear()
            _cache[key] = load_playbooks(directory)
        return _cache[key]


def redactor_for(config: CIConfig, secret_values: Iterable[str] = ()) -> Redactor:
    """A redactor that also masks the configured secret environment variables' values and `secret_values`
    (e.g. the CI provider's masked variables)."""
    values = [os.environ[name] for name in config.secret_env_vars if os.environ.get(name)]
    return Redactor(secret_values=[*values, *secret_values])


HEARTBEAT_SECONDS = 10.0  # `ci.analyse` runs with a 2-minute heartbeat timeout


def heartbeat(last: float) -> float:
    """Tell Temporal the activity still works (at most every HEARTBEAT_SECONDS); the time it did."""
    now = time.monotonic()
    if now - last < HEARTBEAT_SECONDS:
        return last
    from temporalio import activity  # here, not at the top: `mender diagnose` does without Temporal

    if activity.in_activity():
        activity.heartbeat()
    return now


def lines_of(chunks: Iterable[bytes]) -> Iterator[str]:
    """Split a stream of byte chunks into text lines without holding more than one line; a long read
    heartbeats as it goes."""
    pending = b""
    beat = time.monotonic()
    for chunk in chunks:
        beat = heartbeat(beat)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", errors="replace").rstrip("\r")


PassingLogs = Callable[[str], Iterable[str] | None]  # job name -> the lines of its last passing run


def passing_run(lines: Iterable[str] | None, job: str) -> PassingRun | None:
    """The passing run's error-like lines, or None when there is none or it cannot be read (logged: the
    diagnosis goes on without it)."""
    if lines is None:
        return None
    try:
        return PassingRun.from_lines(lines)
    except Exception as exc:  # a passing log that cannot be read only weakens the diagnosis
        log.warning("passing run of job %r not read (%s): diagnosing without it", job, type(exc).__name__)
        return None


@dataclass
class JobsRead:
    """The failed jobs' logs, read: the best diagnosis, its distilled log, the jobs, the failed tests
    they name and the error-like lines of the distilled log that the last passing run lacks."""

    diagnosis: Diagnosis
    distilled: DistilledLog
    names: list[str]
    failed_tests: list[FailedTest]
    passing_diff: list[str]


def _watched(lines: Iterable[str], tests: FailedTests) -> Iterable[str]:
    """`lines`, read for failed tests on the way; a `LogFile` (the CLI's) keeps its fast block scan and
    is not read for failed tests."""
    return lines if isinstance(lines, LogFile) else _observed(lines, tests)


def _observed(lines: Iterable[str], tests: FailedTests) -> Iterator[str]:
    for line in lines:
        tests.observe(line)
        yield line


def read_jobs(
    jobs: Iterable[tuple[str, Iterable[str]]],
    provider: str,
    config: CIConfig,
    secret_values: Iterable[str] = (),
    passing: Iterable[str] | None = None,
    passing_logs: PassingLogs | None = None,
) -> JobsRead:
    """The most confident diagnosis over the failed jobs' logs (job name, lines), at most MAX_JOBS_READ.
    `passing`: the lines of a passing run shared by every job; `passing_logs`: per job, the lines of the
    last passing run of that job (lines it prints too are not taken for the cause)."""
    shared = passing_run(passing, "*")
    playbooks, best = playbooks_for(config), None
    secret_values = tuple(secret_values)
    names: list[str] = []
    tests = FailedTests()
    for index, (name, lines) in enumerate(jobs):
        if index >= MAX_JOBS_READ:
            break
        names.append(name)
        redactor = redactor_for(config, secret_values)
        baseline = shared or (passing_run(passing_logs(name), name) if passing_logs else None)
        diagnosis, distilled = diagnose(
            _watched(lines, tests),
            provider=provider,
            playbooks=playbooks,
            redactor=redactor,
            max_lines=config.distill_max_lines,
            baseline=baseline,
        )
        if best is None or _rank(diagnosis) > _rank(best[0]):
            best = (diagnosis, distilled, baseline)
    clean = redactor_for(config, secret_values).line
    failed = [
        t.model_copy(update={"test": clean(t.test), "signature": clean(t.signature)}) for t in tests.failures
    ]
    if best is None:
        diagnosis, distilled = diagnose([], provider=provider, playbooks=playbooks)
        return JobsRead(diagnosis, distilled, names, failed, [])
    diagnosis, distilled, baseline = best
    diff = passing_diff([*distilled.window, *distilled.other_candidates], baseline.seen) if baseline else []
    return JobsRead(diagnosis, distilled, names, failed, diff)


def _rank(diagnosis: Diagnosis) -> tuple[int, int]:
    return (0 if diagnosis.source is Source.FALLBACK else 1, diagnosis.confidence)


def analyse_jobs(
    jobs: Iterable[tuple[str, Iterable[str]]],
    provider: str,
    config: CIConfig,
    *,
    run_url: str,
    head_branch: str | None,
    head_sha: str | None,
    secret_values: Iterable[str] = (),
    passing_logs: PassingLogs | None = None,
    base_branch: str | None = None,
) -> RunAnalysis:
    """`read_jobs` as the analysis of one run (only redacted, distilled text leaves it)."""
    from contracts.ci import RunAnalysis

    read = read_jobs(jobs, provider, config, tuple(secret_values), passing_logs=passing_logs)
    return RunAnalysis(
        diagnosis=read.diagnosis,
        distilled=read.distilled.text(),
        run_url=run_url,
        failed_jobs=read.names,
        head_branch=head_branch,
        head_sha=head_sha,
        log_bytes=read.distilled.total_bytes,
        base_branch=base_branch,
        failed_step=read.distilled.failed_step,
        failed_tests=read.failed_tests,
        passing_diff=read.passing_diff,
    )
