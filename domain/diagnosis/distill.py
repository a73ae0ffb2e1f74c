"""Stream a CI log once, in bounded memory, and keep only what explains the failure.

The log arrives as blocks of whole lines (`domain.diagnosis.reading`: never the whole file). Each block is
searched for the rules' required words, error-like words and step markers (`domain.diagnosis.prefilter`);
only lines holding one are decoded, and a line is redacted before anything of it is kept. Each such line
feeds the step tracker (`domain.diagnosis.structure`), is scored (`domain.diagnosis.evidence`, minus
`PASS_PENALTY` when the passing run prints it too) and, scoring enough, becomes a candidate of its step
(`domain.diagnosis.candidates`) with the lines around it. The first exit lines are kept too, to step back
from. Memory is one block, a ring of the previous lines and the bounded candidates, whatever the size.

`best` is the playbooks' own verdict (highest priority, then earliest line; a rule with a `context`
regex counts only when the context matches within `context_lines` lines): `Playbooks.scan` uses it.
`domain.diagnosis.decision` chooses among the candidates; `domain.diagnosis.distilled` keeps the result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from domain.diagnosis.candidates import CandidatePool, Capture, ScanOutcome
from domain.diagnosis.distilled import DistilledLog, distill
from domain.diagnosis.evidence import (
    EVIDENCE_KEYWORDS,
    EVIDENCE_TOKENS,
    MIN_SCORE,
    has_evidence_word,
    plain_rule,
    rule_bonus,
    score,
)
from domain.diagnosis.prefilter import Prefilter
from domain.diagnosis.reading import (
    _ANSI_B,
    LINE_BOUND,
    WINDOW_LINE_BOUND,
    blocks_from_binary,
    blocks_from_lines,
    body_of,
    clip,
)
from domain.diagnosis.structure import StepTracker, exit_status, header_name, is_summary
from domain.diagnosis.triggers import Triggers, triggers_for
from domain.shared.redaction import Redactor

__all__ = [  # the scanner, and what callers read logs with (re-exported from their homes)
    "KEY_LINE_BOUND",
    "LINE_BOUND",
    "MATCH_BOUND",
    "Capture",
    "DistilledLog",
    "LogScanner",
    "ScanOutcome",
    "blocks_from_binary",
    "blocks_from_lines",
    "body_of",
    "distill",
    "step_header",
]

if TYPE_CHECKING:
    from domain.diagnosis.baseline import PassingRun

KEY_LINE_BOUND = 4000  # characters of the key line kept verbatim
MATCH_BOUND = 4096  # characters of a line that are redacted and matched
MAX_PENDING = 8  # candidates waiting for their context at once
MAX_EXITS = 4  # exit lines kept (with the lines before them) to step back from
PASS_PENALTY = 8  # evidence a line loses when the passing run prints it too

STEP_TOKENS = (b"group", b"section_start", b"pipeline", b"section")
STEP_KEYWORDS = (
    b"$ ",
    b"\nrun ",
    b"\n> ",
    b"[info] --- ",
)  # a keyword starting with a newline: at line starts
PEM_TOKENS = (b"private",)
MASK_KEYWORDS = (b"::add-mask::",)  # lines declaring a secret: the redactor must see them all


step_header = header_name  # the step a header line starts (kept under its former name)


class LineMatcher(Protocol):
    """What the scanner needs from the rules: words to look for, and a line matcher.

    A line can match only if it holds one of `tokens` as a whole word (maximal run of [a-z0-9_], any
    case) or one of `keywords` as a substring (lower case).
    """

    tokens: frozenset[bytes]
    keywords: tuple[bytes, ...]

    def match(self, body: str) -> Sequence[Any]: ...


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
            {*matcher.keywords, *STEP_KEYWORDS, *MASK_KEYWORDS, *EVIDENCE_KEYWORDS},
        )
        rules = getattr(matcher, "rules", None)
        self.triggers: Triggers | None = triggers_for(rules) if rules is not None else None
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
            clip(redactor.line(r[:LINE_BOUND].decode("utf-8", "replace")[:MATCH_BOUND]), bound) for r in raw
        ]

    def feed(self, block: bytes, size: int) -> None:
        """Scan one block of whole lines (`size`: the log bytes it stands for)."""
        if b"\r" in block:  # CRLF newlines: the block's last CR lost its LF to the block split
            block = block.replace(b"\r\n", b"\n").removesuffix(b"\r")
        search = _ANSI_B.sub(b"", block) if b"\x1b" in block else block
        self._split, index, position = None, 0, 0
        for start in self._starts(search, block):
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

    def _starts(self, search: bytes, block: bytes) -> Iterator[int]:
        """The starts of the lines of `search` to examine: those the prefilter holds and the triggers
        find (a superset of the lines `_hit` keeps); inside a private key, every line it holds."""
        newlines = search.count(b"\n")
        lines_differ = search is not block and newlines != block.count(b"\n")
        found = None
        if self.triggers is not None and not self.redactor.in_private_key and not lines_differ:
            found = self.triggers.line_starts(search, limit=max(64, newlines // 8))
        if found is None:  # no triggers, a private key open, or too many lines found (binary data)
            yield from self.prefilter.line_starts(search)
            return
        for start in found:
            end = search.find(b"\n", start)
            if not self.prefilter.line_starts(search[start : end if end >= 0 else len(search)]):
                continue
            yield start
            if self.redactor.in_private_key and end >= 0:  # its lines are redacted: each one is examined
                yield from (end + 1 + s for s in self.prefilter.line_starts(search[end + 1 :]))
                return

    def _hit(self, raw: bytes, index: int, block: bytes) -> None:
        """A line holding a required word. It is matched as is first (most such lines match nothing, and
        redaction is the dear part), then redacted and matched again before anything of it is kept."""
        number = self.lines + index + 1
        line = raw.decode("utf-8", "replace")[:MATCH_BOUND]
        redacted = self.redactor.in_private_key or "PRIVATE KEY" in line or "::add-mask::" in line
        if redacted:
            inside = self.redactor.in_private_key
            line = self.redactor.line(line)
            if self.redactor.in_private_key != inside:
                self.marks.append((number, self.redactor.in_private_key))
        body = body_of(line)
        found = self.matcher.match(body)
        hint = bool(found) or has_evidence_word(body)
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
