"""Per-rule ablation by half: what each playbook rule (and each engine heuristic) is worth on each half.

The issue's discipline, done for every rule at once: a rule that only helps the half it was tuned on is
overfitting. Every log of `bench/corpora.py` is diagnosed once with all rules, recording which rules
matched any of its lines (`RecordingPlaybooks`); then, for each rule, only the logs it matched are
diagnosed again without it (a rule that matched no line of a log cannot change its diagnosis: the lines
it alone would have examined match nothing, and evidence words are examined with or without it; checked
against re-diagnosing every log in tests/unit/test_ablate.py). Printed per rule: the logs it matched on
each half and in how many repositories, and the change in category / action / key-line hits on `tune`
and on `held-out` when it alone is removed (negative: the rule helped). Calibration stays as measured.

`--heuristics` also switches off, one at a time, the engine heuristics of `domain.diagnosis.decision`
named in `HEURISTICS` (every log is diagnosed again for each).

Usage: .venv/bin/python bench/ablate.py [--heuristics [NAME,NAME]] [--rules ID,ID|none] [--json FILE]
(make bench-ablate ARGS=...)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpora import HELD_OUT, TUNE, Item  # noqa: E402

from domain.diagnosis import decision  # noqa: E402
from domain.diagnosis.engine import diagnose_file  # noqa: E402
from domain.diagnosis.playbooks import PlaybookRule, Playbooks, default_playbooks  # noqa: E402

HALVES = (TUNE, HELD_OUT)
Hits = tuple[int, int, int]  # category, action, key line: 1 when right

# Engine heuristics switched off by name (`--heuristics causal-order,repeat`): module attributes of
# `domain.diagnosis.decision` and the value that disables each.
HEURISTICS: dict[str, dict[str, Any]] = {
    "failing-step-bonus": {"FAILING_STEP_BONUS": 0},
    "passing-step-penalties": {"PASSING_STEP_PENALTY": 0, "SUCCEEDED_STEP_PENALTY": 0},
    "step-back": {"step_back": lambda *_: None},  # from the exit line to the detail it summarises
    "repeat": {"REPEAT_MARGIN": -(10**6)},  # a failure reported again: its first report is the key line
    "causal-order": {"CAUSE_MIN_PRIORITY": 10**6},  # a cause before a code symptom is the key line
    "distrust": {"TRUST_FLOOR": 0},  # evidence measured mostly wrong earns no points
}


class RecordingPlaybooks(Playbooks):
    """Playbooks that note the id of every rule matching a line (into `seen`)."""

    def __init__(self, rules: Iterable[PlaybookRule], seen: set[str]) -> None:
        super().__init__(rules)
        self.seen = seen

    def with_rules(self, extra: Iterable[PlaybookRule]) -> RecordingPlaybooks:
        return RecordingPlaybooks([*self.rules, *extra], self.seen)

    def match(self, body: str) -> list[Any]:
        found = super().match(body)
        self.seen.update(m.rule.id for m in found)
        return found


def hits(item: Item, playbooks: Playbooks) -> Hits:
    diagnosis, _ = diagnose_file(item.path, playbooks=playbooks)
    return (
        int(diagnosis.category.value == item.category),
        int(diagnosis.action.value == item.action),
        int(item.hit(diagnosis.key_line)),
    )


@dataclass
class Effect:
    """What removing one rule (or heuristic) changes, per half."""

    name: str
    logs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HALVES, 0))
    repositories: dict[str, set[str]] = field(default_factory=lambda: {h: set() for h in HALVES})
    delta: dict[str, list[int]] = field(default_factory=lambda: {h: [0, 0, 0] for h in HALVES})
    changed: list[str] = field(default_factory=list)  # logs whose hits changed (tune only: never look)

    def add(self, item: Item, before: Hits, after: Hits) -> None:
        self.logs[item.half] += 1
        self.repositories[item.half].add(item.repository)
        for index in range(3):
            self.delta[item.half][index] += after[index] - before[index]
        if after != before and item.half == TUNE:
            self.changed.append(item.name)

    def verdict(self) -> str:
        """The issue's rule applied to these figures (see docs/diagnosis.md, per-rule ablation)."""
        tune, held = sum(self.delta[TUNE]), sum(self.delta[HELD_OUT])
        if any(d > 0 for d in self.delta[HELD_OUT]):
            falls = any(d < 0 for d in self.delta[HELD_OUT])
            return "mixed on held-out" if falls else "removal raises held-out"
        if self.logs[HELD_OUT] == 0 and len(self.repositories[TUNE]) == 1:
            return "one tune repository only"
        if held == 0 and tune < 0:
            return "helps tune only"
        if held < 0:
            return "helps held-out"
        return "no change" if tune == 0 else "removal raises tune"


def baseline(items: list[Item], rules: Iterable[PlaybookRule]) -> dict[str, tuple[Hits, set[str]]]:
    """Each log's hits with all rules and the ids of the rules that matched any of its lines."""
    result = {}
    for item in items:
        seen: set[str] = set()
        result[item.name] = (hits(item, RecordingPlaybooks(rules, seen)), seen)
    return result


def ablate_rules(
    items: list[Item],
    playbooks: Playbooks,
    base: dict[str, tuple[Hits, set[str]]],
    rule_ids: Iterable[str] | None = None,
) -> list[Effect]:
    """For each rule, the change in hits when it alone is removed, over the logs it matched."""
    effects = []
    for rule_id in rule_ids or [rule.id for rule in playbooks.rules]:
        without = Playbooks([rule for rule in playbooks.rules if rule.id != rule_id])
        effect = Effect(rule_id)
        for item in items:
            before, seen = base[item.name]
            if rule_id in seen:
                effect.add(item, before, hits(item, without))
        effects.append(effect)
    return effects


@contextmanager
def switched_off(settings: dict[str, Any]):
    saved = {name: getattr(decision, name) for name in settings}
    try:
        for name, value in settings.items():
            setattr(decision, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(decision, name, value)


def ablate_heuristics(
    items: list[Item],
    playbooks: Playbooks,
    base: dict[str, tuple[Hits, set[str]]],
    names: list[str] | None = None,
) -> list[Effect]:
    """For each heuristic of `HEURISTICS` (or of `names`), the change in hits over every log when it alone
    is off."""
    effects = []
    for name in names or list(HEURISTICS):
        settings = HEURISTICS[name]
        effect = Effect(name)
        with switched_off(settings):
            for item in items:
                effect.add(item, base[item.name][0], hits(item, playbooks))
        effects.append(effect)
    return effects


def _signed(values: list[int]) -> str:
    return " ".join(f"{v:+3d}" if v else "  ." for v in values)


def table(effects: list[Effect], out: Callable[[str], None] = print) -> None:
    out(
        f"{'rule (or heuristic)':44} {'logs tune/held':>14} {'repos':>7}  {'removed: Δ tune c/a/k':>21}"
        f"  {'Δ held-out c/a/k':>16}  verdict"
    )
    for e in effects:
        logs = f"{e.logs[TUNE]}/{e.logs[HELD_OUT]}"
        repos = f"{len(e.repositories[TUNE])}/{len(e.repositories[HELD_OUT])}"
        out(
            f"{e.name[:44]:44} {logs:>14} {repos:>7}  {_signed(e.delta[TUNE]):>21}"
            f"  {_signed(e.delta[HELD_OUT]):>16}  {e.verdict()}"
        )


def main() -> None:
    from corpora import all_items

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--heuristics",
        nargs="?",
        const="all",
        help="also switch off each engine heuristic (or these, comma-separated)",
    )
    parser.add_argument("--rules", help="comma-separated rule ids (default: every rule; `none`: no rule)")
    parser.add_argument("--json", type=Path, help="also write the effects to this file")
    args = parser.parse_args()
    items, playbooks = all_items(), default_playbooks()
    started = time.perf_counter()
    base = baseline(items, playbooks.rules)
    totals = {h: [sum(base[i.name][0][k] for i in items if i.half == h) for k in range(3)] for h in HALVES}
    counts = {h: sum(i.half == h for i in items) for h in HALVES}
    print(f"all rules, {len(items)} logs in {time.perf_counter() - started:.1f} s; hits category/action/key:")
    for half in HALVES:
        print(f"  {half}: {counts[half]} logs, {'/'.join(map(str, totals[half]))}")
    chosen = [] if args.rules == "none" else args.rules.split(",") if args.rules else None
    effects = ablate_rules(items, playbooks, base, chosen) if chosen != [] else []
    effects.sort(key=lambda e: (e.verdict(), e.name))
    if args.heuristics:
        names = None if args.heuristics == "all" else args.heuristics.split(",")
        effects += ablate_heuristics(items, playbooks, base, names)
    print(f"ablation done in {time.perf_counter() - started:.1f} s (Δ: hits without it minus with it)\n")
    table(effects)
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "name": e.name,
                        "logs": e.logs,
                        "repositories": {h: len(r) for h, r in e.repositories.items()},
                        "delta": e.delta,
                        "verdict": e.verdict(),
                    }
                    for e in effects
                ],
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
