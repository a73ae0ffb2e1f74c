"""The GitLab simulator's one state object: config, records, ids, the lock, timers and the webhook queue.

`PipelineRuns` (runs.py) changes it, `GitLabSimulator` (simulator.py) wires and exposes it, the REST
routers (api.py, control.py) read it through the simulator. All records sit behind `lock`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from simulators.gitlab.config import FALLBACK_BASE_URL, GitLabSimConfig
from simulators.gitlab.delivery import Deliverer, HookConfig
from simulators.gitlab.model import GitLabError, Issue, Job, Pipeline, Project, fake_sha


class GitLabState:
    def __init__(self, config: GitLabSimConfig) -> None:
        self.config = config
        self.deliverer = Deliverer(HookConfig(seed=config.seed))
        self.lock = threading.RLock()  # hold it to read several records consistently (the REST routes do)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.generation = 0  # bumped by `reset`: timers of an older generation do nothing
        self.reset()

    @property
    def base_url(self) -> str:
        return (self.config.base_url or FALLBACK_BASE_URL).rstrip("/")

    def reset(self) -> None:
        """Forget every project, pipeline, issue and delivery; config stays; pending timers are voided."""
        with self.lock:
            self.generation += 1
            self.projects: dict[int, Project] = {}
            self.pipelines: dict[int, Pipeline] = {}
            self.jobs: dict[int, Job] = {}
            self.issues: dict[tuple[int, int], Issue] = {}
            self._ids = {"project": 0, "pipeline": 1000, "job": 5000, "issue": 9000, "mr": 20000}
            self.deliverer.reset()

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def new_pipeline(
        self, proj: Project, ref: str, sha: str | None, log_text: str, heals_on: str, **fields: Any
    ) -> Pipeline:
        """A pipeline of `proj` with the next id and iid, numbered in creation order, on `sha` (None: a
        made-up commit of its own); not yet stored (the caller adds its jobs, then stores it)."""
        pid, iid = self.next_id("pipeline"), proj.next_pipeline_iid
        proj.next_pipeline_iid += 1
        sha = sha or fake_sha(proj.path, pid)
        index = len(self.pipelines)
        return Pipeline(pid, iid, proj.id, proj.path, index, ref, sha, log_text, heals_on, **fields)

    def schedule(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` after `delay` seconds: on the app's loop once started, else on a timer thread."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, delay, fn, *args)
        else:
            timer = threading.Timer(delay, fn, args)
            timer.daemon = True
            timer.start()

    # --- lookups --------------------------------------------------------------------------------------

    def ensure_project(self, path: str, default_branch: str = "main") -> Project:
        """The project at `group/name`, created if new."""
        path = path.strip("/")
        if "/" not in path:
            raise ValueError("project must be group/name")
        with self.lock:
            found = self.find_project(path)
            if found is None:
                found = Project(self.next_id("project"), path, default_branch)
                self.projects[found.id] = found
            return found

    def find_project(self, ref: str | int) -> Project | None:
        """A project by numeric id or by (URL-encoded) path."""
        text = unquote(str(ref)).strip("/")
        with self.lock:
            if text.isdigit():
                return self.projects.get(int(text))
            return next((p for p in self.projects.values() if p.path.lower() == text.lower()), None)

    def project(self, ref: str | int) -> Project:
        found = self.find_project(ref)
        if found is None:
            raise GitLabError(404, "404 Project Not Found")
        return found

    def pipeline(self, project_ref: str | int, pipeline_id: int) -> Pipeline:
        proj = self.project(project_ref)
        found = self.pipelines.get(pipeline_id)
        if found is None or found.project_id != proj.id:
            raise GitLabError(404, "404 Not found")
        return found

    def job(self, project_ref: str | int, job_id: int) -> Job:
        proj = self.project(project_ref)
        found = self.jobs.get(job_id)
        if found is None or found.project_id != proj.id:
            raise GitLabError(404, "404 Not found")
        return found

    def issue(self, project_ref: str | int, iid: int) -> Issue:
        proj = self.project(project_ref)
        found = self.issues.get((proj.id, iid))
        if found is None:
            raise GitLabError(404, "404 Not found")
        return found
