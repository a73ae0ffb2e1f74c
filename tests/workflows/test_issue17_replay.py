"""Histories recorded on the code before issue 17's GitLab changes still replay on today's code
(`workflow.patched`): a GitLab fix MR queued and rejected (no `review.settle_run` then), the CI failure
it fixed, and a GitLab timeout failure escalated (no `.gitlab-ci.yml` edits then).

Recorded once on commit 2731174 (main before this work) with the GitLab and Slack simulators; see
`tests/fixtures/SOURCES.md`. No Temporal server needed: the Replayer runs the workflow code alone.
"""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.conftest import FIXTURES
from workflows.ci_failure import CIFailureWorkflow
from workflows.fix_pr import FixPRWorkflow

HISTORIES = FIXTURES / "histories"


@pytest.mark.parametrize(
    "name", ["fixpr_gitlab_rejected", "ci_gitlab_dependency", "ci_gitlab_timeout_escalated"]
)
async def test_a_history_from_before_replays(name: str) -> None:
    text = (HISTORIES / f"{name}.json").read_text()
    history = WorkflowHistory.from_json(f"replay/{name}", json.loads(text))
    replayer = Replayer(workflows=[CIFailureWorkflow, FixPRWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
