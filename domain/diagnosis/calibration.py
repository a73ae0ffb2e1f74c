"""Confidence as measured precision: how often each kind of evidence was right on the tuning corpus.

`playbooks/calibration.json` maps an evidence kind (`rule:<playbook rule id>`, `step-back`, `generic`)
to what it decided on the tuning half of the development corpora (`bench/corpora.py`), one `[n, right]`
per repository (keyed by an anonymous digest of its name): how many logs it decided there, and on how many
both the category and the action were right. `bench/diagnosis.py --calibrate` writes it, from the tuning
half only (the held-out half is never measured, only checked: its reliability table).

The confidence of a measured kind is a lower bound of its precision that holds on logs of other
projects: the Wilson score bound one standard error below the observed rate, counting each repository as
one observation (worth the share of its logs that were right: five failures of one project are one
lesson, not five), and never above the same bound counted by log once the kind decided `MIN_SUPPORT`
logs (a kind wrong again and again stays unsure). 3 repositories right give 75, 20 give 95. A kind seen
in fewer than `MIN_SUPPORT` repositories is judged by its family (the rules of its category in the same
role, pooled, a repository counted once): an environment rule seen in two projects is as sure as the
environment rules measured together. Only evidence with no measurement worth the name, in kind or family,
keeps its rule's reviewed estimate, and says so (`measured` is False).

`precision` and `well_measured` count logs ((right + 1) / (n + 2) over >= `MIN_SUPPORT` logs): a kind
itself measured below `domain.diagnosis.decision.TRUST_FLOOR` does not decide (failing closed, to a
human). Calibration only sets the confidence: whether an action runs alone is decided by the risk gate's
`confidence_floor` (`domain.ci_healing.risk`), which a repository configures; `AUTO_FLOOR` is the
measured precision the issue asks of automatic actions (`allows_auto`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MIN_SUPPORT = 3
AUTO_FLOOR = 95
Z = 1.0  # standard errors below the observed precision
CALIBRATION_FILE = Path(__file__).parents[2] / "playbooks" / "calibration.json"

Counts = tuple[int, int]  # logs decided, right
Measured = dict[str, dict[str, Counts]]  # kind -> repository digest -> counts


@dataclass(frozen=True)
class Calibrated:
    """A confidence and whether it was measured (else it is the rule's reviewed estimate); `n`, `right`:
    the logs it was measured on (the kind's own, or its family's when the kind alone is thin)."""

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
        """Measured on enough logs for its precision to overrule a rule."""
        return self.n >= MIN_SUPPORT

    @property
    def allows_auto(self) -> bool:
        """Whether this evidence meets the recommended floor for automatic actions (`AUTO_FLOOR`)."""
        return not self.measured or self.confidence >= AUTO_FLOOR


def lower_bound(right: float, n: int, z: float = Z) -> float:
    """The Wilson score lower bound of a rate of `right` in `n` (0 when n is 0)."""
    if n <= 0:
        return 0.0
    rate, z2 = right / n, z * z
    centre = rate + z2 / (2 * n)
    spread = z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z2 / n))


def _by_repository(kind: str, value: object) -> dict[str, Counts]:
    """One kind's entry: `{digest: [n, right]}`; a bare `[n, right]` counts every log as its own project."""
    if isinstance(value, Mapping):
        return {str(repo): (int(n), int(right)) for repo, (n, right) in value.items()}
    n, right = value  # type: ignore[misc]
    return {f"{kind}#{i}": (1, int(i < int(right))) for i in range(int(n))}


def normalised(kinds: Mapping[str, object]) -> Measured:
    """`kinds` with every entry per repository (see `_by_repository`)."""
    return {str(kind): _by_repository(str(kind), value) for kind, value in kinds.items()}


@cache
def table(path: Path = CALIBRATION_FILE) -> Measured:
    """The measured kinds ({} when the file is missing or unreadable)."""
    try:
        return normalised(json.loads(path.read_text("utf-8")).get("kinds", {}))
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def family(kind: str) -> str:
    """The kinds a thinly measured kind is judged with: the rules of its category in the same role
    (`rule:env.command-not-found` -> `rule:env`, `rule:infra.dns@setup` -> `rule:infra@setup`)."""
    if not kind.startswith("rule:"):
        return kind
    head, _, role = kind.partition("@")
    return head.split(".")[0] + (f"@{role}" if role else "")


def totals(repositories: Mapping[str, Counts]) -> Counts:
    """Logs decided and right, over all repositories."""
    return sum(n for n, _ in repositories.values()), sum(right for _, right in repositories.values())


def _pooled(kinds: Measured, kind: str) -> dict[str, Counts]:
    """The family of `kind`, one entry per repository (a repository in several kinds counted once)."""
    pooled: dict[str, Counts] = {}
    for other, repositories in kinds.items():
        if family(other) == family(kind):
            for repo, (n, right) in repositories.items():
                seen = pooled.get(repo, (0, 0))
                pooled[repo] = (seen[0] + n, seen[1] + right)
    return pooled


def by_repository_bound(repositories: Mapping[str, Counts], z: float = Z) -> float:
    """The lower bound of the precision, each repository one observation worth its share right."""
    shares = [right / n for n, right in repositories.values() if n > 0]
    return lower_bound(sum(shares), len(shares), z)


def calibrate(
    kind: str, prior: int, measured: Mapping[str, object] | None = None, pooled: bool = True
) -> Calibrated:
    """The confidence of a diagnosis decided by evidence of `kind` (`prior`: the rule's own). A kind seen
    in fewer than `MIN_SUPPORT` repositories is judged by its `family`, pooled, when that was (unless
    `pooled` is False)."""
    kinds = normalised(measured) if measured is not None else table()
    own = kinds.get(kind, {})
    family_counts = _pooled(kinds, kind) if pooled else {}
    own_n, own_right = n, right = totals(own)
    if n < MIN_SUPPORT and totals(family_counts)[0] >= MIN_SUPPORT:  # by log: what distrust judges
        n, right = totals(family_counts)
    for level in (own, family_counts):
        if len(level) >= MIN_SUPPORT:
            found = by_repository_bound(level)
            if own_n >= MIN_SUPPORT:  # a kind wrong again and again is not rescued by its family
                found = min(found, lower_bound(own_right, own_n))
            return Calibrated(round(100 * found), True, n, right)
    return Calibrated(prior, False, n, right)  # nothing worth the name: the reviewed estimate, said so
