"""Flaky tests from history, end to end: a failed test whose history is flaky is re-run once (Actions API
`rerun-failed-jobs` on the GitHub simulator) before anything else; the re-run decides.

Real parts: Temporal dev server, worker, starter, GitHub and Slack simulators over HTTP (PyGithub,
slack-sdk), the store on SQLite; the Admin API (`GET /api/flaky`) and `mender flaky` read the scores.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.client import Client
from typer.testing import CliRunner

from domain.ci_healing.failed_tests import FailedTest
from domain.ci_healing.flakiness import FlakyConfig, TestReport
from domain.ci_healing.outcomes import CIOutcome
from starter.cli import app
from store import flaky_tests
from store.db import engine_for
from tests.e2e.test_ci_healing import ci_config, fail_pipeline, finished, pipeline_row, world_for
from tests.support.admin_api import READ_KEY, admin_settings, bearer

TEST = "tests/test_cart.py::test_total"
FLAKY_LOG = f"""##[group]Run pytest
tests/test_cart.py::test_total FAILED
E       AssertionError: assert 3 == 4
FAILED {TEST} - AssertionError: assert 3 == 4
##[error]Process completed with exit code 1.
"""


def seed_flips(database_url: str, repo: str, commits: int = 2) -> None:
    """History: the test failed and then passed on `commits` earlier commits (two flips: score 0.5)."""
    outcomes = []
    for n in range(commits):
        at = datetime.now(UTC) - timedelta(hours=2 + n)
        common = {"project": repo, "run_key": f"github/{repo}/{n + 1}", "sha": f"{n}" * 40}
        signature = "AssertionError: assert 3 == 4"
        failed = TestReport(**common, failed=[FailedTest(test=TEST, signature=signature)], at=at)
        passed = TestReport(**common, attempt=2, passed=[TEST], at=at + timedelta(minutes=3))
        outcomes += [*failed.outcomes(), *passed.outcomes()]
    flaky_tests.record(engine_for(database_url), outcomes, FlakyConfig())


async def test_a_flaky_test_confirmed_by_its_rerun_heals_and_gets_a_quarantine_pr(
    client: Client, tmp_path: Path
) -> None:
    repo = f"acme/flaky-{uuid.uuid4().hex[:8]}"
    flaky = {"owners": ["@team-cart"], "quarantine_file": ".github/quarantined-tests.txt"}
    settings = admin_settings(tmp_path, ci=ci_config(flaky=flaky))
    seed_flips(settings.database_url, repo)
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, FLAKY_LOG, "retry")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.AUTO_FIXED, status
        assert status.attempts[0] == "confirming re-run: success (a flaky test)"
        assert pipeline_row(world, run_id)["reruns_requested"] == 1  # one confirming re-run, nothing else
        pulls = list(world.github().get_repo(repo).get_pulls(state="all"))
        quarantine = [p for p in pulls if p.title == f"[mender] Quarantine flaky test {TEST}"]
        assert len(quarantine) == 1
        files = {f.filename: f for f in quarantine[0].get_files()}
        assert ".github/quarantined-tests.txt" in files
        notices = [m["text"] for m in world.slack.messages() if "Flaky test" in m.get("text", "")]
        assert any("@team-cart" in text and TEST in text for text in notices), notices

        answer = httpx.get(f"{world.starter_url}/api/flaky", params={"repo": repo}, headers=bearer(READ_KEY))
        assert answer.status_code == 200
        [row] = answer.json()
        assert row["test"] == TEST and row["flaky"] and row["flips"] == 3 and row["score"] > 0.5
        env = {"MENDER_API_URL": world.starter_url, "MENDER_API_KEY": READ_KEY}
        cli = await asyncio.to_thread(CliRunner().invoke, app, ["flaky", "--repo", repo, "--json"], env=env)
        assert cli.exit_code == 0 and json.loads(cli.output)[0]["test"] == TEST
        table = await asyncio.to_thread(CliRunner().invoke, app, ["flaky", "--repo", repo], env=env)
        assert "flaky" in table.output and "failed then passed on the same commit (3x)" in table.output


async def test_a_rerun_failing_the_same_test_the_same_way_makes_it_code(
    client: Client, tmp_path: Path
) -> None:
    repo = f"acme/flaky-{uuid.uuid4().hex[:8]}"
    settings = admin_settings(tmp_path, ci=ci_config())
    seed_flips(settings.database_url, repo)
    async with world_for(client, settings) as world:
        run_id = await fail_pipeline(world, repo, FLAKY_LOG, "never")
        status = await finished(world, f"ci/github/{repo}/{run_id}")
        assert status.outcome is CIOutcome.ESCALATED
        assert status.diagnosis is not None and status.diagnosis.category.value == "code"
        assert "the same way" in status.diagnosis.explanation
        assert pipeline_row(world, run_id)["reruns_requested"] == 1
        assert not list(world.github().get_repo(repo).get_pulls(state="all"))
        [score] = flaky_tests.scores_for(engine_for(settings.database_url), repo, [TEST])
        assert score.runs == 6 and score.failures == 4  # the seeded flips, then two failures on this commit
