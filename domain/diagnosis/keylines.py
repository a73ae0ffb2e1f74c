"""The key line chosen by a learned linear model among the lines a scan kept, in pure Python.

The evidence rules (`domain.diagnosis.decision`) decide the category; the line shown as the key line is
the one the model rates most likely to be a line a log's authors would mark as the failure, among the
candidates, the exit lines, the windows around them and the log's last lines (`domain.diagnosis.
line_features`). The model is plain data, `models/keyline.json` (written by `bench/train_keylines.py`
on the tune half of the corpora): feature names, their mean and scale, weights and bias; a line's score
is a dot product. Without a model file (or with one whose features differ) the rules' line stays.
A line replaces the rules' line when rated `margin` above it, or only `weak_margin` above a failing
step's line that no playbook rule backs. The verdict then describes the line shown (`shown_evidence`):
the rule's params re-taken from it when the rule recognises it, else the rule's own line named apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from domain.diagnosis.candidates import Capture
from domain.diagnosis.distilled import displayed
from domain.diagnosis.line_features import (
    CLIPPED,
    FEATURES,
    Line,
    LogContext,
    _step_of,
    features,
    nearby_lines,
)
from domain.diagnosis.playbooks import Match, params_of
from domain.diagnosis.reading import body_of, clip

MODEL_FILE = Path(__file__).parent / "models" / "keyline.json"
SCHEMA = {"about", "features", "mean", "scale", "weights", "bias", "margin", "weak_margin", "trained"}
_RULE_CHOICE, _IN_PASS = FEATURES.index("rule_choice"), FEATURES.index("in_pass")
_INDENT, _PREV_EVIDENCE = FEATURES.index("indent"), FEATURES.index("prev_evidence")
WINDOW = 40  # lines kept before and after a key line the model chose


class ModelError(ValueError):
    """A model file that is not a key-line model of the current features."""


@dataclass(frozen=True)
class LineModel:
    """A linear model over standardised features."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    margin: float = 0.0  # how much more likely a line must be rated than the rules' line to replace it
    weak_margin: float | None = None  # the same over a failing step's line no rule backs (None: `margin`)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> LineModel:
        missing = SCHEMA - set(data)
        if missing:
            raise ModelError(f"key-line model lacks {sorted(missing)}")
        names = tuple(data["features"])
        if names != tuple(FEATURES):
            raise ModelError("key-line model was trained on other features: retrain it (make train-keylines)")
        columns = [tuple(float(v) for v in data[key]) for key in ("mean", "scale", "weights")]
        if any(len(column) != len(names) for column in columns):
            raise ModelError("key-line model: mean, scale and weights must have one value per feature")
        if not all(math.isfinite(v) for column in columns for v in column) or any(s <= 0 for s in columns[1]):
            raise ModelError("key-line model: values must be finite and scales positive")
        margin, weak = float(data["margin"]), float(data["weak_margin"])
        if not all(math.isfinite(m) and m >= 0 for m in (margin, weak)):
            raise ModelError("key-line model: the margin must be finite and not negative")
        return cls(names, *columns, float(data["bias"]), margin, weak)

    def margin_for(self, backed: bool) -> float:
        """The margin over the rules' line: `margin` when a playbook rule backs it or no step is known to
        have failed, else `weak_margin` (the failing step's step-back or unexplained line: less evidence
        for it, so less needed against it)."""
        return self.margin if backed or self.weak_margin is None else self.weak_margin

    def score(self, vector: Sequence[float]) -> float:
        return self.bias + sum(
            w * (x - m) / s for w, x, m, s in zip(self.weights, vector, self.mean, self.scale, strict=True)
        )


@cache
def default_model() -> LineModel | None:
    """The shipped model, or None when there is none or it does not fit the current features (then the
    rules' line is shown: a stale model never stops a diagnosis; tests check the shipped one fits)."""
    try:
        return LineModel.from_data(json.loads(MODEL_FILE.read_text()))
    except (OSError, ValueError, TypeError, KeyError):  # ModelError and JSONDecodeError are ValueErrors
        return None


def scored_lines(outcome: Any, chosen: Any, in_pass: Any = None) -> tuple[list[Line], list[list[float]]]:
    """The lines a scan kept (with `chosen`, the rules' key line) and their feature vectors."""
    extra = [chosen] if chosen is not None else []
    lines = [line for line in nearby_lines(outcome, extra) if line.body.strip()]
    context = LogContext(
        outcome.total_lines, outcome.steps, chosen.line_number if chosen is not None else None, in_pass
    )
    return lines, features(lines, context)


def _as_capture(line: Line, lines: list[Line], outcome: Any, source: Any) -> Any:
    if line.capture is not None:
        return line.capture
    by_number = {other.number: other.text for other in lines}
    before = [by_number.get(n, "") for n in range(max(1, line.number - WINDOW), line.number)]
    after = [
        by_number.get(n, "")
        for n in range(line.number + 1, min(outcome.total_lines, line.number + WINDOW) + 1)
    ]
    step = _step_of(line.number, outcome.steps)
    capture = Capture(
        None,
        line.number,
        line.text.removesuffix(CLIPPED),
        before,
        step.name if step else None,
        source.redactor,
        0,
    )
    capture.after, capture.step_index = after, step.index if step else 0
    return capture


def choose_index(
    scores: Sequence[float], vectors: Sequence[Sequence[float]], margin: float, cause: bool
) -> int | None:
    """Which line to show (an index into `scores`), None for the rules' line: the best-rated line that the
    passing run does not print, when it is rated more than `margin` above the rules' line, unless the rules'
    line is a cause (a dependency, environment, infrastructure or resource rule: causal order decided).
    An indented continuation right under an error line (`  on line 98 of x.sass`) gives way to it."""
    chosen = next((i for i, v in enumerate(vectors) if v[_RULE_CHOICE]), None)
    allowed = [i for i, v in enumerate(vectors) if not v[_IN_PASS]]
    if (cause and chosen is not None) or not allowed:
        return chosen
    best = max(allowed, key=lambda i: scores[i])  # the earliest on ties
    if chosen is not None and scores[best] - scores[chosen] <= margin:
        return chosen
    head = best - 1  # an indented continuation right under a message: the message is shown
    if vectors[best][_INDENT] and vectors[best][_PREV_EVIDENCE] and not vectors[head][_INDENT]:
        return head if not vectors[head][_IN_PASS] else best
    return best


def pick(outcome: Any, chosen: Any, in_pass: Any = None, model: LineModel | None = None) -> Any:
    """The capture of the line to show as the key line (`chosen`, the rules' line, when there is no
    model, no line or no better-rated one; see `choose_index`)."""
    model = model or default_model()
    if model is None or chosen is None:
        return chosen
    lines, vectors = scored_lines(outcome, chosen, in_pass)
    top = chosen.top
    cause = top is not None and top.rule.category.value != "code"
    failing = next((step for step in outcome.steps if step.failed), None)
    weak = top is None and failing is not None and chosen.step_index == failing.index
    margin = model.margin_for(backed=not weak)
    index = choose_index([model.score(v) for v in vectors], vectors, margin, cause)
    if index is None:
        return chosen
    return _as_capture(lines[index], lines, outcome, chosen)


def shown_evidence(match: Match, shown: Any, rules_line: Any) -> tuple[Match, Any | None]:
    """The rule's evidence as the line shown carries it, so that a verdict describes its own key line.

    When the shown line is the rules' line, or the rule recognises the shown line too (its pattern
    matches, its exclusion does not, its context is in the shown line's window), the params come from
    the shown line: `(its match, None)`. Otherwise the verdict still rests on the rules' line, which is
    returned beside the rule's match for the explanation to name separately: `(match, rules_line)`."""
    if shown is rules_line:
        return match, None
    rule, body = match.rule, body_of(displayed(shown.line))  # the text the verdict shows
    hit = rule.regex.search(body)
    excluded = rule.exclude_regex is not None and rule.exclude_regex.search(body) is not None
    if hit is not None and not excluded:
        context, width = rule.context_regex, rule.context_lines
        near = [*shown.before[-width:], shown.line, *shown.after[:width]]
        if context is None or any(context.search(body_of(text)) for text in near):
            return Match(rule, params_of(hit), match.priority, match.context, match.context_lines), None
    return match, rules_line


def named_apart(rule_id: str | None, rules_line: Any) -> str:
    """The sentence that names the evidence rules' own line when the key line shown is another one."""
    text = clip(body_of(displayed(rules_line.line)).strip(), 200)
    if rule_id is None:
        return (
            " The key line shown is the line the key-line model rated most likely to report the failure;"
            f" the evidence rules' own pick was line {rules_line.line_number} ({text!r})."
        )
    return (
        f" Rule {rule_id} recognised line {rules_line.line_number} ({text!r}), which the params describe;"
        " the key line shown is the line the key-line model rated most likely to report the failure."
    )
