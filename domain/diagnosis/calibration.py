"""Confidence as measured precision: how often each kind of evidence was right on the tuning corpus.

`playbooks/calibration.json` maps an evidence kind (`rule:<playbook rule id>`, `step-back`, `generic`)
to `[n, right]`: how many logs of the tuning half of the development corpora (`bench/corpora.py`) it
decided, and on how many both the category and the action were right. `bench/diagnosis.py --calibrate`
writes it, from the tuning half only (the held-out half is never measured).

The confidence of a measured kind is a lower bound of its precision: the Wilson score interval one
standard error below the observed rate (3 of 3 gives 75, 20 of 20 gives 95, 13 of 15 gives 76), so a kind
seen right a few times cannot claim much. A kind measured fewer than `MIN_SUPPORT` times is judged by its
family (the rules of its category in the same role, pooled): an environment rule seen twice is as sure
as the environment rules measured together. Only evidence with no measurement worth the name, in kind or
family, keeps its rule's reviewed estimate, and says so. `precision` is the point estimate
((right + 1) / (n + 2)); a kind itself measured below `domain.diagnosis.decision.TRUST_FLOOR` does not decide.
Calibration only sets the confidence: whether an action runs alone is decided by the risk gate's
`confidence_floor` (`domain.ci_healing.risk`), which a repository configures; `AUTO_FLOOR` is the
measured precision the issue asks of automatic actions (`allows_auto`), the floor recommended there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MIN_SUPPORT = 3
AUTO_FLOOR = 95
Z = 1.0  # standard errors below the observed precision
CALIBRATION_FILE = Path(__file__).parents[2] / "playbooks" / "calibration.json"


@dataclass(frozen=True)
class Calibrated:
    """A confidence and whether it was measured (else it is the rule's reviewed estimate)."""

    confidence: int
    measured: bool
    n: int = 0
    right: int = 0

    @property
    def precision(self) -> float:
        """The smoothed observed precision ((right + 1) / (n + 2)), 0.5 when never measured."""
        return (self.right + 1) / (self.n + 2)

    @property
    def well_measured(self) -> bool:
        """Measured often enough for its precision to overrule a rule."""
        return self.n >= MIN_SUPPORT

    @property
    def allows_auto(self) -> bool:
        """Whether this evidence meets the recommended floor for automatic actions (`AUTO_FLOOR`)."""
        return not self.measured or self.confidence >= AUTO_FLOOR


def lower_bound(right: int, n: int, z: float = Z) -> float:
    """The Wilson score lower bound of a rate of `right` in `n` (0 when n is 0)."""
    if n <= 0:
        return 0.0
    rate, z2 = right / n, z * z
    centre = rate + z2 / (2 * n)
    spread = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z2 / n))


@cache
def table(path: Path = CALIBRATION_FILE) -> dict[str, tuple[int, int]]:
    """The measured kinds ({} when the file is missing or unreadable)."""
    try:
        data = json.loads(path.read_text("utf-8"))
        return {str(kind): (int(n), int(right)) for kind, (n, right) in data.get("kinds", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def family(kind: str) -> str:
    """The kinds a thinly measured kind is judged with: the rules of its category in the same role
    (`rule:env.command-not-found` -> `rule:env`, `rule:infra.dns@setup` -> `rule:infra@setup`)."""
    if not kind.startswith("rule:"):
        return kind
    head, _, role = kind.partition("@")
    return head.split(".")[0] + (f"@{role}" if role else "")


def calibrate(
    kind: str, prior: int, measured: dict[str, tuple[int, int]] | None = None, pooled: bool = True
) -> Calibrated:
    """The confidence of a diagnosis decided by evidence of `kind` (`prior`: the rule's own). A kind
    measured fewer than `MIN_SUPPORT` times is judged by its `family`, pooled, when that was (unless
    `pooled` is False)."""
    kinds = measured if measured is not None else table()
    n, right = kinds.get(kind, (0, 0))
    if n < MIN_SUPPORT and pooled:
        pooled = [counts for other, counts in kinds.items() if family(other) == family(kind)]
        pooled_n, pooled_right = sum(c[0] for c in pooled), sum(c[1] for c in pooled)
        if pooled_n >= MIN_SUPPORT:
            n, right = pooled_n, pooled_right
    if n < MIN_SUPPORT:  # no measurement worth the name: the rule's reviewed estimate stands, and says so
        return Calibrated(prior, False, n, right)
    return Calibrated(round(100 * lower_bound(right, n)), True, n, right)
