"""Which GitLab hooks nudge a fix MR's workflow (`fixpr/<project>/<iid>`), from GitLab's documented
payloads (`tests/fixtures/gitlab/webhooks/`) with the source branch moved to a Mender branch: a finished
merge request pipeline of a fix branch (also the fix's verification run for the CI failure workflow,
never a failure of its own), one of a revert branch (the reverted fix MR's workflow), a Merge Request
Hook of either. Other merge requests' hooks are unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.ci_healing.runs import CIRunRef, Conclusion, Provider
from domain.config import MenderConfig
from runtime.settings import Environment, Settings
from starter.intake.gitlab import GITLAB
from starter.intake.model import Delivery, PayloadError
from tests.conftest import FIXTURES

FIX = "mender/ci-fix/1001-1"
PROJECT = "gitlab-org/gitlab-test"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
SETTINGS = Settings(MenderConfig(), Environment())


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "gitlab" / "webhooks" / f"{name}.json").read_text())


def _pipeline(branch: str, status: str = "success") -> dict[str, Any]:
    payload = _load("pipeline")
    payload["merge_request"]["source_branch"] = branch
    payload["object_attributes"]["status"] = status
    return payload


def _merge_request(branch: str) -> dict[str, Any]:
    payload = _load("merge_request")
    payload["object_attributes"]["source_branch"] = branch
    payload["project"]["path_with_namespace"] = PROJECT
    return payload


def _translate(event: str, payload: dict[str, Any]) -> Any:
    return GITLAB.translate(Delivery("gitlab", "d-1", event, payload, NOW), SETTINGS)


def test_a_fix_mr_pipeline_nudges_and_verifies_the_fix() -> None:
    intake = _translate("Pipeline Hook", _pipeline(FIX))
    assert intake.nudges == [f"fixpr/{PROJECT}/1"]  # the payload's merge_request.iid
    assert intake.ci is not None and intake.ci.conclusion is Conclusion.SUCCESS
    assert intake.ci.fix_for == CIRunRef(provider=Provider.GITLAB, project=PROJECT, run_id=1001)
    assert intake.ci.head_branch == FIX and not intake.ci.starts_workflow


def test_a_failed_fix_mr_pipeline_is_no_failure_to_heal() -> None:
    intake = _translate("Pipeline Hook", _pipeline(FIX, "failed"))
    assert intake.ci is not None and intake.ci.conclusion is Conclusion.FAILURE
    assert not intake.ci.starts_workflow and intake.ci.target.run_id == 1001


def test_a_revert_mr_pipeline_nudges_the_reverted_fix_mr() -> None:
    intake = _translate("Pipeline Hook", _pipeline("mender/ci-fix/revert-7", "failed"))
    assert intake.nudges == [f"fixpr/{PROJECT}/7"] and intake.ci is None


def test_an_unfinished_fix_mr_pipeline_nudges_nothing() -> None:
    intake = _translate("Pipeline Hook", _pipeline(FIX, "running"))
    assert intake.nudges == [] and intake.ci is None and "only finished" in intake.ignored


def test_another_merge_request_pipeline_is_unchanged() -> None:
    intake = _translate("Pipeline Hook", _load("pipeline"))  # source branch "test"
    assert intake.nudges == [] and intake.ci is not None and intake.ci.fix_for is None


@pytest.mark.parametrize(
    ("branch", "nudges"),
    [
        (FIX, [f"fixpr/{PROJECT}/1"]),
        ("mender/ci-fix/revert-4", [f"fixpr/{PROJECT}/4"]),
        ("ms-viewport", []),  # the example's own branch: not Mender's
        ("mender/ci-fix/revert-x", []),
    ],
)
def test_merge_request_hooks_nudge_fix_mrs_only(branch: str, nudges: list[str]) -> None:
    intake = _translate("Merge Request Hook", _merge_request(branch))
    assert intake.nudges == nudges and intake.ci is None
    assert bool(intake.ignored) is not bool(nudges)


@pytest.mark.parametrize(
    "broken",
    [
        {"object_kind": "merge_request"},
        {"object_kind": "merge_request", "object_attributes": {"source_branch": FIX, "iid": "1"}},
        {"object_kind": "merge_request", "object_attributes": {"source_branch": FIX, "iid": 1}},
    ],
)
def test_malformed_merge_request_hooks_are_refused_with_the_reason(broken: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        _translate("Merge Request Hook", broken)
