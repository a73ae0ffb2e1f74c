"""The learned key-line ranker: its features, its plain-data model and the pure-Python scorer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domain.diagnosis import keylines
from domain.diagnosis.engine import diagnose, scan
from domain.diagnosis.keylines import MODEL_FILE, LineModel, ModelError, choose_index, pick, scored_lines
from domain.diagnosis.line_features import FEATURES, Line, LogContext, features
from domain.diagnosis.reading import blocks_from_lines
from domain.diagnosis.structure import Step

FIXTURES = Path(__file__).parents[1] / "fixtures" / "diagnosis"
SASS = FIXTURES / "travis-sass-undefined-variable.log"
LUVIT = FIXTURES / "travis-luvit-no-such-hash.log"
LOG = [
    "$ make test",
    "compiling src/a.c",
    "src/a.c:12:5: error: 'frob' undeclared (first use in this function)",
    "    frob = 1;",
    "make: *** [all] Error 1",
    'The command "make test" exited with 2.',
]


def vector_of(rows: list[list[float]], index: int) -> dict[str, float]:
    return dict(zip(FEATURES, rows[index], strict=True))


def lines_of(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", "replace").split("\n")


def test_features_describe_a_line_and_its_place_in_the_failing_step() -> None:
    steps = [Step(0, None, 1, end=0), Step(1, "make test", 1, status=2, status_line=6)]
    lines = [Line(number, text) for number, text in enumerate(LOG, start=1)]
    rows = features(lines, LogContext(total_lines=6, steps=steps, chosen=3))
    assert all(len(row) == len(FEATURES) for row in rows)
    error, summary, exit_line = vector_of(rows, 2), vector_of(rows, 4), vector_of(rows, 5)
    assert error["failing_step"] == 1 and error["rule_choice"] == 1 and error["before_exit"] > 0
    assert error["base"] > summary["base"] and error["first_evidence"] == 1
    assert error["next_indented"] == 1  # the quoted source line under it is its continuation
    assert summary["summary"] == 1 and summary["near_exit"] == 1
    assert exit_line["exit"] == 1 and vector_of(rows, 0)["marker"] == 1 and error["marker"] == 0
    assert vector_of(rows, 3)["indent"] == 1 and vector_of(rows, 3)["prev_evidence"] == 1


def test_repeats_and_the_passing_run_are_features() -> None:
    text = ["Error: timeout after 30 s", "Error: timeout after 31 s", "Error: real cause here"]
    lines = [Line(number, body) for number, body in enumerate(text, start=1)]
    context = LogContext(3, [Step(0, None, 1)], in_pass=lambda body: "real" not in body)
    rows = features(lines, context)
    assert vector_of(rows, 0)["repeats"] > 0 and vector_of(rows, 2)["repeats"] == 0
    assert vector_of(rows, 0)["in_pass"] == 1 and vector_of(rows, 2)["in_pass"] == 0


def test_the_lines_scored_are_the_ones_the_scan_kept() -> None:
    outcome = scan(blocks_from_lines(lines_of(SASS)), None, None, 80)
    chosen = max(outcome.candidates, key=lambda c: c.score)
    lines, vectors = scored_lines(outcome, chosen)
    assert [line.number for line in lines] == sorted({line.number for line in lines})
    assert len(vectors) == len(lines) and all(line.body.strip() for line in lines)
    assert any("on line 98 of sass/components/dropdown.sass" in line.text for line in lines)
    assert sum(vector[FEATURES.index("rule_choice")] for vector in vectors) == 1


def hand_model(**weights: float) -> LineModel:
    return LineModel.from_data(hand_data(**weights))


def hand_data(**weights: float) -> dict[str, object]:
    return {
        "about": "test",
        "trained": {},
        "features": FEATURES,
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
        "weights": [weights.get(name, 0.0) for name in FEATURES],
        "bias": 0.0,
        "margin": 0.5,
        "weak_margin": 0.5,
    }


def test_the_scorer_is_a_dot_product_and_picks_the_best_rated_line() -> None:
    model = hand_model(indent=2.0, base=1.0)
    assert model.score([0.0] * len(FEATURES)) == 0
    one = [0.0] * len(FEATURES)
    one[FEATURES.index("indent")], one[FEATURES.index("base")] = 1.0, 0.5
    assert model.score(one) == pytest.approx(2.5)
    outcome = scan(blocks_from_lines(lines_of(SASS)), None, None, 80)
    chosen = max(outcome.candidates, key=lambda c: (c.score, -c.line_number))
    picked = pick(outcome, chosen, model=hand_model(exit=5.0))
    assert picked is not chosen and 'The command "test/sass-compile-tester.sh" exited' in picked.line
    assert picked.before[-1].strip() == "Use --trace for backtrace." and picked.after
    assert pick(outcome, chosen, model=hand_model()) is chosen  # nothing rated above the margin


def test_choose_index_keeps_causes_skips_passing_run_lines_and_needs_the_margin() -> None:
    width = len(FEATURES)
    rows = [[0.0] * width for _ in range(3)]
    rows[0][FEATURES.index("rule_choice")] = 1.0
    rows[2][FEATURES.index("in_pass")] = 1.0
    assert choose_index([0.0, 1.0, 9.0], rows, margin=0.5, cause=False) == 1
    assert choose_index([0.0, 0.4, 9.0], rows, margin=0.5, cause=False) == 0
    assert choose_index([0.0, 5.0, 9.0], rows, margin=0.5, cause=True) == 0
    rows[1][FEATURES.index("indent")] = rows[1][FEATURES.index("prev_evidence")] = 1.0
    assert choose_index([0.0, 5.0, 9.0], rows, margin=0.5, cause=False) == 0  # a continuation: its head
    rows[0][FEATURES.index("in_pass")] = 1.0
    assert choose_index([0.0, 5.0, 9.0], rows, margin=0.5, cause=False) == 1


def test_a_failing_steps_line_no_playbook_rule_backs_needs_only_the_weak_margin() -> None:
    outcome = scan(blocks_from_lines(lines_of(SASS)), None, None, 80)
    chosen = max(outcome.candidates, key=lambda c: (c.score, -c.line_number))
    failing = next(step for step in outcome.steps if step.failed)
    assert chosen.top is None and chosen.step_index == failing.index  # no playbook rule's wording
    strict = LineModel.from_data({**hand_data(exit=1.0), "margin": 2.0, "weak_margin": 2.0})
    weak = LineModel.from_data({**hand_data(exit=1.0), "margin": 2.0, "weak_margin": 0.0})
    assert strict.margin_for(backed=True) == weak.margin_for(backed=True) == 2.0
    assert weak.margin_for(backed=False) == 0.0
    assert pick(outcome, chosen, model=strict) is chosen
    assert "exited with 65" in pick(outcome, chosen, model=weak).line
    unknown = scan(blocks_from_lines(lines_of(LUVIT)), None, None, 80)  # no step known to have failed
    rules_line = max(unknown.candidates, key=lambda c: (c.score, -c.line_number))
    eager = LineModel.from_data({**hand_data(indent=1.0), "margin": 0.0, "weak_margin": 0.0})
    weak = LineModel.from_data({**hand_data(indent=1.0), "margin": 2.0, "weak_margin": 0.0})
    assert pick(unknown, rules_line, model=eager) is not rules_line  # a stack frame, rated 1 above it
    assert pick(unknown, rules_line, model=weak) is rules_line  # `No such hash`: the full margin applies


def test_a_model_of_other_features_or_bad_values_is_refused() -> None:
    data = json.loads(MODEL_FILE.read_text())
    with pytest.raises(ModelError, match="lacks"):
        LineModel.from_data({key: value for key, value in data.items() if key != "weights"})
    with pytest.raises(ModelError, match="other features"):
        LineModel.from_data({**data, "features": [*FEATURES[:-1], "renamed"]})
    with pytest.raises(ModelError, match="scales positive"):
        LineModel.from_data({**data, "scale": [0.0] * len(FEATURES)})
    with pytest.raises(ModelError, match="margin"):
        LineModel.from_data({**data, "margin": -1})
    with pytest.raises(ModelError, match="margin"):
        LineModel.from_data({**data, "weak_margin": float("nan")})


def test_the_shipped_model_loads_and_says_how_it_was_trained() -> None:
    data = json.loads(MODEL_FILE.read_text())
    assert set(data) == keylines.SCHEMA
    assert data["features"] == FEATURES
    trained = data["trained"]
    assert re.fullmatch(r"[0-9a-f]{64}", trained["corpus_sha256"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", trained["date"])
    assert 0 <= trained["cv_top_line_hit"] <= 1 and "repository" in trained["cv"]
    assert keylines.default_model() is not None


def test_the_model_ranks_the_key_line_of_a_real_log() -> None:
    diagnosis, distilled = diagnose(lines_of(SASS))
    assert diagnosis.category.value == "code"
    assert distilled.key_line_number is not None and 51 <= distilled.key_line_number <= 54  # labelled 490-493


def test_a_stale_or_missing_model_leaves_the_rules_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "keyline.json"
    stale.write_text(json.dumps({**json.loads(MODEL_FILE.read_text()), "features": ["gone"]}))
    for path in (stale, tmp_path / "absent.json"):
        monkeypatch.setattr(keylines, "MODEL_FILE", path)
        keylines.default_model.cache_clear()
        try:
            assert keylines.default_model() is None
            diagnosis, _ = diagnose(LOG)
            assert diagnosis.key_line.startswith("src/a.c:12:5: error:")
        finally:
            monkeypatch.undo()
            keylines.default_model.cache_clear()


def test_diagnose_json_keeps_its_exact_fields(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from domain.config import MenderConfig
    from runtime.settings import Environment, Settings, set_settings
    from starter.cli import app

    set_settings(Settings(MenderConfig(), Environment(mender_config=tmp_path / "absent.yaml")))
    try:
        result = CliRunner().invoke(app, ["diagnose", str(SASS), "--json"])
    finally:
        set_settings(None)
    assert result.exit_code == 0
    answer = json.loads(result.output)
    assert set(answer) == {
        *("category", "action", "risk_score", "tier", "confidence", "key_line", "params", "playbook"),
        "explanation",
    }
    assert answer["key_line"].startswith("Error: Undefined variable:")
