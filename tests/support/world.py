"""A whole Mender world for end-to-end tests: GitHub, GitLab and Slack simulators, starter and worker on a
real dev server, served by the session's shared hosts (`tests/support/running_stack.py`)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from github import Auth, Github
from temporalio.client import Client

from contracts.pr import STATUS_QUERY, PRStatus
from runtime.dispatch import EventDispatcher
from runtime.settings import Settings
from simulators.github import Simulator, SimulatorConfig
from simulators.github import create_app as create_simulator
from simulators.gitlab import GitLabSimConfig, GitLabSimulator
from simulators.gitlab import create_app as create_gitlab
from simulators.slack import SlackSimulator
from simulators.slack import create_app as create_slack
from starter.app import create_app as create_starter
from tests.support.running_stack import Host, borrowed_hosts
from tests.support.stack import running_worker


@dataclass
class World:
    sim: Simulator
    sim_url: str
    slack: SlackSimulator
    http: httpx.AsyncClient
    client: Client
    queue: str
    gitlab: GitLabSimulator | None = None
    gitlab_url: str = ""
    starter_url: str = ""

    async def report(self) -> dict[str, Any]:
        return (await self.http.get(f"{self.sim_url}/_sim/report")).json()

    async def open_pr(self, repo: str = "acme/api", author: str = "dependabot[bot]", **extra: Any) -> int:
        response = await self.http.post(
            f"{self.sim_url}/_sim/prs", json={"repo": repo, "author": author, **extra}
        )
        response.raise_for_status()
        return response.json()["number"]

    async def status(self, repo: str, number: int) -> PRStatus:
        handle = self.client.get_workflow_handle(f"pr/{repo}/{number}")
        return await handle.query(STATUS_QUERY, result_type=PRStatus)

    def github(self) -> Github:
        return Github(
            base_url=self.sim_url,
            auth=Auth.Token("simulator-token"),  # the simulator accepts Mender's dev token only
            seconds_between_requests=None,
            seconds_between_writes=None,
        )


_worlds = itertools.count(1)


@asynccontextmanager
async def mender_world(
    client: Client, settings: Settings, replace: Sequence[Callable[..., Any]] = (), **simulator: Any
) -> AsyncIterator[World]:
    """Worker + starter + GitHub simulator wired together, pointing `settings` at the simulator.

    Each world numbers its PRs from a fresh range, so workflows of earlier tests on the shared dev
    server never receive this test's events.
    """
    simulator.setdefault("first_pr_number", 1000 * next(_worlds))
    with borrowed_hosts(4) as (mender, github, gitlab_host, slack_host):
        async with _world_on(
            client, settings, replace, simulator, mender, github, gitlab_host, slack_host
        ) as world:
            yield world


@asynccontextmanager
async def _world_on(
    client: Client,
    settings: Settings,
    replace: Sequence[Callable[..., Any]],
    simulator: dict[str, Any],
    *hosts: Host,
) -> AsyncIterator[World]:
    mender, github, gitlab_host, slack_host = hosts
    address = client.service_client.config.target_host
    starter_url, github_url, gitlab_url, slack_url = (h.url for h in hosts)
    slack = SlackSimulator()
    slack.interactivity_url = f"{starter_url}/slack/interactivity"
    config = SimulatorConfig(
        webhook_url=f"{starter_url}/webhooks/github", webhook_secret=settings.webhook_secret, **simulator
    )
    sim = Simulator(config)
    gitlab = GitLabSimulator(GitLabSimConfig(webhook_url=f"{starter_url}/webhooks/gitlab", ci_seconds=1.0))
    ci = settings.config.ci
    settings.config = settings.config.model_copy(
        update={
            "github": settings.config.github.model_copy(update={"simulator_url": github_url}),
            "slack": settings.config.slack.model_copy(update={"simulator_url": f"{slack_url}/api/"}),
            "ci": ci.model_copy(
                update={"gitlab": ci.gitlab.model_copy(update={"simulator_url": gitlab_url})}
            ),
        }
    )
    async with (
        running_worker(client, replace=replace) as queue,
        httpx.AsyncClient(timeout=10) as http,
        mender.serving(create_starter(settings, EventDispatcher(address, client.namespace, queue))),
        github.serving(create_simulator(sim)),
        gitlab_host.serving(create_gitlab(gitlab)),
        slack_host.serving(create_slack(slack)),
    ):
        sim.set_base_url(github_url)
        gitlab.set_base_url(gitlab_url)
        yield World(sim, github_url, slack, http, client, queue, gitlab, gitlab_url, starter_url)
