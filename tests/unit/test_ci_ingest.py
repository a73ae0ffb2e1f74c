"""CI webhooks become run events (or a reason to ignore them): real GitHub and GitLab payload shapes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from domain.ci_healing.runs import CIRunEvent, Conclusion, Provider, normalise_stamp
from domain.config import MenderConfig
from starter.ci_ingest import from_pipeline_hook, from_workflow_run
from starter.webhook_payloads import PayloadError
from tests.conftest import FIXTURES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _load(path: str) -> dict:
    return json.loads((FIXTURES / path).read_text())


def _failed_run(**changes: object) -> dict:
    payload = _load("github/webhooks/workflow_run/completed.payload.json")
    payload["workflow_run"] = {**payload["workflow_run"], "conclusion": "failure", **changes}
    return payload


def test_failed_workflow_run_starts_a_ci_workflow() -> None:
    event = from_workflow_run(_failed_run(), MenderConfig(), NOW)
    assert isinstance(event, CIRunEvent)
    assert event.run.provider is Provider.GITHUB
    assert event.run.workflow_id == "ci/github/octo-org/octo-repo/289782451"
    assert event.conclusion is Conclusion.FAILURE and event.starts_workflow
    assert event.attempt == 1 and event.fix_for is None


def test_successful_rerun_is_a_signal_not_a_start() -> None:
    event = from_workflow_run(_failed_run(conclusion="success", run_attempt=2), MenderConfig(), NOW)
    assert isinstance(event, CIRunEvent)
    assert event.conclusion is Conclusion.SUCCESS and not event.starts_workflow
    assert event.attempt == 2


def test_run_on_a_fix_branch_reports_to_the_run_it_fixes() -> None:
    event = from_workflow_run(
        _failed_run(id=999, head_branch="mender/ci-fix/289782451-1"), MenderConfig(), NOW
    )
    assert isinstance(event, CIRunEvent)
    assert event.fix_for is not None and event.target.run_id == 289782451
    assert not event.starts_workflow  # a failing fix never starts a workflow of its own


@pytest.mark.parametrize("action", ["requested", "in_progress"])
def test_unfinished_runs_are_ignored_with_a_reason(action: str) -> None:
    payload = _failed_run()
    payload["action"] = action
    assert "only completed" in from_workflow_run(payload, MenderConfig(), NOW)


def test_bot_pr_runs_belong_to_the_pr_workflow() -> None:
    payload = _load("github/webhooks/workflow_run/completed.with-pull-requests.payload.json")
    payload = copy.deepcopy(payload)
    payload["workflow_run"]["conclusion"] = "failure"
    payload["workflow_run"]["actor"]["login"] = "dependabot[bot]"
    assert payload["workflow_run"]["pull_requests"]
    assert "PR workflow" in from_workflow_run(payload, MenderConfig(), NOW)


def test_unconfigured_repository_and_disabled_ci_are_ignored() -> None:
    other = MenderConfig(repositories=[{"name": "acme/api"}])
    assert "not configured" in from_workflow_run(_failed_run(), other, NOW)
    off = MenderConfig(ci={"enabled": False})
    assert "disabled" in from_workflow_run(_failed_run(), off, NOW)


def test_malformed_workflow_run_is_a_payload_error() -> None:
    payload = _failed_run()
    del payload["workflow_run"]["id"]
    with pytest.raises(PayloadError, match=r"workflow_run\.id"):
        from_workflow_run(payload, MenderConfig(), NOW)


def _pipeline(status: str) -> dict:
    payload = _load("gitlab/webhooks/pipeline.json")
    payload["object_attributes"] = {**payload["object_attributes"], "status": status}
    return payload


def test_failed_gitlab_pipeline_starts_a_ci_workflow() -> None:
    event = from_pipeline_hook(_pipeline("failed"), MenderConfig(), NOW)
    assert isinstance(event, CIRunEvent)
    assert event.run.workflow_id == "ci/gitlab/gitlab-org/gitlab-test/31"
    assert event.starts_workflow and event.stamp == "2016-08-12T15:26:29Z"


def test_running_gitlab_pipeline_is_ignored() -> None:
    assert "only finished" in from_pipeline_hook(_pipeline("running"), MenderConfig(), NOW)


def test_gitlab_project_outside_watch_list_is_ignored() -> None:
    config = MenderConfig(ci={"watch": [{"provider": "gitlab", "project": "acme/api"}]})
    assert "not in ci.watch" in from_pipeline_hook(_pipeline("failed"), config, NOW)


def test_webhook_and_poll_of_the_same_attempt_share_a_key() -> None:
    hook = from_pipeline_hook(_pipeline("failed"), MenderConfig(), NOW)
    assert isinstance(hook, CIRunEvent)
    polled = hook.model_copy(update={"stamp": normalise_stamp("2016-08-12T15:26:29.000Z")})
    assert polled.key == hook.key


def test_rerun_of_a_bot_pr_whose_head_moved_is_still_the_pr_workflows() -> None:
    payload = _failed_run(event="pull_request", pull_requests=[])
    payload["workflow_run"]["actor"] = {"login": "renovate[bot]"}
    payload["workflow_run"]["triggering_actor"] = {"login": "mender-app[bot]"}
    assert "PR workflow" in from_workflow_run(payload, MenderConfig(), NOW)
    human = _failed_run(event="pull_request", pull_requests=[])
    human["workflow_run"]["actor"] = human["workflow_run"]["triggering_actor"] = {"login": "octocat"}
    assert isinstance(from_workflow_run(human, MenderConfig(), NOW), CIRunEvent)
