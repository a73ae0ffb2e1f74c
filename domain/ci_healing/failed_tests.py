"""The tests a failed CI log names as failed, and how each failed: read from runner markers, bounded.

Markers (after ANSI codes and CI timestamp prefixes are removed):
- pytest: `FAILED tests/x.py::test_a - AssertionError: ...` (short summary) or `tests/x.py::test_a FAILED`
- go test: `--- FAIL: TestName (0.01s)`, the message on the next indented line
- jest: `● Suite \u203a test name`, the message on the next non-blank line
- JUnit (Maven Surefire): `testName(com.acme.FooTest)  Time elapsed: 0.1 s  <<< FAILURE!` and the
  summary `[ERROR]   FooTest.testName:42 expected:<1> but was:<2>`; Gradle `FooTest > testName FAILED`

A failure's *signature* is its message normalised (`domain.diagnosis.baseline.normalise`: times, hashes,
temporary paths, ports and numbers replaced), so the same failure on a re-run compares equal. At most
`MAX_TESTS` tests per log are kept; each test id and signature is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.diagnosis.baseline import normalise
from domain.diagnosis.reading import body_of
from domain.shared.models import Frozen

MAX_TESTS = 50
MAX_TEST_ID = 300
MAX_SIGNATURE = 300

_PYTEST_SUMMARY = re.compile(r"^FAILED (?P<test>\S+::\S+?)(?: - (?P<message>.*))?$")
_PYTEST_VERBOSE = re.compile(r"^(?P<test>\S+\.py::\S+) FAILED\b")
_GO = re.compile(r"^\s*--- FAIL: (?P<test>\S+) \(")
_JEST = re.compile(r"^\s*● (?P<test>.+\u203a.+?)\s*$")
_SUREFIRE = re.compile(
    r"^(?:\[ERROR\]\s+)?(?P<method>[\w$]+)\((?P<cls>[\w.$]+)\)\s+Time elapsed:.*<<< (?:FAILURE|ERROR)!"
)
_SUREFIRE_SUMMARY = re.compile(r"^\[ERROR\]\s+(?P<cls>[\w.$]+)\.(?P<method>[\w$]+):\d+ (?P<message>.+)$")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_GRADLE = re.compile(r"^(?P<cls>[\w.$]+) > (?P<method>.+?) FAILED$")


class FailedTest(Frozen):
    """One failed test and the normalised message it failed with ('' when none was printed)."""

    test: str
    signature: str = ""


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class FailedTests:
    """Reads a log line by line (`observe`) and keeps the failed tests it names (`failures`)."""

    found: dict[str, str] = field(default_factory=dict)  # test -> signature, in order of appearance
    _awaiting: str | None = None  # a test whose message is on the next line

    def observe(self, line: str) -> None:
        if (  # the fast path: most lines name no test (plain `in` tests, no regex)
            self._awaiting is None
            and "FAIL" not in line
            and "<<<" not in line
            and "[ERROR]" not in line
            and "\u25cf" not in line
        ):
            return
        if self._awaiting is not None:
            body = body_of(line).strip()
            if body:
                self._sign(self._awaiting, body)
                self._awaiting = None
            return
        body = body_of(line).rstrip()
        for pattern in (_PYTEST_SUMMARY, _SUREFIRE_SUMMARY):
            if m := pattern.match(body):
                groups = m.groupdict()
                test = groups.get("test") or f"{groups['cls']}.{groups['method']}"
                self._add(test, m["message"] or "")
                return
        if m := _PYTEST_VERBOSE.match(body):
            self._add(m["test"], "")
        elif m := _SUREFIRE.match(body) or _GRADLE.match(body):
            self._add(f"{m['cls']}.{m['method']}", "", awaiting=True)
        elif m := _GO.match(body) or _JEST.match(body):
            self._add(m["test"].strip(), "", awaiting=True)

    def _add(self, test: str, message: str, awaiting: bool = False) -> None:
        test = _bounded(test, MAX_TEST_ID)
        if test not in self.found and len(self.found) >= MAX_TESTS:
            return
        self.found.setdefault(test, "")
        if message:
            self._sign(test, message)
        elif awaiting and not self.found[test]:
            self._awaiting = test

    def _sign(self, test: str, message: str) -> None:
        if not self.found.get(test):
            self.found[test] = _bounded(_ADDRESS.sub("<addr>", normalise(message)), MAX_SIGNATURE)

    @property
    def failures(self) -> list[FailedTest]:
        return [FailedTest(test=test, signature=signature) for test, signature in self.found.items()]


def read_failed_tests(lines: list[str] | tuple[str, ...]) -> list[FailedTest]:
    """The failed tests `lines` name (see the module docstring)."""
    reader = FailedTests()
    for line in lines:
        reader.observe(line)
    return reader.failures
