"""The per-rule ablation of bench/ablate.py on real excerpts (tests/fixtures/ci-logs): recording which
rules matched a log, and re-diagnosing only those logs, gives the same changes as re-diagnosing every log."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from domain.diagnosis import decision
from domain.diagnosis.playbooks import Playbooks, default_playbooks

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ci-logs"
# Logs of different failures: a dependency, infrastructure, flaky test, environment and code failure.
NAMES = [
    "000-dependency.log",
    "003-infrastructure.log",
    "004-flaky_test.log",
    "007-environment.log",
    "008-code.log",
]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ablate():
    return _module("ablate")


@pytest.fixture(scope="module")
def items(ablate):
    corpora = sys.modules["corpora"]
    chosen = [item for item in corpora.ci_logs(FIXTURES) if item.name in NAMES]
    assert len(chosen) == len(NAMES)
    return chosen


@pytest.fixture(scope="module")
def base(ablate, items):
    return ablate.baseline(items, default_playbooks().rules)


def test_baseline_records_the_rules_that_matched(base) -> None:
    matched = {name: seen for name, (_, seen) in base.items()}
    assert all(matched.values()), "each of these failures is recognised by some rule"
    known = {rule.id for rule in default_playbooks().rules}
    assert all(seen <= known | {s for s in seen if s.startswith("fallback.")} for seen in matched.values())
    assert len(set().union(*matched.values())) > len(NAMES), "a log matches more than its deciding rule"


def test_re_diagnosing_only_matched_logs_equals_re_diagnosing_all(ablate, items, base) -> None:
    playbooks = default_playbooks()
    seen_anywhere = {rule for _, seen in base.values() for rule in seen}
    matched = sorted(rule for rule in base["000-dependency.log"][1] if not rule.startswith("fallback."))
    unmatched = next(rule.id for rule in playbooks.rules if rule.id not in seen_anywhere)
    effects = ablate.ablate_rules(items, playbooks, base, [*matched, unmatched])
    for effect in effects:  # the logs a rule did not match are the same without it
        without = Playbooks([rule for rule in playbooks.rules if rule.id != effect.name])
        for item in items:
            if effect.name not in base[item.name][1]:
                assert ablate.hits(item, without) == base[item.name][0], (effect.name, item.name)
    by_name = {effect.name: effect for effect in effects}
    assert sum(by_name[unmatched].logs.values()) == 0 and by_name[unmatched].verdict() == "no change"
    assert sum(by_name["dep.sbt-ivy"].logs.values()) == 1
    assert sum(by_name["dep.sbt-ivy"].delta[ablate.HELD_OUT]) < 0, (
        "removing the rule that recognises it loses"
    )


def test_a_heuristic_is_switched_off_and_restored(ablate) -> None:
    saved = decision.FAILING_STEP_BONUS
    with ablate.switched_off({"FAILING_STEP_BONUS": 0, "step_back": lambda *_: None}):
        assert decision.FAILING_STEP_BONUS == 0 and decision.step_back(None, None) is None
    assert saved == decision.FAILING_STEP_BONUS and decision.step_back.__name__ == "step_back"
    assert all(hasattr(decision, name) for settings in ablate.HEURISTICS.values() for name in settings)


def test_verdicts_follow_the_rule_of_the_issue(ablate, items) -> None:
    tune = next(i for i in items if i.half == ablate.TUNE)
    held = next(i for i in items if i.half == ablate.HELD_OUT)
    only_tune = ablate.Effect("x")
    only_tune.add(tune, (1, 1, 1), (0, 1, 1))
    assert only_tune.verdict() == "one tune repository only"
    hurts = ablate.Effect("y")
    hurts.add(tune, (1, 1, 1), (0, 0, 0))
    hurts.add(held, (0, 1, 0), (1, 1, 0))
    assert hurts.verdict() == "removal raises held-out"
    helps = ablate.Effect("z")
    helps.add(held, (1, 1, 1), (1, 0, 1))
    assert helps.verdict() == "helps held-out"
