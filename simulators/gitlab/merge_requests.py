"""Repository files, branches, commits and merge requests, with a merge request pipeline per head commit.

A merge request's pipeline runs `build`, the job that failed in the target branch's latest failed
pipeline (it passes only when that pipeline `heals_on == "fix"`) and the project's `fix_jobs`
(name -> final status, e.g. `{"lint": "failed"}`); its jobs finish after `ci_seconds`. Merging
needs the pipeline to have succeeded and the required approvals; `merge_when_pipeline_succeeds`
merges once both hold. A merge heals the failed pipeline it fixed (`healed_by: "fix"`) and runs a
pipeline on the merge commit of the target branch: passing, unless the project `breaks_after_merge`:
then the first merged MR's changes break it (failed, `heals_on: fix`) for as long as the branch still
holds them (a revert, `POST /repository/commits/:sha/revert`, merged by its own MR, makes it green).
Merge request pipelines send Pipeline Hooks (with `merge_request`), and opening, approving, merging
and closing send Merge Request Hooks (`mr_hooks.py`).
`RepositoryOps` (files and commits from repository.py) changes a `GitLabState`; its methods take the lock.
"""

from __future__ import annotations

from simulators.gitlab.branch_runs import branch_pipeline
from simulators.gitlab.model import FINISHED, GitLabError, Job, Pipeline, Project, fake_sha, now
from simulators.gitlab.mr_hooks import merge_request_event, pipeline_event
from simulators.gitlab.repo_model import Commit, MergeRequest
from simulators.gitlab.repository import RepositoryFiles
from simulators.gitlab.runs import SUCCESS_TRACE

JOB_STATUSES = ("success", "failed")


class RepositoryOps(RepositoryFiles):
    """Repository files plus merge requests and their pipelines."""

    # --- merge requests -------------------------------------------------------------------------

    def merge_request(self, project_ref: str | int, iid: int) -> MergeRequest:
        with self.state.lock:
            found = self.state.project(project_ref).merge_requests.get(iid)
            if found is None:
                raise GitLabError(404, "404 Not found")
            return found

    def open_merge_request(self, project_ref: str | int, iid: int, sha: str | None = None) -> MergeRequest:
        """The merge request if it is open (else 405) and, with `sha`, at that head (else 409)."""
        mr = self.merge_request(project_ref, iid)
        if mr.state != "opened":
            raise GitLabError(405, "405 Method Not Allowed")
        if sha and sha != mr.sha:
            raise GitLabError(409, "SHA does not match HEAD of source branch")
        return mr

    def create_merge_request(
        self,
        project_ref: str | int,
        source: str,
        target: str,
        title: str,
        description: str = "",
        labels: list[str] | None = None,
        remove_source_branch: bool = False,
    ) -> MergeRequest:
        if not title.strip():
            raise GitLabError(400, "title is missing")
        with self.state.lock:
            proj, branches = self.state.project(project_ref), self.branches(project_ref)
            if source not in branches or target not in branches:
                raise GitLabError(400, "Invalid source or target branch")
            if source == target:
                raise GitLabError(400, "You can't use same project/branch for source and target")
            if any(
                m.state == "opened" and (m.source_branch, m.target_branch) == (source, target)
                for m in proj.merge_requests.values()
            ):
                raise GitLabError(409, "Another open merge request already exists for this source branch")
            mr = MergeRequest(
                self.state.next_id("mr"),
                proj.next_mr_iid,
                proj.id,
                title,
                description,
                source,
                target,
                list(labels or []),
                remove_source_branch=remove_source_branch,
                base_sha=branches[target].commit.id,
            )
            proj.next_mr_iid += 1
            proj.merge_requests[mr.iid] = mr
            self._start_pipeline(proj, mr)
            merge_request_event(self.state, proj, mr, "open")
            return mr

    def head_pipeline(self, mr: MergeRequest) -> Pipeline | None:
        return self.state.pipelines.get(mr.pipeline_ids[-1]) if mr.pipeline_ids else None

    def approve(
        self, project_ref: str | int, iid: int, username: str, sha: str | None = None
    ) -> MergeRequest:
        with self.state.lock:
            mr = self.open_merge_request(project_ref, iid, sha)
            if username in mr.approved_by:
                raise GitLabError(401, "401 Unauthorized")
            mr.approved_by.append(username)
            mr.updated_at = now()
            merge_request_event(self.state, self.state.project(project_ref), mr, "approved")
            self._auto_merge(mr)
            return mr

    def set_approvals_required(self, project_ref: str | int, iid: int, required: int) -> MergeRequest:
        if not 0 <= required <= 100:
            raise GitLabError(400, "approvals_required is invalid")
        with self.state.lock:
            mr = self.merge_request(project_ref, iid)
            mr.approvals_required = required
            return mr

    def merge(
        self,
        project_ref: str | int,
        iid: int,
        when_pipeline_succeeds: bool = False,
        remove_source_branch: bool | None = None,
        sha: str | None = None,
    ) -> MergeRequest:
        """`PUT .../merge`: merge now, or (pipeline still running) once it succeeds; 405 when it may not."""
        with self.state.lock:
            mr = self.open_merge_request(project_ref, iid, sha)
            if remove_source_branch is not None:
                mr.remove_source_branch = remove_source_branch
            p = self.head_pipeline(mr)
            running = p is not None and p.status not in FINISHED
            if when_pipeline_succeeds and (running or mr.approvals_left):
                mr.merge_when_pipeline_succeeds, mr.updated_at = True, now()
                return mr
            if running or (p is not None and p.status != "success") or mr.approvals_left:
                raise GitLabError(405, "405 Method Not Allowed")
            self._merge(mr)
            return mr

    def cancel_merge_when_pipeline_succeeds(self, project_ref: str | int, iid: int) -> MergeRequest:
        with self.state.lock:
            mr = self.open_merge_request(project_ref, iid)
            mr.merge_when_pipeline_succeeds = False
            return mr

    def update(
        self,
        project_ref: str | int,
        iid: int,
        state_event: str | None,
        labels: list[str] | None,
        description: str | None,
    ) -> MergeRequest:
        with self.state.lock:
            mr = self.merge_request(project_ref, iid)
            if state_event not in (None, "close", "reopen"):
                raise GitLabError(400, "state_event does not have a valid value")
            if state_event == "close" and mr.state == "opened":
                mr.state = "closed"
                merge_request_event(self.state, self.state.project(project_ref), mr, "close")
            elif state_event == "reopen" and mr.state == "closed":
                mr.state = "opened"
            if labels is not None:
                mr.labels = labels
            if description is not None:
                mr.description = description
            mr.updated_at = now()
            return mr

    def detailed_merge_status(self, mr: MergeRequest) -> str:
        p = self.head_pipeline(mr)
        if mr.state != "opened":
            return "not_open"
        if p is not None and p.status not in FINISHED:
            return "ci_still_running"
        if p is not None and p.status != "success":
            return "ci_must_pass"
        return "not_approved" if mr.approvals_left else "mergeable"

    # --- internals (caller holds the lock) --------------------------------------------------------

    def on_push(self, proj: Project, branch: str) -> None:
        for mr in proj.merge_requests.values():
            if mr.state == "opened" and mr.source_branch == branch:
                mr.approved_by.clear()  # a new commit resets approvals
                self._start_pipeline(proj, mr)

    def _fixes(self, proj: Project, mr: MergeRequest) -> Pipeline | None:
        """The target branch's latest failed pushed pipeline: the failure this MR's pipeline re-runs."""
        failed = [
            p
            for p in self.state.pipelines.values()
            if p.project_id == proj.id
            and p.ref == mr.target_branch
            and p.source == "push"
            and p.failed_at is not None
        ]
        return max(failed, key=lambda p: p.id, default=None)

    def _start_pipeline(self, proj: Project, mr: MergeRequest) -> None:
        source = proj.branches[mr.source_branch]
        mr.sha, mr.updated_at = source.commit.id, now()
        fixes = self._fixes(proj, mr)
        failing = fixes.failing_job if fixes else "test"
        outcomes = {
            "build": "success",
            failing: "success" if fixes is None or fixes.heals_on == "fix" else "failed",
        }
        outcomes.update(proj.fix_jobs)
        ref = f"refs/merge-requests/{mr.iid}/head"
        log = fixes.log_text if fixes else ""
        p = self.state.new_pipeline(
            proj, ref, mr.sha, log, "never", failing_job=failing, source="merge_request_event"
        )
        pid = p.id
        p.jobs = [
            Job(
                self.state.next_id("job"),
                pid,
                proj.id,
                name,
                "build" if name == "build" else "test",
                "pending",
            )
            for name in outcomes
        ]
        self.state.pipelines[pid] = p
        self.state.jobs.update({j.id: j for j in p.jobs})
        p.refresh_status()
        mr.pipeline_ids.append(pid)
        pipeline_event(self.state, proj, p, mr)
        gen = self.state.generation
        self.state.schedule(
            float(self.state.config.ci_seconds), self._finish, proj.id, mr.iid, pid, outcomes, gen
        )

    def _finish(self, project_id: int, iid: int, pid: int, outcomes: dict[str, str], generation: int) -> None:
        with self.state.lock:
            if generation != self.state.generation:
                return
            p = self.state.pipelines[pid]
            for j in p.jobs:
                if j.status in FINISHED:
                    continue
                j.started_at = j.started_at or p.created_at
                failed = outcomes.get(j.name) == "failed"
                trace = (p.log_text or "Job failed\n") if failed else SUCCESS_TRACE
                j.finish("failed" if failed else "success", trace, "script_failure" if failed else None)
            p.started_at = p.started_at or p.created_at
            p.refresh_status()
            proj = self.state.projects[project_id]
            mr = proj.merge_requests[iid]
            pipeline_event(self.state, proj, p, mr)
            if mr.pipeline_ids[-1] == pid:
                if p.status != "success":
                    mr.merge_when_pipeline_succeeds = False
                self._auto_merge(mr)

    def _auto_merge(self, mr: MergeRequest) -> None:
        p = self.head_pipeline(mr)
        if mr.merge_when_pipeline_succeeds and not mr.approvals_left and (p is None or p.status == "success"):
            self._merge(mr)

    def _merge(self, mr: MergeRequest) -> None:
        proj = self.state.projects[mr.project_id]
        source, target = proj.branches[mr.source_branch], proj.branches[mr.target_branch]
        fixes = self._fixes(proj, mr)
        message = f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}"
        message += f"\n\nSee merge request {proj.path}!{mr.iid}"
        sha = fake_sha(target.commit.id, source.commit.id, "merge")
        before = target.files
        behind = target.commit.id in {c.id for c in self.history(proj.id, mr.source_branch)}
        files = dict(source.files) if behind else {**target.files, **source.files}  # deletions too
        parents = [target.commit.id, source.commit.id]
        target.commit = Commit(sha, message.splitlines()[0], message, parents, files=files)
        proj.commits[sha], target.files = target.commit, files
        if proj.breaks_after_merge and not proj.breaking:  # what the first merged MR changed breaks it
            proj.breaking = {p: t for p, t in files.items() if before.get(p) != t}
        mr.state, mr.merged_at, mr.merge_commit_sha = "merged", now(), sha
        mr.updated_at, mr.merge_when_pipeline_succeeds = mr.merged_at, False
        head = self.head_pipeline(mr)
        if fixes is not None and fixes.healed_at is None and head is not None and head.status == "success":
            fixes.healed_at, fixes.healed_by = mr.merged_at, "fix"
        if mr.remove_source_branch and mr.source_branch != proj.default_branch:
            del proj.branches[mr.source_branch]
        merge_request_event(self.state, proj, mr, "merge")
        branch_pipeline(self.state, proj, mr.target_branch, sha, head.failing_job if head else "test")
