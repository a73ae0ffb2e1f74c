"""Confidence as measured precision: how often each kind of evidence was right on the tuning corpus.

`playbooks/calibration.json` maps an evidence kind (`rule:<playbook rule id>`, `step-back`, `generic`)
to `[n, right]`: how many logs of the tuning half of the development corpora (`bench/corpora.py`) it
decided, and on how many both the category and the action were right. `bench/diagnosis.py --calibrate`
writes it, from the tuning half only (the held-out half is never measured).

The confidence of a kind measured at least `MIN_SUPPORT` times is its precision, smoothed toward one
half by one imagined right and one wrong answer ((right + 1) / (n + 2): 5 of 5 gives 86, 20 of 20 gives
95). An unmeasured kind keeps the reviewed confidence of its rule, and says so. An automatic action
needs a measured precision of at least `AUTO_FLOOR`; a kind measured below it never acts alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MIN_SUPPORT = 3
AUTO_FLOOR = 95
CALIBRATION_FILE = Path(__file__).parents[2] / "playbooks" / "calibration.json"


@dataclass(frozen=True)
class Calibrated:
    """A confidence and whether it was measured (else it is the rule's reviewed prior)."""

    confidence: int
    measured: bool
    n: int = 0
    right: int = 0

    @property
    def allows_auto(self) -> bool:
        """Whether an automatic action may follow: never on a kind measured below the floor."""
        return not self.measured or self.confidence >= AUTO_FLOOR


@cache
def table(path: Path = CALIBRATION_FILE) -> dict[str, tuple[int, int]]:
    """The measured kinds ({} when the file is missing or unreadable)."""
    try:
        data = json.loads(path.read_text("utf-8"))
        return {str(kind): (int(n), int(right)) for kind, (n, right) in data.get("kinds", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def calibrate(kind: str, prior: int, measured: dict[str, tuple[int, int]] | None = None) -> Calibrated:
    """The confidence of a diagnosis decided by evidence of `kind` (`prior`: the rule's own)."""
    n, right = (measured if measured is not None else table()).get(kind, (0, 0))
    if n < MIN_SUPPORT:
        return Calibrated(prior, False, n, right)
    return Calibrated(round(100 * (right + 1) / (n + 2)), True, n, right)
