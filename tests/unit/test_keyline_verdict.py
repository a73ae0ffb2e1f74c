"""A verdict describes the key line it shows: when the key-line model shows another line than the one the
evidence rules chose, the params and the explanation come from the shown line, or name the rules' line."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.diagnosis import keylines
from domain.diagnosis.engine import diagnose
from domain.diagnosis.keylines import LineModel

from .test_keyline_model import SASS, hand_model, lines_of

FIXTURES = Path(__file__).parents[1] / "fixtures"
RUST = FIXTURES / "diagnosis" / "travis-redox-rust-errors.log"  # rustc errors inside a registry crate
PYTHON = FIXTURES / "ci-logs" / "013-code.log"  # a SyntaxError with its message
LINK = FIXTURES / "ci-logs" / "023-code.log"  # `error: linking with ...`, then lld's undefined symbols
ERLANG = FIXTURES / "ci-logs" / "008-code.log"  # an Erlang compile error, then `make xref` exited with 2


def diagnosed(path: Path, monkeypatch: pytest.MonkeyPatch, model: LineModel | None = None):  # type: ignore[no-untyped-def]
    if model is not None:
        monkeypatch.setattr(keylines, "default_model", lambda: model)
    return diagnose(lines_of(path))


def test_the_rules_line_shown_keeps_its_own_params(monkeypatch: pytest.MonkeyPatch) -> None:
    diagnosis, distilled = diagnosed(PYTHON, monkeypatch)
    assert distilled.key_line_number == 48 and diagnosis.playbook == "code.python-syntax"
    assert diagnosis.params == {"message": "invalid decimal literal"}
    assert diagnosis.explanation == "Python cannot parse the code: invalid decimal literal"


def test_another_line_the_rule_recognises_gives_its_own_params(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = diagnosed(LINK, monkeypatch)
    assert plain.playbook == "code.link" and plain.params == {} and "linking with" in plain.key_line
    model = hand_model(rule=5.0, rule_choice=-10.0, position=1.0)  # the last line a rule recognises
    diagnosis, distilled = diagnosed(LINK, monkeypatch, model)
    assert distilled.key_line_number == 28 and "undefined symbol: VariantToUInt16" in diagnosis.key_line
    assert diagnosis.playbook == "code.link" and diagnosis.params == {"undefined": "VariantToUInt16"}
    assert diagnosis.explanation == "The build does not link: a symbol or library is missing."
    assert set(diagnosis.contract()) == {
        *("category", "action", "risk_score", "tier", "confidence", "key_line", "params", "playbook"),
        "explanation",
    }


def test_a_shown_line_without_the_rules_evidence_names_the_rules_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    diagnosis, distilled = diagnosed(ERLANG, monkeypatch, hand_model(exit=5.0))
    assert distilled.key_line_number == 22 and "exited with 2" in diagnosis.key_line
    assert diagnosis.category.value == "code" and diagnosis.playbook == "code.erlang-elixir"
    assert diagnosis.explanation.startswith(
        "The Erlang / Elixir code does not compile. Rule code.erlang-elixir"
    )
    assert (
        "recognised line 11 ('src/rabbit_vhost.erl:91: field description undefined" in diagnosis.explanation
    )
    assert "\x1b" not in diagnosis.explanation and "key-line model" in diagnosis.explanation


def test_a_cause_chosen_by_causal_order_keeps_its_line_and_params(monkeypatch: pytest.MonkeyPatch) -> None:
    """A compile error inside a registry crate is a dependency: the model does not move its line."""
    for model in (None, hand_model(exit=5.0), hand_model(rule=5.0, rule_choice=-10.0, position=1.0)):
        diagnosis, distilled = diagnosed(RUST, monkeypatch, model)
        assert distilled.key_line_number == 18 and diagnosis.playbook == "dep.vendored-compile-error"
        assert diagnosis.action.value == "pin_or_bump_dependency"
        assert diagnosis.params["location"].endswith("linked_list_allocator-0.5.0/src/lib.rs:139:5")
        assert "key-line model" not in diagnosis.explanation


def test_an_unexplained_failure_names_the_rules_pick_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, _ = diagnosed(SASS, monkeypatch)
    assert plain.playbook is None and "key-line model" not in plain.explanation
    diagnosis, distilled = diagnosed(SASS, monkeypatch, hand_model(exit=5.0))
    assert "exited with 65" in diagnosis.key_line and distilled.key_line_number != 51
    assert diagnosis.explanation.startswith("No playbook recognised this failure")
    assert "the evidence rules' own pick was line 51 ('Error: Undefined variable:" in diagnosis.explanation
    assert diagnosis.params == {}
