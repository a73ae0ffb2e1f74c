"""The GitLab simulator's world: projects, failing pipelines that heal (or not) on retry, issues, hooks.

All state sits behind one lock, so tests may call these methods from any thread while uvicorn serves.
Timed work (a retried job finishing after `ci_seconds`) runs on the app's event loop once `start()`
ran there, else on timer threads. `reset()` bumps a generation so stale timers do nothing.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import fields
from typing import Any

from simulators.gitlab.branch_runs import branch_pipeline
from simulators.gitlab.config import GitLabSimConfig
from simulators.gitlab.delivery import Deliverer
from simulators.gitlab.merge_requests import RepositoryOps
from simulators.gitlab.model import GitLabError, Issue, Job, Pipeline, Project, iso
from simulators.gitlab.runs import PipelineRuns
from simulators.gitlab.state import GitLabState

__all__ = ["GitLabError", "GitLabSimConfig", "GitLabSimulator"]


class GitLabSimulator:
    """In-memory GitLab: one `GitLabState`, changed by `PipelineRuns`; see the module docstring."""

    def __init__(self, config: GitLabSimConfig | None = None) -> None:
        self.state = GitLabState(config or GitLabSimConfig())
        self.runs = PipelineRuns(self.state)
        self.repo = RepositoryOps(self.state)
        self.configure()

    # --- the state, as the REST routers and tests read it ---

    @property
    def config(self) -> GitLabSimConfig:
        return self.state.config

    @property
    def deliverer(self) -> Deliverer:
        return self.state.deliverer

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read several records consistently (the REST routes do)."""
        return self.state.lock

    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def projects(self) -> dict[int, Project]:
        return self.state.projects

    @property
    def pipelines(self) -> dict[int, Pipeline]:
        return self.state.pipelines

    @property
    def jobs(self) -> dict[int, Job]:
        return self.state.jobs

    @property
    def issues(self) -> dict[tuple[int, int], Issue]:
        return self.state.issues

    # --- configuration and lifecycle --------------------------------------------------------------------

    def set_base_url(self, url: str) -> None:
        self.config.base_url = url.rstrip("/")
        self.deliverer.config.instance = self.base_url

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change config fields (webhook_url, webhook_token, ci_seconds, loss_rate, seed, ...); returns all."""
        known = {f.name for f in fields(GitLabSimConfig)}
        if unknown := set(changes) - known:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        for key, kind in (("ci_seconds", float), ("loss_rate", float), ("seed", int)):
            if key in changes:
                changes[key] = kind(changes[key])
        if not 0.0 <= changes.get("loss_rate", 0.0) <= 1.0:
            raise ValueError("loss_rate must be within 0..1")
        if changes.get("ci_seconds", 0.0) < 0:
            raise ValueError("ci_seconds must be >= 0")
        with self.lock:
            for key, value in changes.items():
                setattr(self.config, key, value)
            hook = self.deliverer.config
            hook.url, hook.token = self.config.webhook_url, self.config.webhook_token
            hook.loss_rate, hook.instance = float(self.config.loss_rate), self.base_url
            if "seed" in changes or hook.seed != self.config.seed:
                self.deliverer.reseed(self.config.seed)
            return {f: getattr(self.config, f) for f in sorted(known)}

    async def start(self) -> None:
        """Bind timers and webhook delivery to the running event loop (the app lifespan calls this)."""
        self.state.loop = asyncio.get_running_loop()
        await self.deliverer.start()

    async def stop(self) -> None:
        self.state.loop = None
        await self.deliverer.stop()

    def reset(self) -> None:
        """Forget every project, pipeline, issue and delivery; config stays; pending timers are voided."""
        self.state.reset()

    # --- lookups and pipeline runs (see GitLabState and PipelineRuns) ---------------------------------

    def ensure_project(self, path: str, default_branch: str = "main") -> Project:
        return self.state.ensure_project(path, default_branch)

    def find_project(self, ref: str | int) -> Project | None:
        return self.state.find_project(ref)

    def project(self, ref: str | int) -> Project:
        return self.state.project(ref)

    def pipeline(self, project_ref: str | int, pipeline_id: int) -> Pipeline:
        return self.state.pipeline(project_ref, pipeline_id)

    def job(self, project_ref: str | int, job_id: int) -> Job:
        return self.state.job(project_ref, job_id)

    def issue(self, project_ref: str | int, iid: int) -> Issue:
        return self.state.issue(project_ref, iid)

    def add_pipeline(
        self,
        project: str,
        log_text: str,
        heals_on: str = "retry",
        job: str = "test",
        stage: str = "test",
        approve: Any = None,
        ref: str | None = None,
    ) -> Pipeline:
        """A pipeline that already failed (see `PipelineRuns.add_pipeline`)."""
        return self.runs.add_pipeline(project, log_text, heals_on, job, stage, approve, ref)

    def add_passed_pipeline(
        self, project: str, job: str = "test", log_text: str | None = None, ref: str | None = None
    ) -> Pipeline:
        """A pipeline that passed (see `PipelineRuns.add_passed_pipeline`)."""
        if log_text is None:
            return self.runs.add_passed_pipeline(project, job, ref=ref)
        return self.runs.add_passed_pipeline(project, job, log_text, ref)

    def retry_job(self, project_ref: str | int, job_id: int) -> Job:
        return self.runs.retry_job(project_ref, job_id)

    def retry_pipeline(self, project_ref: str | int, pipeline_id: int) -> Pipeline:
        return self.runs.retry_pipeline(project_ref, pipeline_id)

    # --- repositories and merge requests (see RepositoryOps) ------------------------------------------

    def add_files(self, project: str, files: dict[str, str], message: str = "Add files") -> str:
        """Commit `files` (path -> text) to the project's default branch; returns the commit sha."""
        with self.lock:
            proj = self.ensure_project(project)
            have = self.repo.branches(proj.id)[proj.default_branch].files
            return self.repo.commit(proj.id, proj.default_branch, message, _writes(files, have)).id

    def fix_by_hand(
        self, project: str, pipeline_id: int, files: dict[str, str], message: str = "Fix the build"
    ) -> Pipeline:
        """A human fixes a failed pipeline: `files` committed to its ref, then a green pipeline of its
        jobs on that commit (returned). The failed pipeline ran on the ref's head before the fix."""
        with self.lock:
            proj, failed = self.ensure_project(project), self.pipeline(project, pipeline_id)
            if failed.sha not in proj.commits:
                failed.sha = proj.branches[failed.ref].commit.id
            made = self.repo.commit(
                proj.id, failed.ref, message, _writes(files, proj.branches[failed.ref].files)
            )
            return branch_pipeline(self.state, proj, failed.ref, made.id, failed.failing_job)

    def set_fix_jobs(self, project: str, jobs: dict[str, str]) -> None:
        """Extra jobs of the project's merge request pipelines and how they end (`success`/`failed`)."""
        if bad := {s for s in jobs.values() if s not in ("success", "failed")}:
            raise ValueError(f"job status must be success or failed, not {sorted(bad)}")
        with self.lock:
            self.ensure_project(project).fix_jobs = dict(jobs)

    def break_after_merge(self, project: str, breaks: bool = True) -> None:
        """The default branch fails once a fix MR is merged, until that change is reverted."""
        with self.lock:
            self.ensure_project(project).breaks_after_merge = breaks

    def sign_commits(self, project: str, signs: bool = True) -> None:
        """Commits made through the API carry GitLab's verified signature (`.../signature`), or none."""
        with self.lock:
            self.ensure_project(project).signs_commits = signs

    # --- issues ---------------------------------------------------------------------------------------

    def create_issue(
        self,
        project_ref: str | int,
        title: str,
        description: str = "",
        labels: list[str] | None = None,
        issue_type: str = "issue",
    ) -> Issue:
        """Open an issue; it is linked to every pipeline of the project whose URL or id it mentions
        (`.../pipelines/ID`, `pipeline #ID`, `pipeline ID`, or `.../jobs/JOB_ID` of one of its jobs)."""
        if not title.strip():
            raise GitLabError(400, "title is missing")
        with self.lock:
            proj = self.project(project_ref)
            text = f"{title}\n{description}"
            linked = [p.id for p in self.pipelines.values() if p.project_id == proj.id and _mentions(text, p)]
            iss = Issue(
                self.state.next_id("issue"),
                proj.next_issue_iid,
                proj.id,
                title,
                description,
                list(labels or []),
                issue_type,
                pipeline_ids=linked,
            )
            proj.next_issue_iid += 1
            self.issues[(proj.id, iss.iid)] = iss
            return iss

    # --- reports --------------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """What became of each pipeline added with `add_pipeline`, in creation order."""
        with self.lock:
            rows = []
            for p in sorted(self.pipelines.values(), key=lambda p: p.index):
                incidents = [i.iid for i in self.issues.values() if p.id in i.pipeline_ids]
                rows.append(
                    {
                        "pipeline": p.index,
                        "project": p.project_path,
                        "pipeline_id": p.id,
                        "heals_on": p.heals_on,
                        "approve": p.approve,
                        "status": p.status,
                        "failed_at": iso(p.failed_at),
                        "retries_requested": p.retries_requested,
                        "incidents": sorted(incidents),
                        "healed": p.healed_at is not None,
                        "healed_by": p.healed_by,
                        "healed_at": iso(p.healed_at),
                    }
                )
            return {"pipelines": rows}

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery, oldest first (status queued, delivered, failed or dropped)."""
        with self.lock:
            return [record.to_json() for record in self.deliverer.log]


def _mentions(text: str, p: Pipeline) -> bool:
    ids = "|".join(str(j.id) for j in p.jobs)
    pattern = rf"pipelines/{p.id}\b|\bpipeline:?\s*#?{p.id}\b|jobs/(?:{ids})\b"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _writes(files: dict[str, str], have: dict[str, str]) -> list[dict[str, object]]:
    """Commit actions that write `files` (path -> text) over a branch holding `have`."""
    return [
        {"action": "update" if path in have else "create", "file_path": path, "content": text}
        for path, text in files.items()
    ]
