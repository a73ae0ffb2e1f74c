"""Stream a CI log once, in bounded memory, and keep only what explains the failure.

The log arrives as blocks of whole lines (`blocks_from_lines`, `blocks_from_binary`: never the whole
file). Each block is searched for the rules' required words (`domain.diagnosis.prefilter.Prefilter`, plus
step headers and private-key markers); only lines holding one are decoded and matched, and a line is
redacted before anything of it is kept. The scanner keeps the step header last seen, the best
candidate line with the lines before it (from the block and a ring of the previous blocks' tail) and
the lines after it as they arrive. Memory is one block, the ring and the kept windows, whatever the
log's size; of a line longer than `LINE_BOUND` bytes only the start is read.

Which candidate wins: the highest priority, then the earliest line (see `domain.diagnosis.playbooks`). A rule with
a `context` regex counts only when the context matches within `context_lines` lines before or after it.

`DistilledLog` is the result: the decisive line verbatim (redacted), the failed step, and a window of
redacted lines around it, for prompts and notifications.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from domain.diagnosis.candidates import CandidatePool
from domain.diagnosis.evidence import MIN_SCORE, plain_rule, rule_bonus, score
from domain.diagnosis.prefilter import Prefilter
from domain.diagnosis.structure import Step, StepTracker, exit_status, header_name, is_summary
from domain.shared.redaction import Redactor

if TYPE_CHECKING:
    from domain.diagnosis.baseline import PassingRun

BLOCK_SIZE = 1 << 18
LINE_BOUND = 1 << 16  # bytes of one line that are read; the rest of a longer line is skipped
KEY_LINE_BOUND = 4000  # characters of the key line kept verbatim
MATCH_BOUND = 4096  # characters of a line that are redacted and matched
WINDOW_LINE_BOUND = 500  # characters of each other window line
MAX_PENDING = 8  # candidates waiting for their context at once
MAX_EXITS = 4  # exit lines kept (with the lines before them) to step back from
PASS_PENALTY = 8  # evidence a line loses when the passing run prints it too

_ANSI_B = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_ANSI = re.compile(_ANSI_B.pattern.decode())
_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+"  # ISO (GitHub, GitLab)
    r"|\[(?:task )?\d{4}-\d\d-\d\d[T ][^\]]*\]\s+"  # [task 2025-...Z] (Taskcluster), [2025-...] (Jenkins)
    r"|\d{1,2}:\d\d:\d\d(?:\.\d+)?(?:\s?[AP]M)?:?\s+)+"  # 12:00:01 / 9:40:53 PM: (Jenkins, Netlify)
)
_STEP = re.compile(
    r"^##\[group\](?P<gh>Run .+)"  # GitHub Actions raw log
    r"|^(?P<ui>Run (?![\d\s])\S.*)"  # GitHub Actions log copied from the web page
    r"|section_start:\d+:(?P<gl>[A-Za-z0-9_.-]+)"  # GitLab CI section
    r"|^\$ (?P<cmd>\S.*)"  # GitLab CI / Travis CI command
    r"|^\[Pipeline\] \{ \((?P<jk>[^)]+)\)"  # Jenkins pipeline stage
    r"|^##\[section\]Starting: (?P<az>.+)"  # Azure Pipelines
)
# Words (and a substring) whose lines may be step headers or private-key markers.
STEP_TOKENS = (b"group", b"section_start", b"pipeline", b"section")
STEP_KEYWORDS = (
    b"$ ",
    b"\nrun ",
    b"\n> ",
    b"[info] --- ",
)  # a keyword starting with a newline: at line starts
# Lines that may be evidence of a failure or end a step (`domain.diagnosis.evidence`): substrings (also
# inside words: `AssertionError`, `failed`), and whole words, which the prefilter finds at no extra cost.
EVIDENCE_SUBSTRINGS = ("error", "exception", "fail", "err!", "assert", "exit", "✗", "✖", "✘", "\u00d7")
EVIDENCE_TOKENS = (
    *("fatal", "panic", "traceback", "cannot", "unable", "could", "killed", "denied", "refused", "missing"),
    *("undefined", "unresolved", "invalid", "expected", "timeout", "timed", "such", "defined"),
    *("segv", "sigsegv", "sigabrt", "sigbus", "segmentation", "sanitizer", "addresssanitizer", "dumped"),
)
EVIDENCE_KEYWORDS = (*(w.encode() for w in EVIDENCE_SUBSTRINGS), b"\ne  ", b"\n  e  ", b"not ok")
_EVIDENCE_HINT = re.compile(
    "|".join(map(re.escape, [*EVIDENCE_SUBSTRINGS, *EVIDENCE_TOKENS, "not ok"])), re.I
)
PEM_TOKENS = (b"private",)


def body_of(line: str) -> str:
    """`line` without ANSI codes and CI timestamp prefixes: the text rules are matched against."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return _PREFIX.sub("", line, count=1) if line[:1].isdigit() or line[:1] == "[" else line


def step_header(body: str) -> str | None:
    """The step or command a header line starts (`Run npm test`, `step_script`, `npm test`), else None."""
    if not (body.startswith(("$ ", "Run ", "[Pipeline] ", "##[")) or "section_start:" in body):
        return None
    found = _STEP.search(body)
    if found is None:
        return None
    name = next(value for value in found.groupdict().values() if value is not None)
    return name.strip()[:200] or None


def blocks_from_lines(lines: Iterable[str | bytes], batch: int = 2048) -> Iterator[tuple[bytes, int]]:
    """(block of whole lines joined by newlines, bytes it stands for) from an iterable of lines."""
    iterator = iter(lines)
    while chunk := list(islice(iterator, batch)):
        parts = []
        for line in chunk:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            if text.endswith("\n"):
                text = text[:-2] if text.endswith("\r\n") else text[:-1]
            parts.append(text if len(text) <= LINE_BOUND else text[:LINE_BOUND])
        data = "\n".join(parts).encode("utf-8", "replace")
        yield data, len(data) + len(parts)


def blocks_from_binary(handle: IO[Any], block_size: int = BLOCK_SIZE) -> Iterator[tuple[bytes, int]]:
    """(block of whole lines, bytes read for it) from a binary (or text) file, `block_size` at a time."""
    carry, size, skipping = b"", 0, False
    while chunk := handle.read(block_size):
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "replace")
        size += len(chunk)
        if skipping:  # inside an over-long line: drop bytes up to its newline
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, skipping = b"\n" + chunk[newline + 1 :], False
        data = carry + chunk
        last = data.rfind(b"\n")
        if last < 0:
            carry = data
        else:
            block, carry = data[:last], data[last + 1 :]
            yield block, size
            size = 0
        if len(carry) > LINE_BOUND:
            carry, skipping = carry[:LINE_BOUND], True
    if carry or size:
        yield carry, size


class LineMatcher(Protocol):
    """What the scanner needs from the rules: words to look for, and a line matcher.

    A line can match only if it holds one of `tokens` as a whole word (maximal run of [a-z0-9_], any
    case) or one of `keywords` as a substring (lower case).
    """

    tokens: frozenset[bytes]
    keywords: tuple[bytes, ...]

    def match(self, body: str) -> Sequence[Any]: ...


@dataclass(eq=False)
class Capture:
    """A candidate line and the redacted lines around it."""

    found: Any  # the matcher's match: has .priority, .context, .context_lines
    line_number: int
    line: str
    before: list[str]
    step: str | None
    redactor: Redactor
    need: int  # lines still to collect after it
    pending: bool = False  # waits for its context regex
    feed_from: int = 0  # index in the current block of the next line to collect
    after: list[str] = field(default_factory=list)
    score: int = 0  # evidence score (`domain.diagnosis.evidence`)
    step_index: int = 0  # the step it belongs to (`domain.diagnosis.structure`)
    summary: bool = False  # a summary or exit line
    in_pass: bool = False  # the passing run prints it too
    matches: list[Any] = field(default_factory=list)  # the playbook rules it matches, highest first
    base: int = 0  # the score without the playbook rule's part

    @property
    def top(self) -> Any:
        """The highest-priority match whose context (if the rule has one) occurs in the kept window."""
        for match in self.matches:
            if match.context is None:
                return match
            near = [*self.before[-match.context_lines :], *self.after[: match.context_lines]]
            if any(match.context.search(body_of(text)) for text in near):
                return match
        return None

    @property
    def rank(self) -> tuple[int, int]:
        return (self.found.priority, -self.line_number)


@dataclass
class ScanOutcome:
    best: Capture | None
    tail: list[str]  # the redacted last lines of the log
    total_lines: int
    total_bytes: int
    last_step: str | None
    candidates: list[Capture] = field(default_factory=list)  # the best lines of each step
    exits: list[Capture] = field(default_factory=list)  # the first non-zero exit lines
    steps: list[Step] = field(default_factory=list)


def _clip(line: str, bound: int = WINDOW_LINE_BOUND) -> str:
    return line if len(line) <= bound else line[:bound] + " [...]"


class LogScanner:
    """One streaming pass: feed it blocks, then `finish()`. See the module docstring."""

    def __init__(
        self,
        matcher: LineMatcher,
        redactor: Redactor,
        before: int = 40,
        after: int = 40,
        baseline: PassingRun | None = None,
    ) -> None:
        context = max((r.context_lines for r in getattr(matcher, "rules", ()) if r.context), default=0)
        self.matcher, self.redactor = matcher, redactor
        self.keep_before, self.keep_after = max(before, context), max(after, context)
        self.prefilter = Prefilter(
            {*matcher.tokens, *STEP_TOKENS, *PEM_TOKENS, *(t.encode() for t in EVIDENCE_TOKENS)},
            {*matcher.keywords, *STEP_KEYWORDS, *EVIDENCE_KEYWORDS},
        )
        self.steps = StepTracker()
        self.pool = CandidatePool(self._forget)
        self.baseline = baseline
        self.exits: list[Capture] = []  # the first lines that reported a non-zero exit
        self.best: Capture | None = None
        self.open: list[Capture] = []
        self.step: str | None = None
        self.tail: deque[bytes] = deque(maxlen=max(self.keep_before, 1))
        self.marks: deque[tuple[int, bool]] = deque(maxlen=256)  # (line, inside a private key after it)
        self.lines = self.bytes = 0
        self._split: list[bytes] | None = None

    def _lines(self, block: bytes) -> list[bytes]:
        if self._split is None:
            self._split = block.split(b"\n")
        return self._split

    def _state_at(self, line_number: int) -> bool:
        state = False
        for mark, inside in self.marks:
            if mark >= line_number:
                break
            state = inside
        return state

    def _redacted(
        self,
        raw: Iterable[bytes],
        first: int,
        redactor: Redactor | None = None,
        bound: int = WINDOW_LINE_BOUND,
    ) -> list[str]:
        redactor = redactor or self.redactor.fork(self._state_at(first))
        return [
            _clip(redactor.line(r[:LINE_BOUND].decode("utf-8", "replace")[:MATCH_BOUND]), bound) for r in raw
        ]

    def feed(self, block: bytes, size: int) -> None:
        """Scan one block of whole lines (`size`: the log bytes it stands for)."""
        if b"\r" in block:  # CRLF newlines: the block's last CR lost its LF to the block split
            block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
        search = _ANSI_B.sub(b"", block) if b"\x1b" in block else block
        self._split, index, position = None, 0, 0
        for start in self.prefilter.line_starts(search):
            index += search.count(b"\n", position, start)
            position = start
            if search is block:
                end = block.find(b"\n", start)
                raw = block[start : end if end >= 0 else len(block)]
            else:
                raw = self._lines(block)[index]
            self._hit(raw[:LINE_BOUND], index, block)
        for capture in list(self.open):
            self._collect(capture, block)
        self.lines += block.count(b"\n") + 1
        self.bytes += size
        self.tail.extend(block.rsplit(b"\n", self.tail.maxlen)[-(self.tail.maxlen or 1) :])

    def _hit(self, raw: bytes, index: int, block: bytes) -> None:
        """A line holding a required word. It is matched as is first (most such lines match nothing, and
        redaction is the dear part), then redacted and matched again before anything of it is kept."""
        number = self.lines + index + 1
        line = raw.decode("utf-8", "replace")[:MATCH_BOUND]
        redacted = self.redactor.in_private_key or "PRIVATE KEY" in line
        if redacted:
            inside = self.redactor.in_private_key
            line = self.redactor.line(line)
            if self.redactor.in_private_key != inside:
                self.marks.append((number, self.redactor.in_private_key))
        body = body_of(line)
        found = self.matcher.match(body)
        hint = bool(found) or _EVIDENCE_HINT.search(body) is not None
        summary = hint and is_summary(body)
        strength = score(body, found, summary) if hint else 0
        marker = header_name(body) is not None or exit_status(body) is not None
        if strength < MIN_SCORE and not marker and not self._useful(found):
            return
        if not redacted:
            line = self.redactor.line(line)
            body = body_of(line)
            found = self.matcher.match(body)
            summary = is_summary(body)
            strength = score(body, found, summary)
        before_step = self.steps.current
        self.steps.observe(body, number)
        if self.steps.current is not before_step:
            self.pool.step_ended(before_step.index, before_step.failed)
            self.step = self.steps.current.name
        in_pass = self.baseline is not None and self.baseline.seen(body)
        if in_pass:
            strength -= PASS_PENALTY
        step_index = self.steps.current.index
        if marker and self.steps.current.status_line == number and len(self.exits) < MAX_EXITS:
            exit_capture = self._capture(None, number, line, index, block)
            exit_capture.step_index, exit_capture.summary = step_index, True
            self.exits.append(exit_capture)
            self.open.append(exit_capture)
        if strength >= MIN_SCORE:
            floor = self.pool.floor(step_index)
            if floor is None or strength > floor:
                capture = self._capture(found[0] if found else None, number, line, index, block)
                capture.score, capture.step_index, capture.summary = strength, step_index, summary
                top = plain_rule(found)
                capture.base = strength - (rule_bonus(top, summary) if top is not None else 0)
                capture.in_pass, capture.matches = in_pass, [m for m in found if m.priority > 0]
                self.pool.add(capture)
                if capture.need > 0:
                    self.open.append(capture)
        for match in self._useful(found):
            if self.best is not None and match.priority <= self.best.found.priority:
                continue
            capture = self._capture(match, number, line, index, block)
            if match.context is not None:
                recent = [body_of(b) for b in capture.before[-match.context_lines :]] + [body]
                capture.pending = not any(match.context.search(text) for text in recent)
            self._admit(capture)

    def _useful(self, found: Sequence[Any]) -> list[Any]:
        best = self.best.found.priority if self.best is not None else None
        return [match for match in found if best is None or match.priority > best]

    def _capture(self, match: Any, number: int, line: str, index: int, block: bytes) -> Capture:
        lines = self._lines(block)
        raw_before = list(self.tail)[max(0, len(self.tail) - (self.keep_before - index)) :]
        raw_before = [*raw_before, *lines[max(0, index - self.keep_before) : index]][-self.keep_before :]
        before = self._redacted(raw_before, number - len(raw_before)) if raw_before else []
        return Capture(match, number, line[:KEY_LINE_BOUND], before, self.step,
                       self.redactor.fork(self.redactor.in_private_key), self.keep_after, feed_from=index + 1)  # fmt: skip

    def _admit(self, capture: Capture) -> None:
        if capture.pending:
            pending = [c for c in self.open if c.pending]
            if len(pending) >= MAX_PENDING:
                self.open.remove(min(pending, key=lambda c: c.rank))
            self.open.append(capture)
            return
        if self.best is None or capture.rank > self.best.rank:
            if self.best in self.open:
                self.open.remove(self.best)
            self.best = capture
            if capture not in self.open and capture.need > 0:
                self.open.append(capture)

    def _collect(self, capture: Capture, block: bytes) -> None:
        raw = self._lines(block)[capture.feed_from : capture.feed_from + capture.need]
        capture.feed_from = 0
        new = self._redacted(raw, 0, capture.redactor)
        capture.after += new
        capture.need -= len(new)
        if capture.pending:
            window = capture.found.context_lines
            if any(capture.found.context.search(body_of(t)) for t in capture.after[:window]):
                capture.pending = False
                self.open.remove(capture)
                self._admit(capture)
                return
            if capture.need <= 0 or len(capture.after) >= window:
                self.open.remove(capture)
                return
        if capture.need <= 0 and capture in self.open:
            self.open.remove(capture)

    def finish(self) -> ScanOutcome:
        """The outcome once the whole log was fed."""
        tail = list(self.tail)[-self.keep_before :] if self.lines else []
        first = self.lines - len(tail) + 1
        kept = self._redacted(tail, first, bound=KEY_LINE_BOUND)  # the last line may become the key line
        candidates = self.pool.all()
        outcome = ScanOutcome(self.best, kept, self.lines, self.bytes, self.step, candidates, self.exits)
        outcome.steps = self.steps.steps
        return outcome

    def _forget(self, capture: Capture) -> None:
        if capture in self.open:
            self.open.remove(capture)


class DistilledLog(BaseModel):
    """What is kept of a log: the decisive line, the failed step and a redacted window around it."""

    model_config = ConfigDict(frozen=True)

    failed_step: str | None = None
    key_line: str = ""
    key_line_number: int | None = None
    window: list[str] = []
    window_start: int | None = None  # line number of window[0]
    total_lines: int = 0
    total_bytes: int = 0
    truncated: bool = False  # the window is not the whole log, or a line in it was cut

    def text(self) -> str:
        """The distilled log as text for a prompt: a short header, then the window's lines verbatim."""
        head = [f"log: {self.total_lines} lines, {self.total_bytes} bytes"]
        if self.failed_step:
            head.append(f"failed step: {self.failed_step}")
        if self.key_line_number:
            head.append(f"decisive line {self.key_line_number}: {self.key_line}")
        if self.window_start is not None and self.window:
            head.append(f"--- lines {self.window_start}-{self.window_start + len(self.window) - 1} ---")
        return "\n".join([*head, *self.window])


def distill(outcome: ScanOutcome, max_lines: int = 80) -> DistilledLog:
    """The `DistilledLog` of a scan: around its best candidate, else its last non-blank line."""
    max_lines, key = max(1, max_lines), outcome.best
    if key is None:
        window = outcome.tail[-max_lines:]
        start = outcome.total_lines - len(window) + 1
        filled = [i for i, text in enumerate(window) if text.strip()]
        number = start + filled[-1] if filled else None
        line, step = (window[filled[-1]] if filled else ""), outcome.last_step
    else:
        before_n = min(len(key.before), (max_lines - 1) // 2)
        after_n = min(len(key.after), max_lines - 1 - before_n)
        before_n = min(len(key.before), max_lines - 1 - after_n)
        window = [*key.before[len(key.before) - before_n :], key.line, *key.after[:after_n]]
        number, line, step, start = key.line_number, key.line, key.step, key.line_number - before_n
    window = [_clip(text) for text in window]
    return DistilledLog(
        failed_step=step,
        key_line=line,
        key_line_number=number,
        window=window,
        window_start=start if window else None,
        total_lines=outcome.total_lines,
        total_bytes=outcome.total_bytes,
        truncated=len(window) < outcome.total_lines or any(t.endswith(" [...]") for t in window),
    )
