"""From the candidates of a scanned log to the key line and the evidence that decides the category.

1. The failing step is the first step that ended with a non-zero exit (`domain.diagnosis.structure`);
   its lines gain `FAILING_STEP_BONUS`, lines of steps that passed lose `PASSING_STEP_PENALTY`.
2. The key line is the candidate with the highest score, the earliest on ties (the first report of a
   failure is its cause; later ones are repeats or fallout), among the failing step's own candidates
   when it has any (an error another step printed and went on after is not why the build failed).
   Summary and exit lines already lost points, so the detail they summarise wins when there is one.
   A failure the same rule recognises again (nearly as strongly) is a repeat: its first report wins.
3. Causal order: when the key line is a `code` symptom and, earlier in the same step (or in the next
   `EXPLAINED_WITHIN` lines, as its explanation), a playbook rule recognised a dependency, environment,
   infrastructure or resource cause, that cause is the key line (a compile error after `Could not resolve
   dependencies` is a dependency failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.diagnosis.calibration import calibrate
from domain.diagnosis.candidates import Capture
from domain.diagnosis.evidence import is_quoted_source, rule_bonus, score
from domain.diagnosis.reading import body_of
from domain.diagnosis.structure import Step, is_marker, is_summary, step_role
from domain.diagnosis.verdict import Category

FAILING_STEP_BONUS = 6
PASSING_STEP_PENALTY = 3  # a step that ended without reporting a status
SUCCEEDED_STEP_PENALTY = 10  # a step that reported exit status 0
CAUSE_MIN_PRIORITY = 45  # a rule at least this specific may be the cause of a later code symptom
EXPLAINED_WITHIN = 3  # a cause printed this few lines after a symptom explains it (javac: bad class file)
REPEAT_MARGIN = 3  # an earlier line of the same rule scoring at most this much less is the first report
TRUST_FLOOR = 50  # evidence measured less precise than this (in %) is not trusted
CAUSES = frozenset({Category.DEPENDENCY, Category.ENVIRONMENT, Category.INFRASTRUCTURE, Category.RESOURCE})


@dataclass(frozen=True)
class Choice:
    """The chosen key line and how it was chosen (`kind` is the evidence kind calibration measures)."""

    capture: Any  # a `domain.diagnosis.distill.Capture`
    kind: str
    in_failing_step: bool


def _final(capture: Any, failing: Step | None, steps: dict[int, Step]) -> int:
    total = capture.score
    if failing is not None:
        if capture.step_index == failing.index:
            total += FAILING_STEP_BONUS
        elif (step := steps.get(capture.step_index)) is not None and step.succeeded:
            total -= SUCCEEDED_STEP_PENALTY
        elif step is not None and step.end is not None and not step.failed:
            total -= PASSING_STEP_PENALTY
    return total


def step_back(exit_line: Any, step: Step) -> Any | None:
    """The detail an exit line summarises: of the lines of its step just before it (markers, blanks and
    summaries skipped), the one with the most evidence, the nearest on ties. None if there is none."""
    lines = exit_line.before
    first = exit_line.line_number - len(lines)
    best: tuple[int, int] | None = None
    for offset in range(len(lines) - 1, -1, -1):
        if first + offset <= step.start:
            break
        body = body_of(lines[offset])
        if is_marker(body) or is_summary(body) or exit_line.in_pass:
            continue
        strength = score(body, (), False)
        if best is None or strength > best[0]:
            best = (strength, offset)
    if best is None:
        return None
    offset = best[1]
    after = [*lines[offset + 1 :], exit_line.line, *exit_line.after]
    found = Capture(
        None, first + offset, lines[offset], lines[:offset], exit_line.step, exit_line.redactor, 0
    )
    found.after, found.score, found.step_index = after, best[0], exit_line.step_index
    return found


def first_report(key: Any, pool: list[Any], final: Any) -> Any:
    """The first line of `key`'s step that the same playbook rule recognises with nearly its score
    (within `REPEAT_MARGIN`): a failure reported again is a repeat, its first report is the cause."""
    rule = key.top.rule.id if key.top is not None else None
    if rule is None:
        return key
    floor = final(key) - REPEAT_MARGIN
    repeats = [
        c
        for c in pool
        if c.step_index == key.step_index
        and c.top is not None
        and c.top.rule.id == rule
        and final(c) >= floor
    ]
    return min(repeats, key=lambda c: c.line_number, default=key)


def choose(candidates: list[Any], steps: list[Step], exits: list[Any] = ()) -> Choice | None:  # type: ignore[assignment]
    """The key line among `candidates` (see the module docstring), or None when there are none."""
    candidates = [c for c in candidates if not is_quoted_source(body_of(c.line))]
    for capture in candidates:  # the rule that counts may have a context found after the line
        top = capture.top
        trusted = top is not None and not distrusted(
            rule_kind(top.rule.id, capture.step), top.rule.confidence
        )
        capture.score = capture.base + (rule_bonus(top, capture.summary) if trusted else 0)
    failing = next((step for step in steps if step.failed), None)
    if failing is not None:
        inside = [c for c in candidates if c.step_index == failing.index and not c.summary and not c.in_pass]
        exit_line = next((e for e in exits if e.step_index == failing.index), None)
        if not inside and exit_line is not None and (detail := step_back(exit_line, failing)) is not None:
            return Choice(detail, "step-back", True)
    if not candidates:
        return None
    by_index = {step.index: step for step in steps}
    pool = inside if failing is not None and inside else candidates  # the failing step's own evidence first
    key = max(pool, key=lambda c: (_final(c, failing, by_index), -c.line_number))
    key = first_report(key, pool, lambda c: _final(c, failing, by_index))
    in_failing = failing is not None and key.step_index == failing.index
    top = key.top
    if top is None or top.rule.category is Category.CODE:
        causes = [
            c
            for c in candidates
            if c.step_index == key.step_index
            and (c.line_number < key.line_number or 0 < c.line_number - key.line_number <= EXPLAINED_WITHIN)
            and c.top is not None
            and c.top.rule.category in CAUSES
            and c.top.priority >= CAUSE_MIN_PRIORITY
            and not c.in_pass
            and not distrusted(rule_kind(c.top.rule.id, c.step), c.top.rule.confidence)
        ]
        if causes:
            cause = min(causes, key=lambda c: c.line_number)
            return Choice(cause, rule_kind(cause.top.rule.id, cause.step), in_failing)
    if top is not None:
        return Choice(key, rule_kind(top.rule.id, key.step), in_failing)
    return Choice(key, "generic", in_failing)


def distrusted(kind: str, prior: int, pooled: bool = False) -> bool:
    """Evidence measured mostly wrong (`domain.diagnosis.calibration`): by itself, it earns no points and
    names no cause; with its family (`pooled`), it does not decide the failing step's category."""
    measured = calibrate(kind, prior, pooled=pooled)
    return measured.well_measured and 100 * measured.precision < TRUST_FLOOR


def rule_kind(rule_id: str, step: str | None) -> str:
    """The evidence kind of a rule's match: the rule, and whether it fired in a setup step."""
    return f"rule:{rule_id}" + ("@setup" if step_role(step) == "setup" else "")
