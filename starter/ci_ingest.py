"""Translate CI webhooks (GitHub `workflow_run`, GitLab Pipeline Hook) into `CIRunEvent`s. It never decides.

A result is either an event or the reason the delivery is ignored (logged and recorded by the caller).
Runs of bot PRs that the PR lifecycle workflow already heals are ignored here, so the two halves of Mender
never act on the same failure twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.ci_healing.runs import (
    CIRunEvent,
    CIRunRef,
    Conclusion,
    Provider,
    fix_branch_origin,
    normalise_stamp,
)
from domain.config import MenderConfig
from starter.webhook_payloads import Loose, validated


class _Login(Loose):
    login: str


class _Repository(Loose):
    full_name: str


class _PullRef(Loose):
    number: int


class _WorkflowRun(Loose):
    id: int
    name: str | None = None
    run_attempt: int = 1
    status: str
    conclusion: str | None = None
    head_branch: str | None = None
    head_sha: str | None = None
    html_url: str = ""
    event: str | None = None
    updated_at: datetime
    pull_requests: list[_PullRef] = []
    actor: _Login | None = None
    triggering_actor: _Login | None = None


class WorkflowRunEvent(Loose):
    action: str
    workflow_run: _WorkflowRun
    repository: _Repository


class _Pipeline(Loose):
    id: int
    ref: str | None = None
    sha: str | None = None
    status: str
    url: str | None = None
    finished_at: str | None = None


class _Project(Loose):
    path_with_namespace: str
    web_url: str = ""


class PipelineHook(Loose):
    object_kind: str
    object_attributes: _Pipeline
    project: _Project


def _watched(config: MenderConfig, provider: Provider, project: str) -> str | None:
    """None when Mender watches `project`'s CI, else why not."""
    if not config.ci.enabled:
        return "CI healing is disabled (ci.enabled: false)"
    if config.ci.watch:
        if any(w.provider == provider.value and w.project == project for w in config.ci.watch):
            return None
        return f"{provider.value} project {project} is not in ci.watch"
    if provider is Provider.GITHUB and config.repositories and config.repository(project) is None:
        return f"repository {project} is not configured"
    return None


def from_workflow_run(
    payload: dict[str, Any], config: MenderConfig, received_at: datetime
) -> CIRunEvent | str:
    """A GitHub `workflow_run` webhook as an event, or why it is ignored."""
    parsed: WorkflowRunEvent = validated(WorkflowRunEvent, payload, "workflow_run")
    run, project = parsed.workflow_run, parsed.repository.full_name
    if parsed.action != "completed":
        return f"workflow_run.{parsed.action}: only completed runs matter"
    if reason := _watched(config, Provider.GITHUB, project):
        return reason
    logins = [a.login if a else None for a in (run.actor, run.triggering_actor)]
    if config.bots.own_ci_run(run.event, bool(run.pull_requests), logins):
        return "run of a bot PR: the PR workflow heals it"
    origin = fix_branch_origin(run.head_branch)
    ref = CIRunRef(provider=Provider.GITHUB, project=project, run_id=run.id)
    return CIRunEvent(
        run=ref,
        attempt=max(1, run.run_attempt),
        conclusion=Conclusion.of(run.conclusion or run.status),
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        html_url=run.html_url,
        name=run.name or "",
        occurred_at=run.updated_at or received_at,
        fix_for=(
            CIRunRef(provider=Provider.GITHUB, project=project, run_id=origin)
            if origin and origin != run.id
            else None
        ),
    )


def fix_prs_of_workflow_run(payload: dict[str, Any]) -> list[int]:
    """The fix PRs whose branch a completed `workflow_run` ran on: their own workflows look again now."""
    parsed: WorkflowRunEvent = validated(WorkflowRunEvent, payload, "workflow_run")
    run = parsed.workflow_run
    if parsed.action != "completed" or fix_branch_origin(run.head_branch) is None:
        return []
    return [pull.number for pull in run.pull_requests]


def from_pipeline_hook(
    payload: dict[str, Any], config: MenderConfig, received_at: datetime
) -> CIRunEvent | str:
    """A GitLab Pipeline Hook as an event, or why it is ignored."""
    parsed: PipelineHook = validated(PipelineHook, payload, "Pipeline Hook")
    if parsed.object_kind != "pipeline":
        return f"object_kind {parsed.object_kind!r} is not a pipeline"
    pipeline, project = parsed.object_attributes, parsed.project.path_with_namespace
    if reason := _watched(config, Provider.GITLAB, project):
        return reason
    conclusion = Conclusion.of(pipeline.status)
    if conclusion is None:
        return f"pipeline {pipeline.id} is {pipeline.status}: only finished pipelines matter"
    return CIRunEvent(
        run=CIRunRef(provider=Provider.GITLAB, project=project, run_id=pipeline.id),
        conclusion=conclusion,
        head_branch=pipeline.ref,
        head_sha=pipeline.sha,
        html_url=pipeline.url or f"{parsed.project.web_url}/-/pipelines/{pipeline.id}",
        occurred_at=received_at,
        stamp=normalise_stamp(pipeline.finished_at),
    )
