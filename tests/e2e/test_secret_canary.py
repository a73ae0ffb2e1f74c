"""Canary: secrets of many formats in a failing pipeline's log reach no sink, the whole CI workflow through.

The GitHub simulator fails a run with a log full of credentials (printed the way CI logs print them);
the real stack (starter, worker, Temporal, the LLM simulator asked because no playbook is sure, Slack and
GitHub simulators) handles it to the end. Then no canary may appear in: Mender's database file, the
GitHub simulator's world (issues, comments, PRs, report; the source log itself left out), the GitLab
simulator's report, every Slack message, every request the LLM received, and this process's log output.
Each sink is first shown to hold text of the log, so an empty sink cannot pass the test.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts.ci import CIStatus
from runtime.logs import FORMAT, install_log_redaction
from runtime.serving import ServerThread
from simulators.github.scenario import Timing
from simulators.llm import LLMSimulator
from simulators.llm import create_app as create_llm
from store.ci_failures import list_ci_failures
from store.db import engine_for
from tests.support.events import eventually
from tests.support.stack import make_settings
from tests.support.world import World, mender_world
from workflows.ci_failure import STATUS_QUERY

CANARY_ENV = "MENDER_CANARY_DEPLOY_KEY"
CANARY_ENV_VALUE = "Cnry-env-value-4417"  # a configured secret (ci.secret_env_vars) with no shape at all
CANARIES = {  # the secret part of each: none may survive
    "add-mask": "CnryMaskedValue77x",
    "github": "ghp_" + "Cn7ryQk2Lr7vBn4Tc0Hy6Wd3Ps9Ja5Ge1UfE",
    "aws": "AKIA" + "CNRY7Q2LR7VBN4TC",
    "pypi": "CnryPyPi3Rk9sT2vQ8wZ5yX1mN4bL7cH0dJ6fG",
    "docker": "Cnry2b3e36beeb386dfdaacb9b46",
    "curl": "CnryCurlPass91",
    "mysql": "CnryMysqlPw55",
    "redis": "CnryRedisPw33",
    "url": "CnryUrlPass82",
    "slack-webhook": "CnryXyZ0aBcDeFgHiJkLmNoPq",
    "vault": "CnryVault4ypR2qO0JX8f3nmWuT3g",
    "env": CANARY_ENV_VALUE,
}
LOG = f"""2026-12-07T09:00:00.0000000Z ##[group]Run ./deploy.sh
2026-12-07T09:00:01.0000000Z ::add-mask::{CANARIES["add-mask"]}
2026-12-07T09:00:01.1000000Z export GITHUB_TOKEN={CANARIES["github"]}
2026-12-07T09:00:01.2000000Z Using AWS key {CANARIES["aws"]} for upload
2026-12-07T09:00:01.3000000Z twine upload -u __token__ -p pypi-AgEIcHlwaS5vcmc{CANARIES["pypi"]}
2026-12-07T09:00:01.4000000Z echo dckr_pat_{CANARIES["docker"]} | docker login -u bot --password-stdin
2026-12-07T09:00:01.5000000Z curl -fsS -u deploy:{CANARIES["curl"]} https://nexus.example.org/repo
2026-12-07T09:00:01.6000000Z mysql -h db -u root -p{CANARIES["mysql"]} -e 'select 1'
2026-12-07T09:00:01.7000000Z redis-cli -u redis://:{CANARIES["redis"]}@cache:6379/0 ping
2026-12-07T09:00:01.8000000Z git clone https://bot:{CANARIES["url"]}@git.example.org/acme/app.git
2026-12-07T09:00:01.9000000Z notify https://hooks.slack.com/services/T0CNRY/B0CNRY/{CANARIES["slack-webhook"]}
2026-12-07T09:00:02.0000000Z vault login hvs.{CANARIES["vault"]}
2026-12-07T09:00:02.1000000Z deploy key in use: {CANARY_ENV_VALUE}
2026-12-07T09:00:02.2000000Z Deploying with {CANARIES["add-mask"]} to the blue fleet
2026-12-07T09:00:03.0000000Z the deploy step fell over in a way nobody has seen before
2026-12-07T09:00:03.1000000Z ##[error]Process completed with exit code 1.
"""
SEEN = "fell over in a way nobody has seen before"  # a line of the log every sink should carry


@pytest.fixture
def process_log() -> Iterator[io.StringIO]:
    """Everything this process logs during the test, formatted as the processes format it."""
    install_log_redaction()  # what `configure_logging` does in every Mender process
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _github_world(world: World, repo: str) -> str:
    """What the GitHub simulator holds, less the source log: its report, issues, comments and PRs."""
    report = world.sim.report()
    for pipeline in report.get("pipelines", []):
        pipeline.pop("log", None)
        pipeline.pop("log_text", None)
    gh = world.github().get_repo(repo)
    texts: list[Any] = [report]
    for issue in gh.get_issues(state="all"):
        texts += [issue.title, issue.body, *(c.body for c in issue.get_comments())]
    for pull in gh.get_pulls(state="all"):
        texts += [pull.title, pull.body]
    return json.dumps(texts, default=str)


async def test_no_canary_reaches_any_sink(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_log: io.StringIO
) -> None:
    monkeypatch.setenv(CANARY_ENV, CANARY_ENV_VALUE)
    repo = f"acme/canary-{uuid.uuid4().hex[:8]}"
    llm = LLMSimulator()
    with ServerThread(create_llm(llm)) as llm_server:
        ci = {
            "poll_interval_seconds": 2,
            "rerun_backoff_seconds": 0.5,
            "verify_timeout_seconds": 30,
            "rerun_attempts": 1,
            "secret_env_vars": [CANARY_ENV],
            "approval": {"approvers": ["alice"], "timeout_seconds": 5},
            "llm": {"enabled": True, "base_url": f"{llm_server.url}/v1"},
        }
        settings = make_settings(tmp_path, ci=ci)
        async with mender_world(client, settings) as world:
            world.sim.timing = Timing(ci_start_seconds=0.2, ci_seconds=0.5, bot_delay_seconds=0.2)
            world.slack.approver = lambda message: ("mender_approve", "U1", "alice")
            started = await world.http.post(
                f"{world.sim_url}/_sim/pipelines", json={"repo": repo, "log_text": LOG, "heals_on": "never"}
            )
            started.raise_for_status()
            workflow_id = f"ci/github/{repo}/{started.json()['run_id']}"

            async def status() -> CIStatus:
                return await client.get_workflow_handle(workflow_id).query(STATUS_QUERY, result_type=CIStatus)

            final = await eventually(status, lambda s: s.outcome is not None, timeout=120)

            async def stored() -> list:
                return list_ci_failures(engine_for(settings.database_url), repo)

            await eventually(stored, lambda rows: bool(rows) and rows[0].outcome is not None)
            sinks = {
                "status": final.model_dump_json(),
                "github": _github_world(world, repo),
                "gitlab": json.dumps(world.gitlab.report() if world.gitlab else {}, default=str),
                "slack": json.dumps(world.slack.messages(), default=str),
                "llm": json.dumps(llm.requests(), default=str),
            }
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    sinks["database"] = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*")).decode(
        "utf-8", "replace"
    )
    sinks["process log"] = process_log.getvalue()

    assert llm.requests(), "the LLM was asked (no playbook was sure)"
    carried = {
        "status": "deploy.sh",
        "slack": "deploy.sh",
        "llm": SEEN,
        "database": SEEN,
        "process log": "deploy",
    }
    for name, text in carried.items():
        assert text in sinks[name], f"{name} does not carry the log: the check below would prove nothing"
    assert "***" in sinks["llm"] and "***" in sinks["database"]
    leaks = {
        (sink, canary)
        for sink, text in sinks.items()
        for canary, secret in CANARIES.items()
        if secret in text
    }
    assert leaks == set()


GITLAB_MASKED = "gl-deploy-pass-8Kq2"  # a masked CI/CD variable, printed in a form GitLab did not mask
GITLAB_PLAIN = "region-eu-west-7"  # a variable that is not masked: it stays readable
GITLAB_LOG = f"""$ ./deploy.sh
Using token [MASKED] for the registry
deploy user: ci:{GITLAB_MASKED}@target in {GITLAB_PLAIN}
connect: deploy target refused with password '{GITLAB_MASKED}'
ERROR: Job failed: exit code 1
"""


async def test_gitlab_masked_variables_are_masked_wherever_they_appear(
    client: Client, tmp_path: Path
) -> None:
    repo = f"acme/canary-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        tmp_path, ci={"poll_interval_seconds": 2, "rerun_attempts": 1, "rerun_backoff_seconds": 0.5}
    )
    async with mender_world(client, settings) as world:
        assert world.gitlab is not None
        project = world.gitlab.ensure_project(repo)
        project.variables.update({"DEPLOY_PASSWORD": (GITLAB_MASKED, True), "REGION": (GITLAB_PLAIN, False)})
        pipeline = world.gitlab.add_pipeline(repo, GITLAB_LOG, heals_on="never")
        workflow_id = f"ci/gitlab/{repo}/{pipeline.id}"

        async def status() -> CIStatus:
            return await client.get_workflow_handle(workflow_id).query(STATUS_QUERY, result_type=CIStatus)

        await eventually(status, lambda s: s.outcome is not None, timeout=120)

        async def stored() -> list:
            return list_ci_failures(engine_for(settings.database_url), repo)

        [row] = await eventually(stored, lambda rows: bool(rows) and rows[0].outcome is not None)
        seen = json.dumps(
            [row.distilled, row.key_line, world.slack.messages(), world.gitlab.report()], default=str
        )
    assert GITLAB_MASKED not in seen
    assert (
        "[MASKED]" in row.distilled and GITLAB_PLAIN in row.distilled
    )  # GitLab's mark and plain values stay
