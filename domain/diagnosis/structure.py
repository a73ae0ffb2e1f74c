"""The structure of a CI log: where steps start, which ended with a non-zero exit, and summary lines.

A log is a sequence of steps (a GitHub Actions `##[group]Run ...`, a Travis or GitLab `$ command`, a GitLab
`section_start`, a Jenkins `[Pipeline] { (stage)`, an Azure `##[section]Starting:`, a Maven plugin goal
`[INFO] --- plugin:goal ---`, a Gradle `> Task :name`, an npm script `> pkg@1.0 test`). A step fails when
an exit line in it reports a non-zero status (`The command "mvn test" exited with 1.`, `##[error]Process
completed with exit code 1.`, `ERROR: script returned exit code 2`, `> Task :test FAILED`, `BUILD
FAILURE` ...). The failing step is searched first for the cause.

Summary lines (exit lines, `npm ERR! Test failed`, `FAILURES!`, `Tests run: 3, Failures: 1`, `make: ***
[all] Error 2`, ...) tell that something failed, not what: they mark a failure but are poor key lines,
and the detail they summarise comes before them. `StepTracker` follows the steps of a streamed log in
bounded memory (at most `MAX_STEPS` step records; the middle of a longer list is forgotten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_STEPS = 400

_HEADER = re.compile(
    r"^##\[group\](?P<gh>Run .+)"
    r"|^(?P<ui>Run (?![\d\s:])(?!.* (?:for|to|the|and|with) )\S.*[^.:])$"
    r"|section_start:\d+:(?P<gl>[A-Za-z0-9_.-]+)"
    r"|^\$ (?P<cmd>\S.*)"
    r"|^\[Pipeline\] \{ \((?P<jk>[^)]+)\)"
    r"|^##\[section\]Starting: (?P<az>.+)"
    r"|^\[INFO\] --- (?P<mvn>[\w.-]+:[\w.-]+:[\w.-]+ .*?)\s*---$"
    r"|^> Task (?P<gradle>:\S+)(?: FAILED)?$"
    r"|^> (?P<npm>[@\w./-]+@\S+ [\w:.-]+)(?: \S+)?$"
)
# Lines that end a step with a status (group `status`), or say that the current step failed.
_EXIT = re.compile(
    r"The command \".*\" (?:exited|failed and exited) with (?P<status>\d+)"
    r"|Process completed with exit code (?P<gh>\d+)"
    r"|script returned exit code (?P<jk>\d+)"
    r"|\bJob failed: exit (?:code|status) (?P<gl>\d+)"
    r"|\bCommand (?:exited|failed) with (?:exit )?(?:code|status) (?P<cmd>\d+)"
    r"|^> Task (?P<task>:\S+) FAILED$"
    r"|^npm ERR! Exit status (?P<npm>\d+)|^ERROR: \"[\w:.-]+\" exited with (?P<runall>\d+)"
)
_SUMMARY = re.compile(
    r"(?i)exited with (?:code |status )?\d+|exit (?:code|status) \d+|returned (?:a )?non-zero|returned \d+ exit status"
    r"|Process completed with|script returned exit code|^Done\. Your build exited"
    r"|^npm ERR!(?:\s*$| (?:Test failed|code E?LIFECYCLE|errno|Exit status|Failed at the|This is probably"
    r"|A complete log|[\w@/.-]+ \w+: `|missing script|Tell the author|You can get|There is likely|Make sure"
    r"|not with npm|\s+/\S+\.log$|network (?:This is|and is related|In most cases|If you are behind|'proxy'|$)))"
    r"|^error Command failed with exit code|^info Visit https://yarnpkg"
    r"|\bBUILD FAIL(?:URE|ED)\b|^FAILURES!|^FAILED \(|^Tests run: \d+, Failures: \d+"
    r"|^\[ERROR\] Tests run: \d+, Failures|There (?:are|were) test failures"
    r"|^\[ERROR\] -> \[Help|^\[ERROR\] (?:To see the full|Re-run Maven|For more information|$)"
    r"|^make(?:\[\d+\])?: \*\*\* .*Error \d+|^\* What went wrong:|^Execution failed for task"
    r"|^Test Suites: \d+ failed|^Tests: +\d+ failed|^test result: FAILED|error: test failed, to rerun"
    r"|^FAIL\s*$|^FAIL\t\S+\s+[\d.]+s$|^ERROR: Job failed|^\d+ failing$|^=+ .*\b\d+ (?:failed|errors?)\b.* =+$"
    r"|^Error: Process completed|^##\[error\]Process completed|^Ran \d+ tests? in|^The job (?:running|exceeded)"
    r"|^Failed tests?:\s*$|^Tests in error:\s*$|^Failing tests?:?\s*$|^error: could not compile .* due to"
    r"|^Error: Tests failed|^\d+ (?:tests? )?failed\b|^\s*\d+ examples?, \d+ failures?"
    r"|\b\d+ problems? \(\d+ errors?, \d+ warnings?\)|\brecipe for target .* failed$"
    r"|^\[ERROR\]\s*(?:\[Help \d+\].*)?$|\*\*\* FAILED test case \d+ of \d+ \*\*\*"
    # tallies: `5 ok, 1 failed of 6 test cases`, `1 failures, 0 errors.`, `Executed 9 of 9 (1 FAILED)`
    r"|\b\d+ (?:ok|passed|passing|succeeded)\b,? \d+ (?:failed|failures?|errors?)\b|\bfailed of \d+ tests?\b"
    r"|^\d+ failures?, \d+ errors?\.?$|\bExecuted \d+ of \d+ .*\(\d+ FAILED\)|^Tests failed\.?$"
    # sbt and R CMD check epilogues: `[error] (test:test) sbt.TestsFailedException`, `Status: 1 ERROR`
    r"|^\[error\] (?:\([\w:/ -]+\) |Total time:|Failed: Total \d+|Error: Total \d+|Failed tests:|Error during tests:)"
    r"|^Status: \d+ (?:ERROR|WARNING|NOTE)"
    # Maven's closing goal line when it only counts what the [ERROR] lines above it said
    r"|^\[ERROR\] Failed to execute goal .*(?:: Compilation failure|You have \d+ \w+ violations?|\d+ \w*\s?violations?)"
)


def shown(body: str) -> str:
    """What a terminal shows of a line: the text after its last carriage return (Travis writes markers
    and the command on one line: `travis_time:start:1a2b\r\x1b[0K$ make test`)."""
    if "\r" not in body:
        return body
    parts = [part for part in body.split("\r") if part.strip()]
    return parts[-1] if parts else ""


_SETUP_STEP = re.compile(
    r"(?i)\b(?:npm (?:ci|install)|yarn(?: install)?$|pnpm install|pip3? install|poetry install|uv sync"
    r"|bundle install|composer install|conda (?:install|env)|apt(?:-get)? (?:update|install)|brew install"
    r"|go mod download|cargo fetch|dependency:(?:resolve|go-offline)|docker pull|actions/(?:checkout|setup-|cache)"
    r"|install(?:ing)? dependencies|set up job|get_sources|prepare_(?:executor|script)|restore_cache"
    r"|download_artifacts)\b"
)


def step_role(name: str | None) -> str:
    """`setup` for a step that installs or fetches what the build needs (dependencies, tools, sources),
    else `run`: a network error while installing is the network's; while testing it may be the test's."""
    return "setup" if name and _SETUP_STEP.search(name) else "run"


def header_name(body: str) -> str | None:
    """The step a header line starts (`Run npm test`, `step_script`, `npm test`, `:app:test`), else None."""
    if "section_start:" not in body:
        body = shown(body)
        if body[:1] not in ("$", "R", "[", "#", ">"):
            return None
    found = _HEADER.search(body)
    if found is None:
        return None
    name = next(value for value in found.groupdict().values() if value is not None)
    return name.strip()[:200] or None


def exit_status(body: str) -> int | None:
    """The status an exit line reports (1 for a failed Gradle task), else None."""
    if "exit" not in body and "FAILED" not in body and "fail" not in body:
        return None
    found = _EXIT.search(shown(body))
    if found is None:
        return None
    if found.group("task"):
        return 1
    return int(next(value for name, value in found.groupdict().items() if value and name != "task"))


def is_summary(body: str) -> bool:
    """A line that says that something failed without saying what (exit codes, tallies, npm epilogues)."""
    return _SUMMARY.search(shown(body).strip()) is not None


def is_marker(body: str) -> bool:
    """A line the CI system writes around steps (folds, timers, headers, exit lines), or a blank one."""
    text = shown(body).strip()
    return (
        not text
        or text.startswith(("travis_", "##[", "section_", "[Pipeline]", "$ ", "Done. Your build"))
        or header_name(text) is not None
        or exit_status(text) is not None
    )


@dataclass
class Step:
    """One step of a log: its header line number and name, and the first failing exit seen in it."""

    index: int
    name: str | None
    start: int
    end: int | None = None
    status: int | None = None  # the first non-zero exit status reported in it
    status_line: int | None = None
    succeeded: bool = False  # it reported exit status 0 (and no other)

    @property
    def failed(self) -> bool:
        return self.status is not None


class StepTracker:
    """Follows the steps of a streamed log (feed the redacted, ANSI-free bodies of lines in order)."""

    def __init__(self) -> None:
        self.steps: list[Step] = [Step(0, None, 1)]

    @property
    def current(self) -> Step:
        return self.steps[-1]

    def observe(self, body: str, number: int) -> None:
        """Note a header (a new step) or an exit line (the current step's status)."""
        name = header_name(body)
        if name is not None:
            self.current.end = number - 1
            self.steps.append(Step(self.current.index + 1, name, number))
            if shown(body).endswith(" FAILED"):
                self.current.status, self.current.status_line = 1, number
            if len(self.steps) > MAX_STEPS:
                self._forget()
            return
        status = exit_status(body)
        if status and not self.current.failed:
            self.current.status, self.current.status_line = status, number
            self.current.succeeded = False
        elif status == 0 and not self.current.failed:
            self.current.succeeded = True

    def _forget(self) -> None:
        """Drop a passing step from the middle (the first steps and failing ones are kept)."""
        for position in range(MAX_STEPS // 2, len(self.steps) - 1):
            if not self.steps[position].failed:
                del self.steps[position]
                return
        del self.steps[MAX_STEPS // 2]

    def failing(self) -> Step | None:
        """The first step that ended with a non-zero exit, else None."""
        return next((step for step in self.steps if step.failed), None)
