"""A GitLab simulator speaking real HTTP: REST API v4 subset for python-gitlab, failing pipelines, Pipeline Hooks.

Each pipeline added with `add_pipeline` has already failed (job `build` passed, the named job failed with
the given log as its trace). Retrying it finishes after `ci_seconds`: success when `heals_on == "retry"`,
failed again with the same trace for `fix` and `never`. Pipeline Hooks (pending, running, final status)
go to `webhook_url` with `X-Gitlab-Token`; `loss_rate` drops some (seeded). `sim.report()` tells the outcome.

sim = GitLabSimulator(GitLabSimConfig(webhook_url="http://127.0.0.1:8000/webhooks/gitlab"))
server = ServerThread(create_app(sim)).start()
sim.set_base_url(server.url)
pipeline = sim.add_pipeline("acme/api", "E   AssertionError", heals_on="retry")
gl = gitlab.Gitlab(server.url, private_token="simulator-token")
"""

from simulators.gitlab.api import create_app
from simulators.gitlab.delivery import PIPELINE_HOOK, DeliveryRecord
from simulators.gitlab.model import HEALS_ON, Issue, Job, Pipeline, Project
from simulators.gitlab.simulator import GitLabError, GitLabSimConfig, GitLabSimulator

__all__ = [
    "HEALS_ON",
    "PIPELINE_HOOK",
    "DeliveryRecord",
    "GitLabError",
    "GitLabSimConfig",
    "GitLabSimulator",
    "Issue",
    "Job",
    "Pipeline",
    "Project",
    "create_app",
]
