"""Confidence in a fix PR: its evidence weighted, with the playbook's success rate as a ceiling.

score = sum(weight of each PASSED signal) / sum(weights of the signals that exist): a FAILED or MISSING
signal counts 0; an ABSENT one (the repository says it has no such signal) is left out, so the other
weights renormalise. The playbook's measured success rate (`prior`, from the playbook history) can only
lower the score: score = min(weighted, prior). `prior=None` means no history yet (no ceiling).
"""

from __future__ import annotations

from pydantic import Field

from domain.ci_healing.evidence import Evidence, SignalState
from domain.ci_healing.fixpr_config import Signal, Weights
from domain.shared.models import Frozen


class ScoreRow(Frozen):
    """One signal's line in the breakdown table."""

    signal: Signal
    state: SignalState
    weight: float  # as configured
    share: float  # after renormalisation (0 for an absent signal)
    points: float  # share when passed, else 0


class Confidence(Frozen):
    score: float = Field(ge=0, le=1)
    weighted: float = Field(ge=0, le=1)  # before the prior
    prior: float | None = None
    rows: list[ScoreRow]


def confidence(evidence: Evidence, weights: Weights, prior: float | None = None) -> Confidence:
    """The weighted score of `evidence`, capped by `prior` (a success rate in [0, 1]) when known."""
    present = [s for s in Signal if evidence.signals.get(s) is not SignalState.ABSENT]
    total = sum(weights.of(s) for s in present)
    rows: list[ScoreRow] = []
    for signal in Signal:
        state = evidence.signals.get(signal, SignalState.MISSING)
        share = weights.of(signal) / total if total and signal in present else 0.0
        points = share if state is SignalState.PASSED else 0.0
        rows.append(
            ScoreRow(signal=signal, state=state, weight=weights.of(signal), share=share, points=points)
        )
    weighted = round(min(1.0, sum(r.points for r in rows)), 4)
    if prior is not None and not 0.0 <= prior <= 1.0:
        raise ValueError(f"prior must be a success rate in [0, 1], got {prior}")
    score = weighted if prior is None else min(weighted, prior)
    return Confidence(score=score, weighted=weighted, prior=prior, rows=rows)
