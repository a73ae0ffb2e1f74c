"""The CI activities compare a failed job with the same job's last passing run (GitLab and GitHub
simulators, real python-gitlab and PyGithub over HTTP): lines the passing run prints too are not taken
for the cause."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from activities.ci_github import GitHubCI
from activities.ci_gitlab import GitLabCI
from domain.ci_healing.runs import CIRunRef, Provider
from domain.config import MenderConfig
from runtime.serving import ServerThread
from runtime.settings import Environment, Settings, set_settings
from simulators.github import Simulator, SimulatorConfig, Timing
from simulators.github import create_app as create_github
from simulators.gitlab import GitLabSimConfig, GitLabSimulator
from simulators.gitlab import create_app as create_gitlab
from tests.support.stack import make_settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "diagnosis" / "travis-sass-undefined-variable.log"
NOISE = "Error: could not load optional plugin 'sass-lint' (ignored)"


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[GitLabSimulator]:
    sim = GitLabSimulator(GitLabSimConfig(ci_seconds=1.0))
    with ServerThread(create_gitlab(sim)) as server:
        sim.set_base_url(server.url)
        config = MenderConfig(ci={"gitlab": {"simulator_url": server.url}})
        set_settings(Settings(config, Environment(mender_config=tmp_path / "absent.yaml")))
        yield sim
    set_settings(None)


def logs() -> tuple[str, str]:
    lines = FIXTURE.read_bytes().decode("utf-8", "replace").split("\n")
    failing = "\n".join([*lines[:10], NOISE, *lines[10:]])
    passing = "\n".join([NOISE, *(line for line in lines if "Undefined variable" not in line)])
    return failing, passing


def analyse(sim: GitLabSimulator, project: str, failing: str) -> str:
    pipeline = sim.add_pipeline(project, failing, heals_on="never", job="sass")
    ref = CIRunRef(provider=Provider.GITLAB, project=project, run_id=pipeline.id)
    return GitLabCI(project).analyse(ref, MenderConfig().ci).diagnosis.key_line


def test_the_last_passing_run_of_the_job_hides_its_noise(gitlab: GitLabSimulator) -> None:
    failing, passing = logs()
    gitlab.add_passed_pipeline("acme/web", job="sass", log_text=passing)
    assert analyse(gitlab, "acme/web", failing).startswith("Error: Undefined variable:")


def test_without_a_passing_run_the_noise_is_still_a_candidate(gitlab: GitLabSimulator) -> None:
    failing, _ = logs()
    noisy_first = "\n".join([NOISE, *failing.split("\n")[:5]])  # nothing else error-like: noise decides
    assert analyse(gitlab, "acme/api", noisy_first) == NOISE


def test_a_failure_on_a_branch_is_compared_with_the_base_branchs_passing_run(gitlab: GitLabSimulator) -> None:
    failing, passing = logs()
    gitlab.add_passed_pipeline("acme/app", job="sass", log_text=passing)  # on the default branch
    pipeline = gitlab.add_pipeline("acme/app", failing, heals_on="never", job="sass", ref="feature")
    ref = CIRunRef(provider=Provider.GITLAB, project="acme/app", run_id=pipeline.id)
    analysis = GitLabCI("acme/app").analyse(ref, MenderConfig().ci)
    assert "compared with the last passing run" in analysis.distilled
    assert analysis.diagnosis.key_line.startswith("Error: Undefined variable:")
    assert analysis.base_branch == "main" and analysis.head_branch == "feature"


def test_a_passing_run_of_another_job_or_ref_is_not_used(gitlab: GitLabSimulator) -> None:
    failing, passing = logs()
    gitlab.add_passed_pipeline("acme/lib", job="lint", log_text=passing)
    gitlab.add_passed_pipeline("acme/lib", job="sass", log_text=passing, ref="feature")
    noisy_first = "\n".join([NOISE, *failing.split("\n")[:5]])
    assert analyse(gitlab, "acme/lib", noisy_first) == NOISE


# --- GitHub Actions (GitHub simulator, real PyGithub over HTTP) ---------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> Iterator[str]:
    sim = Simulator(SimulatorConfig())
    with ServerThread(create_github(sim)) as server:
        sim.set_base_url(server.url)
        sim.timing = Timing(ci_start_seconds=0.05, ci_seconds=0.1, bot_delay_seconds=0.05)
        settings = make_settings(tmp_path)
        settings.config = settings.config.model_copy(
            update={"github": settings.config.github.model_copy(update={"simulator_url": server.url})}
        )
        yield server.url
    set_settings(None)


def analyse_github(url: str, repo: str, failing: str) -> str:
    answer = httpx.post(
        f"{url}/_sim/pipelines", json={"repo": repo, "log_text": failing, "heals_on": "never"}
    )
    run_id = answer.json()["run_id"]
    ref = CIRunRef(provider=Provider.GITHUB, project=repo, run_id=run_id)
    ci = GitHubCI(repo)
    until(lambda: ci.status(ref), lambda event: event is not None and event.conclusion is not None)
    return ci.analyse(ref, MenderConfig().ci).diagnosis.key_line


def until(probe, ok, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not ok(value := probe()):
        assert time.monotonic() < deadline, f"not reached: {value}"
        time.sleep(0.05)
    return value


def test_github_the_last_passing_run_of_the_job_hides_its_noise(github: str) -> None:
    failing, passing = logs()
    answer = httpx.post(f"{github}/_sim/pipelines/passed", json={"repo": "acme/web", "log_text": passing})
    assert answer.status_code == 201
    assert analyse_github(github, "acme/web", failing).startswith("Error: Undefined variable:")


def test_github_without_a_passing_run_of_the_job_the_noise_is_still_a_candidate(github: str) -> None:
    failing, passing = logs()
    bad = httpx.post(f"{github}/_sim/pipelines/passed", json={"repo": "no-owner", "log_text": 3})
    assert bad.status_code == 422
    other_job = {"repo": "acme/lib", "log_text": passing, "job": "lint"}
    assert httpx.post(f"{github}/_sim/pipelines/passed", json=other_job).status_code == 201
    noisy_first = "\n".join([NOISE, *failing.split("\n")[:5]])
    assert analyse_github(github, "acme/lib", noisy_first) == NOISE
