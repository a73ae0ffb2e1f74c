"""bench/diagnosis.py `--confusion`: label against answer per half, counts only (no log is named)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("diagnosis_bench", ROOT / "bench" / "diagnosis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["diagnosis_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_confusion_counts_label_against_answer_per_half(bench, capsys) -> None:
    corpora = sys.modules["corpora"]
    repos = {corpora.half_of(name): name for name in (f"acme/repo{i}" for i in range(20))}
    tune, held = repos[corpora.TUNE], repos[corpora.HELD_OUT]

    def row(repo: str, label: tuple[str, str], answer: tuple[str, str]):
        item = corpora.Item("x", "secret-log-name.log", Path("x"), repo, *label, truth=[])
        return item, bench.Answer(*answer, key_line="", confidence=0, auto_fix=False)

    rows = [
        row(tune, ("code", "human"), ("code", "human")),
        row(tune, ("dependency", "pin_or_bump_dependency"), ("code", "human")),
        row(tune, ("dependency", "pin_or_bump_dependency"), ("code", "human")),
        row(held, ("infrastructure", "retry"), ("unknown", "human")),
    ]
    bench.confusion(rows)
    out = capsys.readouterr().out
    assert "secret-log-name" not in out
    tune_category = out.split("== confusion of category / tune")[1].split("==")[0].splitlines()
    header, *body = [line for line in tune_category[1:] if line.strip()]
    assert header.split() == ["code", "dependency"]
    assert {line.split()[0]: line.split()[1:] for line in body} == {
        "code": ["1", "."],
        "dependency": ["2", "."],
    }
    held_action = out.split("== confusion of action / held-out")[1].splitlines()
    header, *body = [line for line in held_action[1:] if line.strip()]
    assert header.split() == ["human", "retry"] and body[0].split() == ["retry", "1", "."]
