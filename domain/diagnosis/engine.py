"""Diagnose a failed CI log: one streaming pass, redacted, bounded memory, decided from evidence.

`diagnose` scans the log (`domain.diagnosis.distill`), chooses the key line from the failing step's
evidence (`domain.diagnosis.decision`), distills the log around it and fills a `Diagnosis` (risk from
`domain.ci_healing.risk`): the category and action of the playbook rule that recognises the key line, or,
when none does, `code` for the failing step's own output (else `unknown`) with action `human`
(`source=fallback`). Confidence is the measured precision of that kind of evidence
(`domain.diagnosis.calibration`); the risk gate's confidence floor decides whether it may act alone.

Two guards keep automation honest: a missing Python module is installed only when its distribution
is in `domain.ci_healing.python_distributions` (a guessed name may be a typosquat), and a missing environment variable
whose name looks secret is never given a default automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain.ci_healing.python_distributions import distribution_for
from domain.ci_healing.risk import score, tier
from domain.diagnosis import keylines
from domain.diagnosis.baseline import PassingRun
from domain.diagnosis.calibration import AUTO_FLOOR, calibrate
from domain.diagnosis.decision import choose
from domain.diagnosis.decision import distrusted as is_distrusted
from domain.diagnosis.distill import (
    DistilledLog,
    LogScanner,
    ScanOutcome,
    blocks_from_binary,
    blocks_from_lines,
    body_of,
    distill,
)
from domain.diagnosis.playbooks import Match, PlaybookRule, Playbooks, default_playbooks
from domain.diagnosis.reading import clip
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source
from domain.shared.redaction import Redactor

FALLBACK_CONFIDENCE = 30
OTHER_CANDIDATES = 5  # next best lines kept in the distilled log for a second opinion
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


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}?>"


def _fill(template: str, params: dict[str, str]) -> str:
    return template.format_map(_Defaults(params))


_CODE_EVIDENCE = re.compile(
    r"[\w./\\-]+\.[A-Za-z]\w{0,5}(?::\d+|\(\d+(?:,\d+)?\)|:\[\d+,\d+\])"  # a source location
    r"|(?i:\bassert|\bexpected\b|\btests?\b|\bspecs?\b|\blint|\bcompil|\bsyntax|\bundefined\b|\bnot defined\b"
    r"|\btype ?error|\bdoes not (?:match|exist)|\bmismatch|\bdiff\b|^[-+@]{1,3} )"
)


def generic_category(key_line: str, in_failing_step: bool = False) -> Category:
    """The category of a failure no playbook explains: `code` when it is the output of the step whose own
    command failed (nothing points at a dependency, the environment, the infrastructure or resources),
    or when the key line shows a source location, an assertion, a test, lint or compile failure;
    otherwise `unknown`."""
    if in_failing_step or _CODE_EVIDENCE.search(body_of(key_line)):
        return Category.CODE
    return Category.UNKNOWN


def _calibrated(kind: str, confidence: int, auto_fix: bool, notes: list[str]) -> int:
    """The confidence of this kind of evidence: its measured precision. Calibration only measures; whether
    an action may run alone is the risk gate's floor (`RiskConfig.confidence_floor`) to decide."""
    measured = calibrate(kind, confidence)
    if not measured.measured:
        notes.append(f"confidence {confidence} is the rule's reviewed estimate (not measured on the corpora)")
    elif auto_fix and measured.confidence < AUTO_FLOOR:
        notes.append(
            f"this evidence was right {measured.right} of {measured.n} times where measured: confidence"
            f" {measured.confidence}, below the precision recommended for automatic actions ({AUTO_FLOOR})"
        )
    return measured.confidence


def _diagnosis(
    match: Match,
    distilled: DistilledLog,
    fallback: bool,
    kind: str | None = None,
    in_failing_step: bool = False,
    rules_line: Any = None,
) -> Diagnosis:
    """The verdict of `match` (its rule and params) with `distilled`'s key line; `rules_line`: the line
    the rule recognised when it is not the key line shown (`keylines.shown_evidence`), named apart."""
    rule, params, notes = match.rule, dict(match.params), []
    category, action, auto_fix, confidence = rule.category, rule.action, rule.auto_fix, rule.confidence
    kind = kind or ("generic" if fallback else f"rule:{rule.id}")
    if fallback:
        category = generic_category(distilled.key_line, in_failing_step)
        kind = f"{kind}:{category.value}"
        notes.append(
            "no playbook explains this failure: a human decides"
            + (" (category unknown)" if category is Category.UNKNOWN else "")
        )
    calibration_notes: list[str] = []
    confidence = _calibrated(kind, confidence, auto_fix, calibration_notes)
    measured = calibrate(kind, rule.confidence)
    distrusted = not fallback and in_failing_step and is_distrusted(kind, rule.confidence, pooled=True)
    if distrusted:  # this evidence was mostly wrong where it was measured: the failing step's output decides
        category, action, auto_fix, fallback = (
            generic_category(distilled.key_line, True),
            FixAction.HUMAN,
            False,
            True,
        )
        notes.append(
            f"rule {rule.id} matched, but its evidence was right in only {measured.right} of {measured.n}"
            " measured logs: a human decides"
        )
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
    if category in (Category.CODE, Category.UNKNOWN) or action is FixAction.HUMAN:
        action, auto_fix = FixAction.HUMAN, False
    risk = score(action, category, confidence, rule.risk)
    explanation = _fill(rule.explanation, params)
    if distrusted:
        explanation = (
            f"The failing step's own output ({explanation[:1].lower()}{explanation[1:]} was not trusted)."
        )
    if notes and not fallback:
        explanation += " (" + "; ".join(notes) + ")"
    if rules_line is not None:
        explanation += keylines.named_apart(None if fallback else rule.id, rules_line)
    notes += calibration_notes
    return Diagnosis(
        category=category,
        action=action,
        risk_score=risk,
        tier=tier(risk),
        confidence=confidence,
        key_line=distilled.key_line,
        params=params,
        playbook=rule.id if distrusted else (None if fallback else rule.id),
        explanation=explanation,
        source=Source.FALLBACK if fallback else Source.PLAYBOOK,
        key_line_number=distilled.key_line_number,
        auto_fix=auto_fix,
        steps=[_fill(step, params) for step in rule.plan],
        changes_code=rule.changes_code,
        notes=notes,
        evidence=kind,
    )


def scan(
    blocks: Iterable[tuple[bytes, int]],
    playbooks: Playbooks | None,
    redactor: Redactor | None,
    max_lines: int,
    baseline: PassingRun | None = None,
) -> ScanOutcome:
    """One streaming pass over a log's blocks: its steps, candidates and exit lines."""
    rules = (playbooks if playbooks is not None else default_playbooks()).with_rules(FALLBACK_RULES)
    before = max(0, (max_lines - 1) // 2)
    scanner = LogScanner(
        rules, redactor or Redactor(), before=before, after=max(0, max_lines - 1 - before), baseline=baseline
    )
    for block, size in blocks:
        scanner.feed(block, size)
    return scanner.finish()


def _run(
    blocks: Iterable[tuple[bytes, int]],
    playbooks: Playbooks | None,
    redactor: Redactor | None,
    max_lines: int,
    baseline: PassingRun | None = None,
) -> tuple[Diagnosis, DistilledLog]:
    outcome = scan(blocks, playbooks, redactor, max_lines, baseline)
    choice = choose(outcome.candidates, outcome.steps, outcome.exits)
    if choice is not None:
        key = keylines.pick(outcome, choice.capture, baseline.seen if baseline is not None else None)
        distilled = distill(replace(outcome, best=key), max_lines)
        others = sorted(
            (
                c
                for c in outcome.candidates
                if c is not choice.capture and c is not key and not c.in_pass and not c.summary
            ),
            key=lambda c: (-c.score, c.line_number),
        )[:OTHER_CANDIDATES]
        distilled = distilled.model_copy(
            update={
                "other_candidates": [f"line {c.line_number}: {clip(c.line, 300)}" for c in others],
                "passing_run_lines": len(baseline) if baseline is not None else None,
            }
        )
        top = choice.capture.top
        if top is not None:
            match, rules_line = keylines.shown_evidence(top, key, choice.capture)
            verdict = _diagnosis(match, distilled, False, choice.kind, choice.in_failing_step, rules_line)
            return verdict, distilled
        generic, rules_line = Match(FALLBACK_RULES[-1], {}), None if key is choice.capture else choice.capture
        verdict = _diagnosis(generic, distilled, True, choice.kind, choice.in_failing_step, rules_line)
        return verdict, distilled
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
    passing: Iterable[str] | None = None,
    baseline: PassingRun | None = None,
) -> tuple[Diagnosis, DistilledLog]:
    """Diagnose a log given as lines (trailing newlines optional), streaming once; `passing`: the lines of
    the last passing run of the same job, whose error-like lines are not taken for the cause (or
    `baseline`, those lines already read).

    `provider` (github_actions, gitlab_ci, ...) is informational: step headers of every provider are
    recognised. `redactor` defaults to one without configured secret values.
    """
    del provider
    if isinstance(lines, str):  # a whole log as one string, not an iterable of lines
        lines = lines.splitlines()
    if isinstance(passing, str):
        passing = passing.splitlines()
    if baseline is None and passing is not None:
        baseline = PassingRun.from_lines(passing)
    return _run(blocks_from_lines(lines), playbooks, redactor, max_lines, baseline)


def diagnose_file(
    path: str | Path,
    provider: str | None = None,
    *,
    playbooks: Playbooks | None = None,
    redactor: Redactor | None = None,
    max_lines: int = 80,
    pass_log: str | Path | None = None,
) -> tuple[Diagnosis, DistilledLog]:
    """`diagnose` on a log file, read in binary blocks (UTF-8, undecodable bytes replaced); `pass_log`: the
    log file of the last passing run of the same job."""
    del provider
    baseline = PassingRun.from_file(pass_log) if pass_log is not None else None
    with Path(path).open("rb") as handle:
        return _run(blocks_from_binary(handle), playbooks, redactor, max_lines, baseline)
