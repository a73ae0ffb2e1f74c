"""The diagnosis engine on 52 real CI failure logs (tests/fixtures/ci-logs, labels in labels.jsonl).

Run with `-s` to see the per-category table. Asserted: category accuracy >= 90 %, the key line is always a
verbatim line of the log, no `code` failure is ever automated, and most key lines are the labelled ones.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from domain.diagnosis.engine import diagnose_file
from domain.diagnosis.verdict import Category, Diagnosis, FixAction

CORPUS = Path(__file__).parents[1] / "fixtures" / "ci-logs"
LABELS = [json.loads(line) for line in (CORPUS / "labels.jsonl").read_text().splitlines() if line.strip()]


@cache
def diagnosed(name: str) -> Diagnosis:
    return diagnose_file(CORPUS / name)[0]


def log_lines(name: str) -> list[str]:
    return (CORPUS / name).read_bytes().decode("utf-8", "replace").split("\n")


def test_corpus_is_complete() -> None:
    assert len(LABELS) == 52
    assert all((CORPUS / label["file"]).is_file() for label in LABELS)


def test_category_accuracy_per_category() -> None:
    total, right = Counter(), Counter()
    exact = stripped = 0
    misses = []
    for label in LABELS:
        diagnosis = diagnosed(label["file"])
        total[label["category"]] += 1
        if diagnosis.category.value == label["category"]:
            right[label["category"]] += 1
        else:
            misses.append(f"{label['file']}: {diagnosis.category.value} ({diagnosis.playbook})")
        exact += diagnosis.key_line == label["key_line"]
        stripped += diagnosis.key_line.strip() == label["key_line"].strip()
    print("\ncategory         right / total")
    for category in Category:
        print(f"{category.value:16} {right[category.value]:5} / {total[category.value]}")
    print(f"{'all':16} {sum(right.values()):5} / {len(LABELS)}")
    print(f"key line equal to the label: {exact} exactly, {stripped} ignoring surrounding blanks")
    print("misses:", *misses, sep="\n  ")
    assert sum(right.values()) / len(LABELS) >= 0.90
    assert stripped >= 40


@pytest.mark.parametrize("label", LABELS, ids=[label["file"] for label in LABELS])
def test_key_line_is_a_verbatim_line_of_the_log(label: dict) -> None:
    diagnosis = diagnosed(label["file"])
    assert diagnosis.key_line
    assert diagnosis.key_line in log_lines(label["file"])
    assert log_lines(label["file"])[diagnosis.key_line_number - 1] == diagnosis.key_line


@pytest.mark.parametrize(
    "label", [lb for lb in LABELS if lb["category"] == "code"], ids=lambda lb: lb["file"]
)
def test_code_failures_are_never_automated(label: dict) -> None:
    diagnosis = diagnosed(label["file"])
    assert diagnosis.action is FixAction.HUMAN and not diagnosis.auto_fix


def test_every_diagnosis_honours_the_contract() -> None:
    for label in LABELS:
        contract = diagnosed(label["file"]).contract()
        assert set(contract) == {
            "category", "action", "risk_score", "tier", "confidence", "key_line", "params", "playbook", "explanation",
        }  # fmt: skip
        assert 0 <= contract["risk_score"] <= 10 and 0 <= contract["confidence"] <= 100
