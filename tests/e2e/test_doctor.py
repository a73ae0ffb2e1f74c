"""`mender doctor` and the refusals it shows, against the strict GitHub simulator through PyGithub: a
token lacking a permission, a bad token, a repository that is gone, an App installation without a
permission; a refusal an activity met is recorded and shown by the doctor and the Health view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from activities import github as gh
from activities.github_gate import GATE
from domain.pr_healing.events import PRRef
from runtime.serving import ServerThread
from runtime.settings import Settings, set_settings
from simulators.github import Simulator, SimulatorConfig, create_app
from simulators.github.access import EVERY_TOKEN, AccessConfig
from simulators.github.rest_app import identity_of
from starter import ops_data
from starter.app import create_app as create_starter
from starter.cli import app
from starter.dashboard import pages
from starter.doctor import run_doctor
from store.db import engine_for
from tests.e2e.test_github_app import PRIVATE, PUBLIC
from tests.support.admin_api import READ_KEY, admin_settings, bearer
from tests.support.stack import make_settings

TOKEN = "simulator-token"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Simulator, Settings, PRRef]]:
    simulator = Simulator(SimulatorConfig(actors=()))
    with ServerThread(create_app(simulator)) as server:
        simulator.set_base_url(server.url)
        number = httpx.post(f"{server.url}/_sim/prs", json={"repo": "acme/api"}).json()["number"]
        settings = make_settings(
            tmp_path,
            repositories=[{"name": "acme/api"}],
            github={"simulator_url": server.url},
        )
        GATE.clear()
        yield simulator, settings, PRRef(repo="acme/api", number=number)
    set_settings(None)


def test_a_healthy_repository_passes_with_its_rate_limit(world) -> None:
    _, settings, _ = world
    report = run_doctor(settings)
    [repo] = report.repositories
    assert report.ok and report.auth == "token"
    assert (repo.repository, repo.status, repo.reasons) == ("acme/api", "ok", [])
    assert repo.rate_limit == 5000 and 0 < repo.rate_limit_remaining <= 5000


def test_a_token_that_cannot_push_fails_with_the_permissions_it_needs(world) -> None:
    simulator, settings, _ = world
    simulator.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"contents"})}))
    report = run_doctor(settings)
    [repo] = report.repositories
    assert not report.ok and repo.status == "failed"
    assert "contents=write" in repo.missing and "pull_requests=write" in repo.missing
    assert any("update branches, merge" in reason for reason in repo.reasons)


def test_a_refusal_an_activity_met_is_recorded_and_shown(world) -> None:
    simulator, settings, pr = world
    simulator.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"issues"})}))
    assert run_doctor(settings).ok  # a fine-grained token's missing permission shows nowhere before use
    for _ in range(2):  # a second refusal in the same hour is not recorded twice
        with pytest.raises(ApplicationError):
            gh.retrigger_bot(gh.BotArgs(pr=pr, bot="policy"))
    report = run_doctor(settings)
    [repo] = report.repositories
    assert not report.ok and repo.status == "failed" and repo.missing == ["issues=write"]
    [refusal] = repo.refusals
    assert (refusal.status, refusal.permission) == (403, "issues=write")
    assert "re-triggering the policy bot on acme/api" in refusal.call
    assert "Resource not accessible by integration" in repo.reasons[0]
    health = ops_data.health(engine_for(settings.database_url), datetime.now(UTC))
    assert health.errors["github.access_denied"] == 1
    assert [(a["repository"], a["permission"]) for a in health.github_access] == [
        ("acme/api", "issues=write")
    ]
    page = pages.health(health, {})
    assert "data-access='acme/api'" in page and "issues=write" in page


def test_a_bad_token_and_a_missing_repository_each_say_why(world) -> None:
    simulator, settings, _ = world
    report = run_doctor(settings, ["acme/api", "acme/gone"])
    assert [r.status for r in report.repositories] == ["ok", "failed"]
    assert "not found (404)" in report.repositories[1].reasons[0]
    simulator.state.access.configure(AccessConfig(tokens=("another-token",)))
    [repo] = run_doctor(settings).repositories
    assert repo.status == "failed" and "bad credentials (401)" in repo.reasons[0]


def test_the_cli_prints_each_repository_and_exits_1_on_a_problem(world) -> None:
    simulator, settings, _ = world
    set_settings(settings)
    runner = CliRunner()
    good = runner.invoke(app, ["doctor"])
    assert good.exit_code == 0, good.output
    assert "OK       acme/api  rate limit" in good.output
    simulator.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"pull_requests"})}))
    bad = runner.invoke(app, ["doctor", "--json"])
    assert bad.exit_code == 1
    answer = json.loads(bad.output)
    assert answer["ok"] is False and answer["repositories"][0]["status"] == "failed"


def test_an_app_installation_without_a_permission_is_named(tmp_path: Path) -> None:
    sim = Simulator(SimulatorConfig(actors=()))
    identity = identity_of(sim)
    identity.public_key, identity.enforce_tokens = PUBLIC, True
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        httpx.post(f"{server.url}/_sim/prs", json={"repo": "acme/api"})
        base = make_settings(
            tmp_path,
            repositories=[{"name": "acme/api"}],
            github={"api_url": server.url, "app_id": sim.config.app_id},
        )
        settings = Settings(
            base.config, base.env.model_copy(update={"mender_github_app_private_key": SecretStr(PRIVATE)})
        )
        set_settings(settings)
        assert run_doctor(settings).ok
        sim.state.access.configure(AccessConfig(denied={EVERY_TOKEN: frozenset({"actions"})}))
        report = run_doctor(settings)
    set_settings(None)
    [repo] = report.repositories
    assert report.auth == "app" and repo.status == "failed" and repo.missing == ["actions=write"]
    assert repo.reasons == ["missing permission actions=write (needed to re-run failed workflow jobs)"]


def test_the_admin_api_answers_the_same_report_to_a_read_key(tmp_path: Path) -> None:
    simulator = Simulator(SimulatorConfig(actors=()))
    with ServerThread(create_app(simulator)) as server:
        simulator.set_base_url(server.url)
        httpx.post(f"{server.url}/_sim/prs", json={"repo": "acme/api"})
        settings = admin_settings(
            tmp_path, repositories=[{"name": "acme/api"}], github={"simulator_url": server.url}
        )
        simulator.state.access.configure(AccessConfig(denied={TOKEN: frozenset({"contents"})}))
        with TestClient(create_starter(settings)) as http:
            answer = http.get("/api/doctor", headers=bearer(READ_KEY))
    set_settings(None)
    assert answer.status_code == 200
    [repo] = answer.json()["repositories"]
    assert answer.json()["ok"] is False and repo["status"] == "failed" and "contents=write" in repo["missing"]
