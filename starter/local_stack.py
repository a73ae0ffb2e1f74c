"""Everything in one process for `mender simulate`, benchmarks and tests: a Temporal dev server,
a worker, the starter, and the GitHub, GitLab and Slack simulators, each on a free loopback port."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.visibility import SEARCH_ATTRIBUTES
from domain.config import MenderConfig
from runtime.dispatch import EventDispatcher
from runtime.schedules import ensure_ci_poller_schedule, ensure_reconciler_schedule
from runtime.serving import ServerThread, free_port
from runtime.settings import Environment, Settings, set_settings
from runtime.temporal import temporal_binary
from simulators.github import Simulator, SimulatorConfig
from simulators.github import create_app as create_github
from simulators.gitlab import GitLabSimulator
from simulators.gitlab import create_app as create_gitlab
from simulators.slack import SlackSimulator
from simulators.slack import create_app as create_slack
from starter.app import create_app as create_starter
from starter.github_process import RemoteGitHub, simulator_process
from starter.worker_process import worker_process as worker_running

ACTIVITY_SLOTS = 16  # the embedded worker's (in its process or its own)


@dataclass
class Embedded:
    client: Client
    settings: Settings
    github: Simulator | RemoteGitHub  # remote: its own process (`github_process`)
    github_url: str
    slack: SlackSimulator
    slack_url: str
    starter_url: str
    task_queue: str
    gitlab: GitLabSimulator
    gitlab_url: str


def embedded_settings(
    config: MenderConfig, data_dir: Path, github_url: str, slack_url: str, gitlab_url: str
) -> Settings:
    """Settings that point every outside system at the simulators (credentials are ignored)."""
    config = config.model_copy(
        update={
            "github": config.github.model_copy(update={"simulator_url": github_url}),
            "slack": config.slack.model_copy(update={"simulator_url": f"{slack_url}/api/"}),
            "ci": config.ci.model_copy(
                update={"gitlab": config.ci.gitlab.model_copy(update={"simulator_url": gitlab_url})}
            ),
        }
    )
    env = Environment(
        mender_config=data_dir / "embedded.yaml",
        mender_database_url=f"sqlite:///{data_dir / 'mender.db'}",
        github_token=None,
        slack_bot_token=None,
        gitlab_token=None,
        mender_webhook_secret=f"embedded-{uuid.uuid4().hex}",
    )
    return Settings(config, env)


@asynccontextmanager
async def embedded(
    config: MenderConfig,
    data_dir: Path,
    *,
    github_seed: int = 7,
    worker_process: bool = False,
    github_process: bool = False,
) -> AsyncIterator[Embedded]:
    """Start the whole stack; settings are installed process-wide for the in-process worker.
    `worker_process`: the worker runs as its own `mender worker` process instead (`worker_process.py`);
    `github_process`: so does the GitHub simulator (`github_process.py`; its log in `data_dir`)."""
    from worker import activity_threads, build_worker

    github_url = f"http://127.0.0.1:{free_port()}"
    slack_sim = SlackSimulator()
    slack_server = ServerThread(create_slack(slack_sim))
    gitlab_sim = GitLabSimulator()
    gitlab_server = ServerThread(create_gitlab(gitlab_sim))
    settings = embedded_settings(config, data_dir, github_url, slack_server.url, gitlab_server.url)
    set_settings(settings)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        dev_server_startup_timeout=timedelta(seconds=60),  # a loaded machine needs more than the SDK's 5 s
        dev_server_log_level="error",
    )
    queue = settings.config.temporal.task_queue
    try:
        client = env.client
        address = client.service_client.config.target_host
        starter = ServerThread(create_starter(settings, EventDispatcher(address, client.namespace, queue)))
        github_port = int(github_url.rsplit(":", 1)[1])
        github: Simulator | RemoteGitHub
        if github_process:
            webhooks = f"{starter.url}/webhooks/github"
            github_server: Any = simulator_process(
                github_port, webhooks, settings.webhook_secret, data_dir / "github.log"
            )
        else:
            github = Simulator(
                SimulatorConfig(
                    webhook_url=f"{starter.url}/webhooks/github",
                    webhook_secret=settings.webhook_secret,
                    base_url=github_url,
                    seed=github_seed,
                )
            )
            github_server = ServerThread(create_github(github), port=github_port)
        gitlab_sim.configure(
            webhook_url=f"{starter.url}/webhooks/gitlab", webhook_token=settings.gitlab_webhook_token
        )
        gitlab_sim.set_base_url(gitlab_server.url)
        slack_sim.interactivity_url = f"{starter.url}/slack/interactivity"
        slack_sim.signing_secret = settings.slack_signing_secret
        with (
            activity_threads(ACTIVITY_SLOTS) as executor,
            slack_server,
            starter,
            github_server as github_up,
            gitlab_server,
        ):
            github = github_up if github_process else github
            async with (
                worker_running(settings, client, queue, data_dir, ACTIVITY_SLOTS)
                if worker_process
                else build_worker(client, queue, executor, max_concurrent_activities=ACTIVITY_SLOTS)
            ):
                # The fallbacks for lost webhooks run as in production: reconciler and CI poller schedules.
                await ensure_reconciler_schedule(client, settings.config.reconciler, queue)
                await ensure_ci_poller_schedule(client, settings.config.ci, queue)
                yield Embedded(
                    client,
                    settings,
                    github,
                    github_url,
                    slack_sim,
                    slack_server.url,
                    starter.url,
                    queue,
                    gitlab_sim,
                    gitlab_server.url,
                )
    finally:
        await env.shutdown()
        set_settings(None)
