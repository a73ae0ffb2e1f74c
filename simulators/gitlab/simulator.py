"""The GitLab simulator's world: projects, failing pipelines that heal (or not) on retry, issues, hooks.

All state sits behind one lock, so tests may call these methods from any thread while uvicorn serves.
Timed work (a retried job finishing after `ci_seconds`) runs on the app's event loop once `start()`
ran there, else on timer threads. `reset()` bumps a generation so stale timers do nothing.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import fields
from typing import Any
from urllib.parse import unquote

from simulators.gitlab.config import FALLBACK_BASE_URL, GitLabSimConfig
from simulators.gitlab.delivery import Deliverer, HookConfig
from simulators.gitlab.model import GitLabError, Issue, Job, Pipeline, Project, iso
from simulators.gitlab.runs import PipelineRuns

__all__ = ["GitLabError", "GitLabSimConfig", "GitLabSimulator"]


class GitLabSimulator(PipelineRuns):
    """In-memory GitLab: see the module docstring for the threading rules."""

    def __init__(self, config: GitLabSimConfig | None = None) -> None:
        self.config = config or GitLabSimConfig()
        self.deliverer = Deliverer(HookConfig(seed=self.config.seed))
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._generation = 0
        self.configure()
        self.reset()

    # --- configuration and lifecycle --------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read several records consistently (the REST routes do)."""
        return self._lock

    @property
    def base_url(self) -> str:
        return (self.config.base_url or FALLBACK_BASE_URL).rstrip("/")

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
        with self._lock:
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
        self._loop = asyncio.get_running_loop()
        await self.deliverer.start()

    async def stop(self) -> None:
        self._loop = None
        await self.deliverer.stop()

    def reset(self) -> None:
        """Forget every project, pipeline, issue and delivery; config stays; pending timers are voided."""
        with self._lock:
            self._generation += 1
            self.projects: dict[int, Project] = {}
            self.pipelines: dict[int, Pipeline] = {}
            self.jobs: dict[int, Job] = {}
            self.issues: dict[tuple[int, int], Issue] = {}
            self._ids = {"project": 0, "pipeline": 1000, "job": 5000, "issue": 9000}
            self.deliverer.reset()

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _schedule(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
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
        with self._lock:
            found = self.find_project(path)
            if found is None:
                found = Project(self._next_id("project"), path, default_branch)
                self.projects[found.id] = found
            return found

    def find_project(self, ref: str | int) -> Project | None:
        """A project by numeric id or by (URL-encoded) path."""
        text = unquote(str(ref)).strip("/")
        with self._lock:
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
        with self._lock:
            proj = self.project(project_ref)
            text = f"{title}\n{description}"
            linked = [p.id for p in self.pipelines.values() if p.project_id == proj.id and _mentions(text, p)]
            iss = Issue(
                self._next_id("issue"),
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
        with self._lock:
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
        with self._lock:
            return [record.to_json() for record in self.deliverer.log]


def _mentions(text: str, p: Pipeline) -> bool:
    ids = "|".join(str(j.id) for j in p.jobs)
    pattern = rf"pipelines/{p.id}\b|\bpipeline:?\s*#?{p.id}\b|jobs/(?:{ids})\b"
    return re.search(pattern, text, re.IGNORECASE) is not None
