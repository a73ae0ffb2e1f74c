"""A CI provider step retried after its worker died half-way (kill -9 after GitHub applied a write):
the retry finds what the killed attempt did on GitHub and does not do it again. Real PyGithub against
the GitHub simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from activities.ci_github import ROLLBACK_NOTE, GitHubCI
from activities.github import github_client
from activities.github_gate import GATE
from contracts.ci import FixVerdict, IncidentArgs
from domain.ci_healing.results import FixResult
from domain.ci_healing.runs import CIRunRef, Provider
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Tier
from runtime.serving import ServerThread
from runtime.settings import get_settings, set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from tests.support.stack import make_settings

REPO = "acme/api"
RUN = CIRunRef(provider=Provider.GITHUB, project=REPO, run_id=7)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The simulator's URL and a PR standing for a fix PR."""
    simulator = Simulator(SimulatorConfig(actors=()))
    server = ServerThread(create_app(simulator))
    simulator.set_base_url(server.url)
    with server:
        settings = make_settings(tmp_path)
        settings.config = settings.config.model_copy(
            update={"github": settings.config.github.model_copy(update={"simulator_url": server.url})}
        )
        set_settings(settings)
        GATE.clear()
        number = httpx.post(f"{server.url}/_sim/prs", json={"repo": REPO}).json()["number"]
        yield server.url, number
    set_settings(None)


def writes(url: str, method: str) -> list[str]:
    return [r["path"] for r in httpx.get(f"{url}/_sim/requests").json() if r["method"] == method]


def verdict(number: int) -> FixVerdict:
    fix = FixResult(opened=True, detail="raise the heap", pr_number=number)
    return FixVerdict(run=RUN, fix=fix, passed=False, detail="still out of memory")


def test_a_retried_rollback_posts_its_note_once(sim: tuple[str, int]) -> None:
    _, number = sim
    pull = github_client(get_settings(), REPO).get_repo(REPO).get_pull(number)
    pull.create_issue_comment(ROLLBACK_NOTE)  # the killed attempt got this far
    GitHubCI(REPO).rollback(verdict(number))
    assert [c.body for c in pull.get_issue_comments()] == [ROLLBACK_NOTE]
    pull.update()
    assert pull.state == "closed"


def test_a_retried_verdict_is_written_once(sim: tuple[str, int]) -> None:
    url, number = sim
    GitHubCI(REPO).report_fix(verdict(number))
    GitHubCI(REPO).report_fix(verdict(number))
    assert writes(url, "PATCH") == [f"/repos/{REPO}/pulls/{number}"]


def test_a_retried_incident_is_opened_once(sim: tuple[str, int]) -> None:
    url, _ = sim
    diagnosis = Diagnosis(
        category=Category.INFRASTRUCTURE,
        action=FixAction.RETRY,
        risk_score=1.0,
        tier=Tier.LOW,
        confidence=90,
        key_line="FATAL ERROR: Reached heap limit",
        explanation="out of memory",
    )
    args = IncidentArgs(
        run=RUN,
        run_url=f"https://github.com/{REPO}/actions/runs/7",
        diagnosis=diagnosis,
        distilled="",
        attempts=[],
    )
    first, again = GitHubCI(REPO).open_incident(args), GitHubCI(REPO).open_incident(args)
    assert first.url == again.url
    assert writes(url, "POST").count(f"/repos/{REPO}/issues") == 1
