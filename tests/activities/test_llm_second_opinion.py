"""Below the auto floor the LLM gives a second opinion: the prompt it gets (through the real `openai`
client, recorded by the LLM simulator over HTTP) holds the failing step, the diff against the last
passing run and the candidate lines, and no secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.ci_logs import analyse_jobs
from activities.llm import ask_model
from contracts.ci import LLMRequest
from domain.ci_healing import steps
from domain.ci_healing.effects import AskModel, CIContext, CIMemory
from domain.ci_healing.results import CIPolicy
from domain.ci_healing.runs import CIRunRef, Provider
from domain.config import MenderConfig, Mode
from runtime.serving import ServerThread
from runtime.settings import Environment, Settings, set_settings
from simulators.llm import LLMSimulator, create_app

API_KEY = "sk-test-" + "k" * 20
TOKEN = "ghp_" + "Sec0ret1Tok2en3" * 2 + "abcdef"
MASKED = "hunter2-" + "q" * 16  # a CI variable's value, masked by configuration
FAILING = f"""##[group]Run ./scripts/setup.sh
Using token {TOKEN} for the registry
warning: frobnicator cache is cold (ignored)
##[endgroup]
##[group]Run ./scripts/integration.sh
starting widget service with password={MASKED}
widget service refused the handshake: quux protocol mismatch on channel 7
widget service exited with status 3
##[error]Process completed with exit code 3.
"""
PASSING = """##[group]Run ./scripts/setup.sh
warning: frobnicator cache is cold (ignored)
##[endgroup]
##[group]Run ./scripts/integration.sh
widget service ready
"""


@pytest.fixture
def llm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LLMSimulator, Settings]]:
    sim = LLMSimulator(api_key=API_KEY)
    monkeypatch.setenv("WIDGET_PASSWORD", MASKED)
    with ServerThread(create_app(sim)) as server:
        config = MenderConfig(
            ci={
                "llm": {"enabled": True, "base_url": f"{server.url}/v1", "timeout_seconds": 5},
                "secret_env_vars": ["WIDGET_PASSWORD"],
            }
        )
        settings = Settings(
            config, Environment(mender_config=tmp_path / "absent.yaml", openai_api_key=API_KEY)
        )
        set_settings(settings)
        yield sim, settings
    set_settings(None)


def test_the_second_opinion_gets_the_step_the_passing_diff_and_the_candidates_but_no_secret(
    llm: tuple[LLMSimulator, Settings],
) -> None:
    sim, settings = llm
    ci = settings.config.ci
    analysis = analyse_jobs(
        [("integration", FAILING.splitlines())],
        "github_actions",
        ci,
        run_url="https://ci.example/runs/1",
        head_branch="main",
        head_sha="abc",
        passing_logs=lambda job: PASSING.splitlines() if job == "integration" else None,
    )
    assert analysis.failed_step and "integration" in analysis.failed_step
    assert any("quux protocol mismatch" in line for line in analysis.passing_diff)
    assert not any("frobnicator" in line for line in analysis.passing_diff)  # the passing run prints it too
    run = CIRunRef(provider=Provider.GITHUB, project="acme/api", run_id=1)
    memory = CIMemory.new(run).model_copy(update={"policy": CIPolicy(ci=ci, mode=Mode.ACT)})
    step = steps.consider(memory, CIContext(now=datetime.now(UTC)), analysis)
    [ask] = step.effects
    assert isinstance(ask, AskModel)  # the rules are unsure: below the floor the model is asked
    request = LLMRequest(
        distilled=ask.distilled,
        project=run.project,
        provider="github",
        rule=ask.rule,
        failed_step=ask.failed_step,
        passing_diff=list(ask.passing_diff),
    )
    assert ask_model(request, settings).analysis is not None
    [sent] = sim.requests()
    prompt = "\n".join(m["content"] for m in sent["messages"])
    assert f"--- the failing step: {analysis.failed_step} ---" in prompt
    assert "--- diff against the last passing run of the job (+ only in the failed run) ---" in prompt
    assert "+ widget service refused the handshake: quux protocol mismatch on channel 7" in prompt
    assert "widget service exited with status 3" in prompt  # a candidate line (window or others)
    assert analysis.diagnosis.key_line in prompt
    assert TOKEN not in prompt and MASKED not in prompt and "Sec0ret1" not in prompt
