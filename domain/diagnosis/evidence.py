"""How much a log line looks like the cause of a failure: a score from several independent signals.

Signals, each a small weight (see `SIGNALS`): error vocabulary (`error`, `fatal`, `exception`, `failed`,
`cannot`, `not found`, assertion words ...), specificity (a `file:line` location, an exception class, an
`expected ... but` pair, a quoted name), a playbook rule that recognises the line (more for a higher
priority), and penalties for what rarely is a cause: warnings and deprecations, passing tallies (`0
errors`), passing tests (`ok`, `PASSED`, `✓`), echoed commands, stack frames, and summary or exit lines
(`domain.diagnosis.structure.is_summary`), which say that something failed, not what. The step a line
belongs to, and whether the passing run prints it too, are weighed later by the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Lines that may be evidence of a failure or end a step (`domain.diagnosis.evidence`): substrings (also
# inside words: `AssertionError`, `failed`), and whole words, which the prefilter finds at no extra cost.
EVIDENCE_SUBSTRINGS = ("error", "exception", "fail", "err!", "assert", "exit", "✗", "✖", "✘", "\u00d7")
EVIDENCE_TOKENS = (
    *("fatal", "panic", "panicked", "traceback", "cannot", "unable", "could", "killed", "denied", "refused"),
    *("missing", "undefined", "unresolved", "invalid", "expected", "timeout", "timed", "such", "defined"),
    *("segv", "sigsegv", "sigabrt", "sigbus", "segmentation", "sanitizer", "addresssanitizer", "dumped"),
)
EVIDENCE_KEYWORDS = (*(w.encode() for w in EVIDENCE_SUBSTRINGS), b"\ne  ", b"\n  e  ", b"not ok")
_EVIDENCE_TOKEN_SET = frozenset(EVIDENCE_TOKENS)
_WORD = re.compile(r"[a-z]+")


def has_evidence_word(body: str) -> bool:
    """Whether a line holds an error-like substring or word (cheap: checked before any scoring)."""
    lower = body.lower()
    if any(word in lower for word in EVIDENCE_SUBSTRINGS) or "not ok" in lower:
        return True
    return not _EVIDENCE_TOKEN_SET.isdisjoint(_WORD.findall(lower))


MIN_SCORE = 3  # lines scoring less are never candidates
RULE_WEIGHT = 5  # a matching rule adds 3 + its priority / RULE_WEIGHT

# (weight, pattern) over a line without ANSI codes and timestamp prefix.
SIGNALS: list[tuple[int, re.Pattern[str]]] = [
    (
        3,
        re.compile(
            r"(?i)(?<![\w.-])(?:error|errors|fatal|exception|panic|panicked|traceback)(?![\w-])|\bERR!"
        ),
    ),
    (1, re.compile(r"(?i)\b(?:error|fatal|exception)(?:\[\w+\])?:")),
    (2, re.compile(r"(?i)\b(?:fail|failed|failure|failures|failing|broken|aborted?)\b|[✗✖✘\u00d7]|\bFAIL\b")),
    (
        2,
        re.compile(
            r"(?i)\b(?:cannot|can't|couldn't|could not|unable to|not found|no such|does not exist|not defined)\b"
        ),
    ),
    (
        2,
        re.compile(
            r"(?i)\b(?:undefined|unresolved|missing|unknown|invalid|unexpected|illegal|denied|refused)\b"
        ),
    ),
    (2, re.compile(r"(?i)\b(?:timed? ?out|timeout|killed|out of memory|no space left|segmentation fault)\b")),
    (4, re.compile(r"\b(?:\w+Sanitizer|SEGV|SIGSEGV|SIGABRT|SIGBUS|Segmentation fault|core dumped)\b")),
    (
        3,
        re.compile(
            r"(?i)\bassert|\bexpected\b.{0,120}\b(?:but|got|to (?:be|equal|have|contain)|received|actual)\b"
        ),
    ),
    (3, re.compile(r"^\s*E\s{2,}\S|^\s*(?:[✗✖✘\u00d7]|not ok)\s|^\s*\d+\) \S")),  # pytest E lines, TAP, mocha
    (
        2,
        re.compile(
            r"[\w./\\-]+\.[A-Za-z]\w{0,5}(?::\d+|\(\d+(?:,\d+)?\)|:\[\d+,\d+\]|,? line \d+)|\b(?:on|at) line \d+"
        ),
    ),
    (2, re.compile(r"\b[A-Z]\w*(?:Error|Exception|Failure)\b")),
    (1, re.compile(r"'[^'\s]{2,}'|\"[^\"\s]{2,}\"|`[^`\s]{2,}`|\u2018[^\u2019\s]{2,}\u2019")),
]
PENALTIES: list[tuple[int, re.Pattern[str]]] = [
    (
        4,
        re.compile(r"(?i)\bwarn(?:ing)?s?\b|[a-z]Warning\b|\bdeprecat|\bnotice\b|^\s*\[?(?:info|debug)\]?\b"),
    ),
    (
        5,
        re.compile(
            r"(?i)\b(?:0|no) (?:errors?|failures?|failed|failing)\b|\b(?:errors?|failures?|failed):? 0\b"
        ),
    ),
    (
        4,
        re.compile(
            r"(?i)\bPASS(?:ED)?\b|(?:^|(?<!not)\s)ok\b|[✓✔]|\bsuccess(?:ful(?:ly)?)?\b|\bskipped\b|\bxfail"
        ),
    ),
    (4, re.compile(r"^(?:\$|\+)\s|^Run \S|^\[command\]|^##\[group\]|^section_(?:start|end):")),
    (3, re.compile(r"^\s+at [\w$.<>/]+[.(]|^\s+from \S+:\d+|^\s+File \"")),  # stack frames: fallout
    (
        3,
        re.compile(
            r"(?i)-W(?:no-)?error|--?(?:fail|error)[\w-]*[= ]|ignore[_-]?errors?|on[_-]?error|\berror(?:s)?[_.]\w"
        ),
    ),
    (2, re.compile(r"(?i)https?://\S*(?:error|fail)")),
]
_SUMMARY_PENALTY = 8
_QUOTED_SOURCE = re.compile(r"^\s*\d*\s*\|(?!\|)\s")  # `140 |     panic!("Out of memory");`


def is_quoted_source(body: str) -> bool:
    """A source line a compiler quotes under its message (rustc, clang, BuildKit): code, not a report."""
    return _QUOTED_SOURCE.match(body) is not None


def score(body: str, matches: Sequence[Any], summary: bool) -> int:
    """The evidence score of one line (`matches`: the playbook rules it matches, highest priority first;
    a rule with a context counts only once its context is found, see `domain.diagnosis.decision`)."""
    top = plain_rule(matches)
    return base_score(body, summary, bool(matches)) + (rule_bonus(top, summary) if top is not None else 0)


def plain_rule(matches: Sequence[Any]) -> Any:
    """The highest-priority rule among `matches` that needs no context (None if there is none)."""
    return next((m for m in matches if m.priority > 0 and m.context is None), None)


def base_score(body: str, summary: bool, matched: bool = False) -> int:
    """The score of a line's own signals and penalties, without any playbook rule."""
    total = sum(weight for weight, pattern in SIGNALS if pattern.search(body))
    if total == 0 and not matched:
        return 0
    total -= sum(weight for weight, pattern in PENALTIES if pattern.search(body))
    if summary:
        total -= _SUMMARY_PENALTY
    return total


def rule_bonus(match: Any, summary: bool = False) -> int:
    """What a playbook rule recognising the line adds: more for a more specific (higher priority) rule;
    a summary line gains little whatever rule recognises it (it says that, not what)."""
    return 3 if summary else 3 + match.priority // RULE_WEIGHT
