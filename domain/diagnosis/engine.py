"""Diagnose a failed CI log with the playbooks: one streaming pass, redacted, bounded memory.

`diagnose` redacts every line before anything is kept, finds the decisive line (highest priority
playbook match, earliest line on ties), distills the log around it and fills a `Diagnosis` (risk from
`domain.ci_healing.risk`). When no playbook matches, the best error-looking line is the key line, the category is
a low-confidence guess from the words around it, and the action is `human` (`source=fallback`).

Two guards keep automation honest: a missing Python module is installed only when its distribution
is in `domain.ci_healing.python_distributions` (a guessed name may be a typosquat), and a missing environment variable
whose name looks secret is never given a default automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from domain.ci_healing.python_distributions import distribution_for
from domain.ci_healing.risk import score, tier
from domain.diagnosis.distill import DistilledLog, LogScanner, blocks_from_binary, blocks_from_lines, distill
from domain.diagnosis.playbooks import Match, PlaybookRule, Playbooks, default_playbooks
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source
from domain.shared.redaction import Redactor

FALLBACK_CONFIDENCE = 30
_SECRET_NAME = re.compile(
    r"(?i)token|secret|passw(?:or)?d|api_?key|access_?key|private_?key|credential|auth(?!or)|cert"
)


def _fallback(rule_id: str, priority: int, pattern: str, exclude: str | None = None) -> PlaybookRule:
    return PlaybookRule(
        id=f"fallback.{rule_id}",
        priority=priority,
        category=Category.CODE,  # replaced by the guess
        pattern=pattern,
        exclude=exclude,
        action=FixAction.HUMAN,
        confidence=FALLBACK_CONFIDENCE,
        explanation="No playbook recognised this failure; this is the most error-like line of the log.",
    )


# Generic error-looking lines, weakest last: used only when no playbook rule matches.
FALLBACK_RULES = [
    _fallback(
        "ci-error",
        -1,
        r"##\[error\]|^::error\b|\[taskcluster:error\]",
        r"##\[error\](?:Process completed with exit code|The operation was canceled|A task was canceled)",
    ),
    _fallback(
        "error-message",
        -2,
        r"(?i)(?:^|[\s\[(>*-])(?:error|fatal|err!|exception|panic)(?:\]|:|!|\s+-\s)",
        r"(?i)\b(?:0|no) errors?\b|\berrors?:\s*0\b|warning",
    ),
    _fallback("exception", -2, r"\b[A-Z]\w*(?:Error|Exception)\b(?::|$)", r"(?i)warning"),
    _fallback("failed", -3, r"(?i)\b(?:failed|failure|failing)\b", r"(?i)\b0 (?:failed|failures)\b"),
    _fallback(
        "exit-code",
        -4,
        r"(?i)\b(?:exit(?:ed)?(?: with)?|returned (?:a )?non-zero)(?: exit)?(?: code| status)?[: ]+[1-9]",
    ),
    _fallback("error-word", -5, r"(?i)\berror\b"),
]

_GUESSES: list[tuple[Category, re.Pattern[str]]] = [
    (Category.RESOURCE, re.compile(r"(?i)out of memory|\bkilled\b|no space|disk|\bheap\b|\boom\b")),
    (Category.FLAKY_TEST, re.compile(r"(?i)timed? ?out|flaky|intermittent|\brace\b")),
    (
        Category.INFRASTRUCTURE,
        re.compile(r"(?i)network|connection|\bdns\b|unreachable|registry|runner|\b50[234]\b|rate.?limit"),
    ),
    (Category.DEPENDENCY, re.compile(r"(?i)dependenc|\bpackage\b|\bmodule\b|\bversion\b|resolv|lock ?file")),
    (Category.ENVIRONMENT, re.compile(r"(?i)environment|\benv\b|variable|permission|credential|config")),
    (Category.CODE, re.compile(r"(?i)\btest|assert|compil|syntax|lint|expected|undefined")),
]


def guess_category(key_line: str, window: Iterable[str]) -> Category:
    """A weak guess of the category: words of the key line count 3, words anywhere around it 1 (once).
    Ties and silence go to `code`, the most common unrecognised failure."""
    around = "\n".join(window)
    votes = {c: 3 * bool(words.search(key_line)) + bool(words.search(around)) for c, words in _GUESSES}
    best = max(votes, key=lambda c: (votes[c], c is Category.CODE))
    return best if votes[best] > 0 else Category.CODE


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}?>"


def _fill(template: str, params: dict[str, str]) -> str:
    return template.format_map(_Defaults(params))


def _diagnosis(match: Match, distilled: DistilledLog, fallback: bool) -> Diagnosis:
    rule, params, notes = match.rule, dict(match.params), []
    category, action, auto_fix, confidence = rule.category, rule.action, rule.auto_fix, rule.confidence
    if fallback:
        category = guess_category(distilled.key_line, distilled.window)
        notes.append("no playbook matched: the category is a guess and a human decides")
    if action is FixAction.ADD_DEPENDENCY and "module" in params:
        distribution = distribution_for(params["module"])
        if distribution is not None:
            params["distribution"] = distribution
        else:
            auto_fix = False
            params["distribution"] = "unknown"
            notes.append(
                f"module {params['module']!r} is not in the known module-to-distribution table; installing a"
                " guessed package name risks a typosquatted package, so a human must choose it"
            )
    if action is FixAction.SET_ENV_DEFAULT and _SECRET_NAME.search(params.get("name", "")):
        auto_fix = False
        notes.append(f"{params['name']} looks like a secret: it needs a real value, not a default")
    if category is Category.CODE or action is FixAction.HUMAN:
        action, auto_fix = FixAction.HUMAN, False
    risk = score(action, category, confidence, rule.risk)
    explanation = _fill(rule.explanation, params)
    if notes and not fallback:
        explanation += " (" + "; ".join(notes) + ")"
    return Diagnosis(
        category=category,
        action=action,
        risk_score=risk,
        tier=tier(risk),
        confidence=confidence,
        key_line=distilled.key_line,
        params=params,
        playbook=None if fallback else rule.id,
        explanation=explanation,
        source=Source.FALLBACK if fallback else Source.PLAYBOOK,
        key_line_number=distilled.key_line_number,
        auto_fix=auto_fix,
        steps=[_fill(step, params) for step in rule.plan],
        changes_code=rule.changes_code,
        notes=notes,
    )


def _run(
    blocks: Iterable[tuple[bytes, int]],
    playbooks: Playbooks | None,
    redactor: Redactor | None,
    max_lines: int,
) -> tuple[Diagnosis, DistilledLog]:
    rules = (playbooks if playbooks is not None else default_playbooks()).with_rules(FALLBACK_RULES)
    before = max(0, (max_lines - 1) // 2)
    scanner = LogScanner(rules, redactor or Redactor(), before=before, after=max(0, max_lines - 1 - before))
    for block, size in blocks:
        scanner.feed(block, size)
    outcome = scanner.finish()
    distilled = distill(outcome, max_lines)
    if outcome.best is None:
        empty = Match(FALLBACK_RULES[-1], {})
        return _diagnosis(empty, distilled, fallback=True), distilled
    match: Match = outcome.best.found
    return _diagnosis(match, distilled, fallback=match.rule.id.startswith("fallback.")), distilled


def diagnose(
    lines: Iterable[str],
    *,
    provider: str | None = None,
    playbooks: Playbooks | None = None,
    redactor: Redactor | None = None,
    max_lines: int = 80,
) -> tuple[Diagnosis, DistilledLog]:
    """Diagnose a log given as lines (trailing newlines optional), streaming once.

    `provider` (github_actions, gitlab_ci, ...) is informational: step headers of every provider are
    recognised. `redactor` defaults to one without configured secret values.
    """
    del provider
    if isinstance(lines, str):  # a whole log as one string, not an iterable of lines
        lines = lines.splitlines()
    return _run(blocks_from_lines(lines), playbooks, redactor, max_lines)


def diagnose_file(
    path: str | Path,
    provider: str | None = None,
    *,
    playbooks: Playbooks | None = None,
    redactor: Redactor | None = None,
    max_lines: int = 80,
) -> tuple[Diagnosis, DistilledLog]:
    """`diagnose` on a log file, read in binary blocks (UTF-8, undecodable bytes replaced)."""
    del provider
    with Path(path).open("rb") as handle:
        return _run(blocks_from_binary(handle), playbooks, redactor, max_lines)
