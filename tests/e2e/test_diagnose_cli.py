"""`mender diagnose LOGFILE --json`: the stable contract, offline on playbooks, the LLM only when unsure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.config import MenderConfig
from runtime.serving import ServerThread
from runtime.settings import Environment, Settings, set_settings
from simulators.llm import LLMSimulator
from simulators.llm import create_app as create_llm
from starter.cli import app

CONTRACT = {
    "category",
    "action",
    "risk_score",
    "tier",
    "confidence",
    "key_line",
    "params",
    "playbook",
    "explanation",
}
OOM = "Step 4/9 : RUN npm run build\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"
UNKNOWN = "starting job\nthe frobnicator declined to cooperate\nProcess exited with status 3\n"


@pytest.fixture(autouse=True)
def offline(tmp_path: Path):
    set_settings(Settings(MenderConfig(), Environment(mender_config=tmp_path / "absent.yaml")))
    yield
    set_settings(None)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["diagnose", *args])
    return result.exit_code, result.output


def test_json_contract_on_rules_alone(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(OOM)
    code, output = run(str(log), "--json")
    assert code == 0
    answer = json.loads(output)
    assert set(answer) == CONTRACT
    assert answer["category"] == "resource" and answer["action"] == "increase_memory"
    assert (
        answer["key_line"]
        == "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"
    )
    assert 0 <= answer["risk_score"] <= 10 and answer["tier"] in ("low", "medium", "high")
    assert answer["playbook"]


def test_human_readable_output_and_bad_input(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(OOM)
    code, output = run(str(log), "--provider", "github_actions")
    assert code == 0 and "increase_memory" in output and "key line" in output
    assert run(str(tmp_path / "missing.log"))[0] == 2
    code, output = run(str(log), "--provider", "teamcityy")
    assert code == 2 and "unknown provider" in output


def test_llm_is_asked_only_when_no_playbook_is_confident(tmp_path: Path) -> None:
    sim = LLMSimulator()
    with ServerThread(create_llm(sim)) as server:
        config = MenderConfig(ci={"llm": {"enabled": True, "base_url": f"{server.url}/v1"}})
        set_settings(Settings(config, Environment(mender_config=tmp_path / "absent.yaml")))
        confident, unknown = tmp_path / "oom.log", tmp_path / "odd.log"
        confident.write_text(OOM)
        unknown.write_text(UNKNOWN)
        assert json.loads(run(str(confident), "--json")[1])["playbook"]
        assert sim.requests() == []  # a confident playbook: the model is not asked
        code, output = run(str(unknown), "--json")
        assert code == 0 and set(json.loads(output)) == CONTRACT
        assert len(sim.requests()) == 1


def test_pass_log_hides_lines_the_passing_run_prints_too(tmp_path: Path) -> None:
    fixture = Path(__file__).parents[1] / "fixtures" / "diagnosis" / "travis-sass-undefined-variable.log"
    lines = fixture.read_bytes().decode("utf-8", "replace").split("\n")
    noise = "Error: could not load optional plugin 'sass-lint' (ignored)"
    failing, passing = tmp_path / "fail.log", tmp_path / "pass.log"
    failing.write_text("\n".join([*lines[:10], noise, *lines[10:]]))
    passing.write_text("\n".join([noise, *(line for line in lines if "Undefined variable" not in line)]))
    code, output = run(str(failing), "--json", "--pass", str(passing))
    answer = json.loads(output)
    assert code == 0 and set(answer) == CONTRACT
    assert answer["key_line"].startswith("Error: Undefined variable:") and answer["action"] == "human"
    assert run(str(failing), "--pass", str(tmp_path / "missing.log"))[0] == 2
