"""Which of Mender's fix MRs a GitLab hook concerns, so its fix PR workflow looks again at once.

A merge request pipeline's Pipeline Hook (it names its `merge_request`) on a fix branch
(`mender/ci-fix/<pipeline>-<n>`) nudges `fixpr/<project>/<iid>` and is the fix's verification run
for the CI failure workflow of the pipeline it fixes (never a failure of its own to heal); one on a
revert branch (`mender/ci-fix/revert-<iid>`) nudges the reverted fix MR's workflow. A Merge Request
Hook (opened, approved, merged, closed ...) of either kind of branch nudges the same way. The poll
(`ci.fix_prs.poll_seconds`) stays the fallback for a lost hook.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.fixpr import fixpr_workflow_id
from domain.ci_healing.fixpr import REVERT_BRANCH_PREFIX
from domain.ci_healing.runs import FIX_BRANCH_PREFIX, CIRunRef, Provider, fix_branch_origin
from domain.config import MenderConfig
from starter import ci_ingest
from starter.intake.model import Intake, PayloadError

MERGE_REQUEST_HOOK = "Merge Request Hook"


def fix_mr_workflow(project: str, branch: str, iid: int) -> str | None:
    """The fix PR workflow a fix MR (or its revert MR) of `branch` belongs to, else None."""
    if fix_branch_origin(branch) is not None:
        return fixpr_workflow_id(project, iid)
    number = branch.removeprefix(REVERT_BRANCH_PREFIX)
    if branch.startswith(REVERT_BRANCH_PREFIX) and number.isdigit():
        return fixpr_workflow_id(project, int(number))
    return None


def _fix_branch_mr(payload: dict[str, Any]) -> dict[str, Any] | None:
    mr = payload.get("merge_request")
    if not isinstance(mr, dict):
        return None
    branch = mr.get("source_branch")
    return mr if isinstance(branch, str) and branch.startswith(FIX_BRANCH_PREFIX) else None


def _project(payload: dict[str, Any]) -> str:
    project = payload.get("project")
    path = project.get("path_with_namespace") if isinstance(project, dict) else None
    if not isinstance(path, str) or "/" not in path:
        raise PayloadError("project.path_with_namespace is missing")
    return path


def _iid(mr: dict[str, Any]) -> int:
    iid = mr.get("iid")
    if not isinstance(iid, int) or isinstance(iid, bool) or iid < 1:
        raise PayloadError("the merge request's iid is missing or invalid")
    return iid


def fix_mr_pipeline(payload: dict[str, Any], config: MenderConfig, received_at: datetime) -> Intake | None:
    """The Pipeline Hook of a fix (or revert) MR's pipeline as a nudge and a verification event; None
    when the pipeline is not one of a Mender branch's merge request."""
    mr = _fix_branch_mr(payload)
    if mr is None:
        return None
    project, branch = _project(payload), str(mr["source_branch"])
    run = ci_ingest.from_pipeline_hook(payload, config, received_at)
    if isinstance(run, str):
        return Intake(ignored=run)
    nudge = fix_mr_workflow(project, branch, _iid(mr))
    nudges = [nudge] if nudge else []
    origin = fix_branch_origin(branch)
    if origin is None or origin == run.run.run_id:  # a revert MR's pipeline: its workflow watches it
        return Intake(nudges=nudges) if nudges else Intake(ignored=f"pipeline of {branch}")
    fixes = CIRunRef(provider=Provider.GITLAB, project=project, run_id=origin)
    return Intake(ci=run.model_copy(update={"fix_for": fixes, "head_branch": branch}), nudges=nudges)


def fix_mr_event(payload: dict[str, Any]) -> Intake:
    """A Merge Request Hook: a nudge for a fix (or revert) MR, else ignored."""
    attributes = payload.get("object_attributes")
    if payload.get("object_kind") != "merge_request" or not isinstance(attributes, dict):
        raise PayloadError("a Merge Request Hook needs object_kind merge_request and object_attributes")
    branch = attributes.get("source_branch")
    if not isinstance(branch, str) or not branch.startswith(FIX_BRANCH_PREFIX):
        return Intake(ignored="merge request of a branch Mender did not open")
    nudge = fix_mr_workflow(_project(payload), branch, _iid(attributes))
    return Intake(nudges=[nudge]) if nudge else Intake(ignored=f"merge request of {branch}")
