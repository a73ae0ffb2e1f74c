"""A verdict describes the key line it shows: when the key-line model shows another line than the one the
evidence rules chose, the params and the explanation come from the shown line, or name the rules' line."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.diagnosis import keylines
from domain.diagnosis.engine import diagnose
from domain.diagnosis.keylines import LineModel

from .test_keyline_model import SASS, hand_model, lines_of

RUST = Path(__file__).parents[1] / "fixtures" / "diagnosis" / "travis-redox-rust-errors.log"
FIRST = "method `oom` is not a member of trait `Alloc`"  # line 17, the rules' line (labelled 17-67)


def diagnosed(path: Path, monkeypatch: pytest.MonkeyPatch, model: LineModel | None = None):  # type: ignore[no-untyped-def]
    if model is not None:
        monkeypatch.setattr(keylines, "default_model", lambda: model)
    return diagnose(lines_of(path))


def test_the_rules_line_shown_keeps_its_own_params(monkeypatch: pytest.MonkeyPatch) -> None:
    diagnosis, distilled = diagnosed(RUST, monkeypatch)
    assert distilled.key_line_number == 17 and diagnosis.playbook == "code.rust"
    assert diagnosis.params == {"message": FIRST}
    assert diagnosis.explanation == f"The Rust code does not compile: {FIRST}"


def test_another_line_the_rule_recognises_gives_its_own_params(monkeypatch: pytest.MonkeyPatch) -> None:
    model = hand_model(rule=5.0, rule_choice=-10.0, position=1.0)  # the last line a rule recognises
    diagnosis, distilled = diagnosed(RUST, monkeypatch, model)
    shown = "method `dealloc` has an incompatible type for trait"
    assert distilled.key_line_number == 60 and shown in diagnosis.key_line
    assert diagnosis.playbook == "code.rust" and diagnosis.params == {"message": shown}
    assert diagnosis.explanation == f"The Rust code does not compile: {shown}"
    assert diagnosis.steps == ["Fix the Rust compile error at the reported location"]
    assert set(diagnosis.contract()) == {
        *("category", "action", "risk_score", "tier", "confidence", "key_line", "params", "playbook"),
        "explanation",
    }


def test_a_shown_line_without_the_rules_evidence_names_the_rules_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    diagnosis, distilled = diagnosed(RUST, monkeypatch, hand_model(exit=5.0))
    assert distilled.key_line_number == 81 and "exited with 2" in diagnosis.key_line
    assert diagnosis.category.value == "code" and diagnosis.playbook == "code.rust"
    assert diagnosis.params == {"message": FIRST}  # the evidence the verdict rests on, named below
    assert diagnosis.explanation.startswith(f"The Rust code does not compile: {FIRST} Rule code.rust")
    assert f"recognised line 17 ('error[E0407]: {FIRST}')" in diagnosis.explanation
    assert "\x1b" not in diagnosis.explanation and "key-line model" in diagnosis.explanation


def test_an_unexplained_failure_names_the_rules_pick_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = diagnosed(SASS, monkeypatch)
    assert plain.playbook is None and "key-line model" not in plain.explanation
    diagnosis, distilled = diagnosed(SASS, monkeypatch, hand_model(exit=5.0))
    assert "exited with 65" in diagnosis.key_line and distilled.key_line_number != 51
    assert diagnosis.explanation.startswith("No playbook recognised this failure")
    assert "the evidence rules' own pick was line 51 ('Error: Undefined variable:" in diagnosis.explanation
    assert diagnosis.params == {}
