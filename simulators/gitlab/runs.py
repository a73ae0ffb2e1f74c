"""How pipelines run: a failed pipeline is added, retries re-run its failed jobs and finish after
`ci_seconds` (success only when `heals_on == "retry"`), and every status change queues a Pipeline Hook.

`PipelineRuns` is a mixin of `GitLabSimulator`; callers hold no lock, these methods take it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from simulators.gitlab import render
from simulators.gitlab.config import GitLabSimConfig
from simulators.gitlab.delivery import Deliverer
from simulators.gitlab.model import FINISHED, HEALS_ON, GitLabError, Job, Pipeline, Project, fake_sha, now

SUCCESS_TRACE = "Running with gitlab-runner 17.1.0 (sim)\n$ make test\nok\nJob succeeded\n"


class PipelineRuns:
    """Pipeline creation, retries and their timed completion."""

    config: GitLabSimConfig
    deliverer: Deliverer
    projects: dict[int, Project]
    pipelines: dict[int, Pipeline]
    jobs: dict[int, Job]
    base_url: str
    _lock: threading.RLock
    _generation: int
    _next_id: Callable[[str], int]
    _schedule: Callable[..., None]
    ensure_project: Callable[..., Project]
    job: Callable[[str | int, int], Job]
    pipeline: Callable[[str | int, int], Pipeline]

    def _emit(self, p: Pipeline) -> None:
        """Queue a Pipeline Hook for the pipeline's current state (caller holds the lock)."""
        body = render.pipeline_hook(self.base_url, self.projects[p.project_id], p)
        self.deliverer.enqueue(p.project_path, p.id, p.status, body)

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
        """A pipeline that already failed: `build` passed, `job` failed with `log_text` as its trace.

        Hooks go out for pending, running and failed, in that order.
        """
        if heals_on not in HEALS_ON:
            raise ValueError(f"heals_on must be one of {HEALS_ON}")
        if not job or job == "build":
            raise ValueError("job must be a name other than 'build'")
        with self._lock:
            proj = self.ensure_project(project)
            t0 = now() - timedelta(seconds=90)
            pid, iid = self._next_id("pipeline"), proj.next_pipeline_iid
            proj.next_pipeline_iid += 1
            p = Pipeline(
                pid,
                iid,
                proj.id,
                proj.path,
                len(self.pipelines),
                ref or proj.default_branch,
                fake_sha(proj.path, pid),
                log_text,
                heals_on,
                approve,
                failing_job=job,
                created_at=t0,
                updated_at=t0,
            )
            build = Job(self._next_id("job"), pid, proj.id, "build", "build", created_at=t0)
            failing = Job(self._next_id("job"), pid, proj.id, job, stage, created_at=t0)
            p.jobs = [build, failing]
            self.pipelines[pid] = p
            self.jobs.update({build.id: build, failing.id: failing})
            build.status = "pending"
            p.refresh_status()
            self._emit(p)
            build.status, build.started_at = "running", t0 + timedelta(seconds=3)
            p.refresh_status()
            p.started_at = build.started_at
            self._emit(p)
            build.finish("success", "$ make build\nJob succeeded\n")
            build.finished_at = t0 + timedelta(seconds=40)
            failing.status, failing.started_at = "running", t0 + timedelta(seconds=42)
            failing.finish("failed", log_text, "script_failure")
            p.refresh_status()
            p.failed_at = p.finished_at
            self._emit(p)
            return p

    def add_passed_pipeline(
        self, project: str, job: str = "test", log_text: str = SUCCESS_TRACE, ref: str | None = None
    ) -> Pipeline:
        """A pipeline that passed (`build` and `job`, whose trace is `log_text`): the last passing run
        that a later failure of the same job on the same ref is compared with. No hooks go out."""
        with self._lock:
            proj = self.ensure_project(project)
            t0 = now() - timedelta(seconds=300)
            pid, iid = self._next_id("pipeline"), proj.next_pipeline_iid
            proj.next_pipeline_iid += 1
            p = Pipeline(pid, iid, proj.id, proj.path, len(self.pipelines), ref or proj.default_branch,
                         fake_sha(proj.path, pid), "", "retry", None, failing_job=job, created_at=t0, updated_at=t0)  # fmt: skip
            p.jobs = [
                Job(self._next_id("job"), pid, proj.id, name, name, created_at=t0) for name in ("build", job)
            ]
            for j, trace in zip(p.jobs, ("$ make build\nJob succeeded\n", log_text), strict=True):
                j.started_at = t0
                j.finish("success", trace)
                self.jobs[j.id] = j
            self.pipelines[pid] = p
            p.refresh_status()
            return p

    def retry_job(self, project_ref: str | int, job_id: int) -> Job:
        """`POST .../jobs/:id/retry`: a new pending job in the same pipeline; it finishes after ci_seconds."""
        with self._lock:
            old = self.job(project_ref, job_id)
            p = self.pipelines[old.pipeline_id]
            latest = [j for j in p.latest_jobs if j.name == old.name]
            if old.status not in FINISHED or any(j.status not in FINISHED for j in latest):
                raise GitLabError(403, "403 Forbidden  - Job is not retryable")
            p.retries_requested += 1
            return self._rerun(p, [old])[0]

    def retry_pipeline(self, project_ref: str | int, pipeline_id: int) -> Pipeline:
        """`POST .../pipelines/:id/retry`: re-run the pipeline's failed jobs (none failed: no change)."""
        with self._lock:
            p = self.pipeline(project_ref, pipeline_id)
            failed = [j for j in p.latest_jobs if j.status in ("failed", "canceled")]
            if failed:
                p.retries_requested += 1
                self._rerun(p, failed)
            return p

    def _rerun(self, p: Pipeline, old_jobs: list[Job]) -> list[Job]:
        new_jobs = []
        for old in old_jobs:
            for j in p.jobs:
                if j.name == old.name:
                    j.retried = True
            new = Job(
                self._next_id("job"), p.id, p.project_id, old.name, old.stage, "pending", retry_of=old.id
            )
            p.jobs.append(new)
            self.jobs[new.id] = new
            new_jobs.append(new)
        p.refresh_status()
        self._emit(p)
        ids = [j.id for j in new_jobs]
        self._schedule(0.0, self._start_jobs, p.id, ids, self._generation)
        self._schedule(float(self.config.ci_seconds), self._finish_jobs, p.id, ids, self._generation)
        return new_jobs

    def _start_jobs(self, pipeline_id: int, job_ids: list[int], generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            p = self.pipelines[pipeline_id]
            for jid in job_ids:
                if self.jobs[jid].status == "pending":
                    self.jobs[jid].start()
            if p.refresh_status() == "running":
                self._emit(p)

    def _finish_jobs(self, pipeline_id: int, job_ids: list[int], generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            p = self.pipelines[pipeline_id]
            for jid in job_ids:
                j = self.jobs[jid]
                if j.status in FINISHED:
                    continue
                if j.started_at is None:
                    j.start()
                if p.heals_on == "retry" or j.name != p.failing_job:
                    j.finish("success", SUCCESS_TRACE)
                else:
                    j.finish("failed", p.log_text, "script_failure")
            if p.refresh_status() == "success" and p.healed_at is None:
                p.healed_at, p.healed_by = p.finished_at, "retry"
            self._emit(p)
