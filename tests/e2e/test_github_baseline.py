"""`mender report baseline --source github`: bot PRs read from the GitHub simulator through PyGithub."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from github import Auth, Github
from typer.testing import CliRunner

from runtime.serving import ServerThread
from runtime.settings import set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from starter.cli import app
from tests.support.stack import make_settings


@pytest.fixture
def github_world(tmp_path: Path):
    sim = Simulator(SimulatorConfig(api_login="alice", actors=()))  # API writes come from a human
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        yield sim, server.url
    set_settings(None)


def on_sim(sim: Simulator, change) -> None:
    """Change the simulator's world on its own loop (the threading rule of the simulator)."""

    async def apply() -> None:
        change(sim.world.repos["acme/api"])

    asyncio.run_coroutine_threadsafe(apply(), sim.state.loop).result(timeout=10)


def opened_two_days_ago(repo) -> None:
    for pr in repo.pulls.values():
        pr.created_at -= timedelta(days=2)


def test_baseline_from_github_history(github_world, tmp_path: Path) -> None:
    sim, url = github_world
    numbers = [
        httpx.post(f"{url}/_sim/prs", json={"repo": "acme/api", "author": author}).json()["number"]
        for author in ("dependabot[bot]", "dependabot[bot]", "renovate[bot]", "renovate[bot]", "bob")
    ]
    github = Github(
        base_url=url,
        auth=Auth.Token("simulator-token"),
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    repo = github.get_repo("acme/api")
    commented, patched, closed, untouched, human = (repo.get_pull(n) for n in numbers)
    on_sim(sim, opened_two_days_ago)  # history: every PR was opened two days ago
    commented.create_issue_comment("looks fine, merging")
    on_sim(sim, lambda r: sim.ops.merge(r.pulls[numbers[0]], sim.api_user))  # an admin merges by hand
    repo.create_file("fix.txt", "a human fix", "fix the bump", branch=patched.head.ref)
    closed.edit(state="closed")
    settings = make_settings(
        tmp_path,
        lifecycle={},
        repositories=[{"name": "acme/api"}],
        github={"simulator_url": url},
        reports={"history_stale_after_hours": 24},
    )
    result = CliRunner().invoke(app, ["report", "baseline", "--source", "github", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)["body"]
    assert body["source"].startswith("github history")
    assert body["prs"] == 4  # bob's PR is not a bot PR
    modes = {m["state"]: m["stalls"] for m in body["failure_modes"]}
    assert modes == {
        "needed a human comment": 1,
        "needed a human commit": 1,
        "closed without merge": 1,
        "slow merge": 1,
    }
    assert body["metrics"]["manual_intervention_rate"] == 0.5  # the comment and the commit
    comment = next(m for m in body["failure_modes"] if m["state"] == "needed a human comment")
    assert 47.9 < comment["detect_hours"] < 48.1  # opened two days before the first human comment
    assert settings.config.reports.history_stale_after_hours == 24
    del untouched, human


def test_github_source_needs_repositories(tmp_path: Path) -> None:
    make_settings(tmp_path, repositories=[])
    try:
        result = CliRunner().invoke(app, ["report", "baseline", "--source", "github"])
    finally:
        set_settings(None)
    assert result.exit_code == 2 and "repositories:" in result.output
