"""GitLab CI behind Mender's CI port, through python-gitlab: job traces, pipeline retries, incidents.

Fix merge requests: `activities/fixpr_gitlab.py` (`GitLabFixCI`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import gitlab
from gitlab.exceptions import GitlabError
from temporalio.exceptions import ApplicationError

from activities.ci_logs import PassingLogs, analyse_jobs, lines_of
from contracts.ci import (
    FixArgs,
    FixResult,
    FixVerdict,
    IncidentArgs,
    IncidentResult,
    RerunResult,
    RunAnalysis,
)
from domain.ci_healing.config import CIConfig
from domain.ci_healing.reports import incident_body, incident_title
from domain.ci_healing.runs import CIRunEvent, CIRunRef, Conclusion, Provider, RunEventOrigin, normalise_stamp
from runtime.settings import get_settings

log = logging.getLogger("mender.ci.gitlab")


@contextmanager
def gitlab_errors(what: str) -> Iterator[None]:
    """A python-gitlab error as an ApplicationError: 4xx other than 429 are not retried."""
    try:
        yield
    except GitlabError as exc:
        code = exc.response_code or 0
        retryable = code == 0 or code >= 500 or code == 429
        raise ApplicationError(
            f"{what}: GitLab answered {code or 'no response'}",
            type="GitLabError",
            non_retryable=not retryable,
        ) from exc


def gitlab_client() -> gitlab.Gitlab:
    """python-gitlab against GitLab or the simulator; retries are Temporal's job."""
    settings = get_settings()
    return gitlab.Gitlab(settings.gitlab_url, private_token=settings.gitlab_token, timeout=30)


class GitLabCI:
    """One project's GitLab CI."""

    def __init__(self, project: str) -> None:
        self.project_path = project
        self.project = gitlab_client().projects.get(project, lazy=True)

    def analyse(self, run: CIRunRef, config: CIConfig) -> RunAnalysis:
        with gitlab_errors(f"read pipeline {run.key}"):
            pipeline = self.project.pipelines.get(run.run_id)
            failed = pipeline.jobs.list(scope=["failed"], get_all=True)
        jobs = ((job.name, self._trace(job.id)) for job in failed)
        return analyse_jobs(
            jobs,
            "gitlab_ci",
            config,
            run_url=pipeline.web_url,
            head_branch=pipeline.ref,
            head_sha=pipeline.sha,
            secret_values=self._masked_values(),
            passing_logs=self._passing_logs(pipeline.id, pipeline.ref),
            base_branch=self._default_branch(),
        )

    def _default_branch(self) -> str | None:
        """The project's default branch (the lazy project object does not know it); None when unreadable."""
        try:
            return gitlab_client().projects.get(self.project_path).default_branch
        except GitlabError as exc:
            log.info("default branch of %s not read (%s)", self.project_path, exc.response_code)
            return None

    def _masked_values(self) -> list[str]:
        """The values of the project's masked CI/CD variables: GitLab masks them in job logs, but not when
        a job prints them changed (split, quoted, encoded); Mender masks every literal occurrence too.
        A token that may not read variables (they need the Maintainer role) leaves the `[MASKED]` marks."""
        try:
            variables = self.project.variables.list(get_all=True)
        except GitlabError as exc:
            log.info("masked variables of %s not read (%s)", self.project_path, exc.response_code)
            return []
        return [v.value for v in variables if getattr(v, "masked", False) and getattr(v, "value", None)]

    def _passing_logs(self, failed_id: int, ref: str | None) -> PassingLogs:
        """Per job name, the trace of that job in the last successful pipeline of the same ref (None when
        there is none). Looked up once, when first asked."""
        found: dict[str, int] | None = None

        def jobs() -> dict[str, int]:
            nonlocal found
            if found is None:
                found = {}
                try:
                    for branch in dict.fromkeys(b for b in (ref, self._default_branch()) if b):
                        listed = self.project.pipelines.list(
                            ref=branch, status="success", per_page=5, get_all=False
                        )
                        passed = next((p for p in listed if p.id != failed_id), None)
                        if passed is not None:
                            listed_jobs = passed.jobs.list(scope=["success"], get_all=True)
                            found = {job.name: job.id for job in listed_jobs}
                            break
                except GitlabError as exc:
                    log.warning("no passing pipeline of %s read (%s)", self.project_path, exc)
            return found

        def lines(name: str) -> Iterator[str] | None:
            job_id = jobs().get(name)
            return self._trace(job_id) if job_id is not None else None

        return lines

    def _trace(self, job_id: int) -> Iterator[str]:
        with gitlab_errors(f"read trace of job {job_id}"):
            chunks = self.project.jobs.get(job_id, lazy=True).trace(streamed=True, iterator=True)
            yield from lines_of(chunks)

    def rerun(self, run: CIRunRef) -> RerunResult:
        with gitlab_errors(f"retry pipeline {run.key}"):
            pipeline = self.project.pipelines.get(run.run_id)
            if pipeline.status in ("running", "pending", "created"):
                return RerunResult(requested=True, detail=f"already {pipeline.status}")
            pipeline.retry()
        return RerunResult(requested=True, detail="failed jobs retried")

    def status(self, run: CIRunRef) -> CIRunEvent | None:
        with gitlab_errors(f"read pipeline {run.key}"):
            pipeline = self.project.pipelines.get(run.run_id)
        return self._event(pipeline.attributes)

    def branch_status(self, run: CIRunRef, branch: str) -> CIRunEvent | None:
        return None  # no fix branches on GitLab

    def recent_failures(self, since: datetime) -> list[CIRunEvent]:
        with gitlab_errors(f"list failed pipelines of {self.project_path}"):
            pipelines = self.project.pipelines.list(
                status="failed", updated_after=since.astimezone(UTC).isoformat(), get_all=True
            )
        return [self._event(p.attributes) for p in pipelines]

    def _event(self, attributes: dict) -> CIRunEvent:
        updated = attributes.get("updated_at") or attributes.get("created_at")
        return CIRunEvent(
            run=CIRunRef(provider=Provider.GITLAB, project=self.project_path, run_id=attributes["id"]),
            conclusion=Conclusion.of(attributes.get("status")),
            head_branch=attributes.get("ref"),
            head_sha=attributes.get("sha"),
            html_url=attributes.get("web_url") or "",
            occurred_at=datetime.fromisoformat(updated.replace("Z", "+00:00"))
            if updated
            else datetime.now(UTC),
            origin=RunEventOrigin.POLL,
            stamp=normalise_stamp(attributes.get("finished_at")),
        )

    def open_fix(self, args: FixArgs) -> FixResult:
        return FixResult(opened=False, detail="fix merge requests are not automated on GitLab")

    def report_fix(self, verdict: FixVerdict) -> None:
        return None

    def rollback(self, verdict: FixVerdict) -> None:
        return None

    def open_incident(self, args: IncidentArgs) -> IncidentResult:
        with gitlab_errors(f"open incident for {args.run.key}"):
            issue = self.project.issues.create(
                {
                    "title": incident_title(args),
                    "description": incident_body(args),
                    "labels": "mender-incident",
                }
            )
        return IncidentResult(opened=True, url=issue.web_url)
