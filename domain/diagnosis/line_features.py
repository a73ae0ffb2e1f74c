"""What the key-line model sees of a line: generic signals of the line itself and of its place in the log.

The lines considered are those the scan already kept (`nearby_lines`): the candidates, the exit lines and
the redacted windows around them, and the log's last lines; so scoring them costs nothing in the scan
and stays bounded whatever the log's size. `features` turns each into a vector of `FEATURES`: error
vocabulary and penalties (`domain.diagnosis.evidence`), specificity (a location, an exception class, a
missing module, an HTTP error status), its shape (length, indentation, case), its role (summary, exit,
marker, quoted source, stack frame), its step (the failing one or not) and position (before the failing
step's exit line, distance to the end), repetition, the passing run, and its neighbours. No feature
names a project or a literal message of one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.diagnosis.evidence import PENALTIES, SIGNALS, base_score, is_quoted_source
from domain.diagnosis.reading import body_of
from domain.diagnosis.structure import Step, exit_status, header_name, is_summary, shown

CLIPPED = " [...]"
_DIGITS = re.compile(r"\d+")
_SHAPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "missing_name",
        re.compile(
            r"(?i)no module named|cannot find (?:module|package|symbol)|not installed"
            r"|could not (?:find|resolve)|package \S+ (?:is )?not found|unable to (?:find|locate)"
        ),
    ),
    ("http_error", re.compile(r"\b[45]\d\d\b.{0,80}https?://|https?://\S+.{0,40}\b[45]\d\d\b")),
    ("caused_by", re.compile(r"(?i)^\s*caused by\b")),
    ("traceback", re.compile(r"(?i)^traceback \(most recent|^\s*(?:stack ?trace|backtrace):?\s*$")),
    ("stack_frame", re.compile(r"^\s+at |^\s+File \"|^\s*#\d+ 0x|^\s+from \S+:\d+|^\s*\d+: 0x")),
    ("numbered", re.compile(r"^\s*\d+[.)] \S")),
    (
        "test_marker",
        re.compile(
            r"(?i)\bFAIL(?:ED)?\b.*(?:::|\.py|\.js|\.ts|test)|^\s*(?:not ok|[✗✖✘\u00d7])\s"
            r"|^\s*(?:FAIL|ERROR)[: \t]|\btest\w*\b.*\b(?:failed|error)"
        ),
    ),
    ("pytest_e", re.compile(r"^\s*E\s{2,}\S")),
    ("bracket_level", re.compile(r"^\s*\[(?:ERROR|FATAL|error|fatal|E)\]")),
    ("ends_colon", re.compile(r":\s*$")),
    ("diff_line", re.compile(r"^\s*[-+][^-+\s]")),
    ("key_value", re.compile(r"^\s*[\w.-]+\s*[:=]\s*\S")),
    ("command", re.compile(r"^\s*(?:\$|\+|>) |^Run \S")),
    ("url", re.compile(r"https?://")),
    ("path", re.compile(r"(?:^|\s)(?:/|\./|\w:\\)[\w.-]+[/\\]")),
    ("timing", re.compile(r"(?i)\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|min)\b")),
]

_INTRINSIC = [
    *(f"signal_{i}" for i in range(len(SIGNALS))),
    *(f"penalty_{i}" for i in range(len(PENALTIES))),
    *(name for name, _ in _SHAPES),
    *(
        "base",
        "summary",
        "exit",
        "marker",
        "quoted_source",
        "blank",
        "length",
        "long",
        "indent",
        "deep_indent",
    ),
    *("upper_share", "digit_share", "symbol_share", "words"),
]
_CONTEXT = [
    *("candidate", "rule", "rule_priority", "rule_choice", "score_gap", "base_gap"),
    *("failing_step", "succeeded_step", "other_step", "before_exit", "near_exit", "after_exit"),
    *("to_end", "position", "repeats", "in_pass", "first_evidence", "evidence_rank", "last_evidence"),
    *("prev_evidence", "next_evidence", "next_summary", "prev_blank", "next_indented", "after_chain"),
    *("to_candidate", "run_start"),
]
FEATURES = [*_INTRINSIC, *_CONTEXT]


@dataclass
class Line:
    """A line the scan kept: its number, its redacted text and the candidate it is, if any."""

    number: int
    text: str
    capture: Any = None  # a `domain.diagnosis.candidates.Capture` (a candidate or an exit line)

    @property
    def body(self) -> str:
        return shown(body_of(self.text.removesuffix(CLIPPED))).rstrip()


def nearby_lines(outcome: Any, extra: Sequence[Any] = ()) -> list[Line]:
    """The lines kept by a scan (`domain.diagnosis.candidates.ScanOutcome`), by number: candidates and
    exit lines (and `extra` captures) with their windows, and the log's last lines."""
    found: dict[int, Line] = {}
    tail_start = outcome.total_lines - len(outcome.tail) + 1
    for offset, text in enumerate(outcome.tail):
        found[tail_start + offset] = Line(tail_start + offset, text)
    captures = [*outcome.exits, *outcome.candidates, *extra]
    for capture in captures:
        first = capture.line_number - len(capture.before)
        for offset, text in enumerate(capture.before):
            found.setdefault(first + offset, Line(first + offset, text))
        for offset, text in enumerate(capture.after):
            found.setdefault(capture.line_number + 1 + offset, Line(capture.line_number + 1 + offset, text))
    for capture in captures:  # a candidate's own line is kept longer than its neighbours' windows
        found[capture.line_number] = Line(capture.line_number, capture.line, capture)
    return [found[number] for number in sorted(found)]


def _intrinsic(body: str) -> list[float]:
    summary = is_summary(body) if body else False
    stripped = body.strip()
    letters = sum(c.isalpha() for c in stripped) or 1
    size = len(stripped) or 1
    indent = len(body) - len(body.lstrip())
    return [
        *(float(pattern.search(body) is not None) for _, pattern in SIGNALS),
        *(float(pattern.search(body) is not None) for _, pattern in PENALTIES),
        *(float(pattern.search(body) is not None) for _, pattern in _SHAPES),
        max(-1.0, min(2.0, base_score(body, summary) / 10)),
        float(summary),
        float(bool(exit_status(body))),
        float(header_name(body) is not None or stripped.startswith(("travis_", "##[", "section_"))),
        float(is_quoted_source(body)),
        float(not stripped),
        math.log1p(len(stripped)) / 8,
        float(len(stripped) > 300),
        float(indent > 0),
        float(indent >= 4),
        sum(c.isupper() for c in stripped) / letters,
        sum(c.isdigit() for c in stripped) / size,
        sum(not c.isalnum() and not c.isspace() for c in stripped) / size,
        math.log1p(len(stripped.split())) / 4,
    ]


@dataclass(frozen=True)
class LogContext:
    """What is known of the whole log when its lines are scored."""

    total_lines: int
    steps: Sequence[Step]
    chosen: int | None = None  # the line number the evidence rules chose
    in_pass: Callable[[str], bool] | None = None  # whether the passing run prints a body


def _step_of(number: int, steps: Sequence[Step]) -> Step | None:
    found = None
    for step in steps:
        if step.start > number:
            break
        found = step
    return found


def features(lines: Sequence[Line], context: LogContext) -> list[list[float]]:
    """One vector of `FEATURES` per line (the lines of one log, in order)."""
    bodies = [line.body for line in lines]
    own = [_intrinsic(body) for body in bodies]
    base_at = _INTRINSIC.index("base")
    indent_at = _INTRINSIC.index("indent")
    chain_at = [_INTRINSIC.index("caused_by"), _INTRINSIC.index("traceback")]
    evidence = [vector[base_at] >= 0.3 for vector in own]
    failing = next((step for step in context.steps if step.failed), None)
    status_line = failing.status_line if failing is not None else None
    masked = [_DIGITS.sub("0", body.strip()) for body in bodies]
    repeats = Counter(masked)
    scores = [
        line.capture.score for line in lines if line.capture is not None and line.capture.found is not None
    ]
    top_score = max(scores, default=0)
    top_base = max((vector[base_at] for vector in own), default=0.0)
    candidates = [line.number for line in lines if line.capture is not None]
    step_of = [_step_of(line.number, context.steps) for line in lines]
    rank: Counter[int] = Counter()
    ranks = []
    for index, step in enumerate(step_of):
        key = step.index if step is not None else -1
        ranks.append(rank[key])
        rank[key] += evidence[index]
    last_evidence = {}
    for index, step in enumerate(step_of):
        if evidence[index] and (status_line is None or lines[index].number < status_line):
            last_evidence[step.index if step is not None else -1] = index
    rows = []
    for index, line in enumerate(lines):
        capture, body, step = line.capture, bodies[index], step_of[index]
        match = capture.top if capture is not None and capture.found is not None else None
        number = line.number
        prev = own[index - 1] if index and lines[index - 1].number == number - 1 else None
        following = (
            own[index + 1] if index + 1 < len(lines) and lines[index + 1].number == number + 1 else None
        )
        in_failing = failing is not None and step is not None and step.index == failing.index
        window = range(max(0, index - 5), index)
        nearest = min((abs(number - other) for other in candidates), default=1000)
        in_pass = (capture.in_pass if capture is not None else False) or bool(
            context.in_pass is not None and context.in_pass(body)
        )
        step_key = step.index if step is not None else -1
        rows.append(
            [
                *own[index],
                float(capture is not None),
                float(match is not None),
                (match.priority / 100) if match is not None else 0.0,
                float(context.chosen == number),
                ((capture.score - top_score) / 10)
                if capture is not None and capture.found is not None
                else -1.0,
                own[index][base_at] - top_base,
                float(in_failing),
                float(step is not None and step.succeeded),
                float(failing is not None and not in_failing),
                math.log1p(status_line - number) / 5 if status_line and number < status_line else 0.0,
                float(bool(status_line) and 0 < status_line - number <= 12),
                float(bool(status_line) and number > status_line),
                math.log1p(max(0, context.total_lines - number)) / 10,
                number / max(1, context.total_lines),
                math.log1p(repeats[masked[index]] - 1) / 3,
                float(in_pass),
                float(evidence[index] and ranks[index] == 0),
                math.log1p(ranks[index]) / 3 if evidence[index] else 0.0,
                float(last_evidence.get(step_key) == index),
                float(prev is not None and prev[base_at] >= 0.3),
                float(following is not None and following[base_at] >= 0.3),
                float(following is not None and following[_INTRINSIC.index("summary")] > 0),
                float(prev is None or prev[_INTRINSIC.index("blank")] > 0),
                float(following is not None and following[indent_at] > own[index][indent_at]),
                float(any(own[i][at] > 0 for i in window for at in chain_at)),
                math.log1p(nearest) / 4,
                float(evidence[index] and (prev is None or prev[base_at] < 0.3)),
            ]
        )
    return rows
