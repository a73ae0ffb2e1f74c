"""The pipeline a merge into a branch runs on its merge commit, finished at once (`build` and the failing
job of the MR's pipeline): failed while the branch still holds what broke it (`Project.breaking`, set by
the first merge into a project that `breaks_after_merge`), else passed. Callers hold the state's lock.
"""

from __future__ import annotations

from simulators.gitlab.model import Job, Pipeline, Project
from simulators.gitlab.runs import SUCCESS_TRACE
from simulators.gitlab.state import GitLabState

BROKEN_TRACE = (
    "$ make test\nFAILED tests/test_app.py::test_startup - the merged change broke it\nJob failed\n"
)


def branch_pipeline(state: GitLabState, proj: Project, ref: str, sha: str, job: str) -> Pipeline:
    files = proj.branches[ref].files
    broken = bool(proj.breaking) and all(files.get(p) == t for p, t in proj.breaking.items())
    log, heals = (BROKEN_TRACE, "fix") if broken else ("", "retry")
    p = state.new_pipeline(proj, ref, sha, log, heals, failing_job=job)
    pid = p.id
    p.jobs = [Job(state.next_id("job"), pid, proj.id, name, name) for name in dict.fromkeys(("build", job))]
    for j in p.jobs:
        j.start()
        failed = broken and j.name == job
        j.finish("failed" if failed else "success", BROKEN_TRACE if failed else SUCCESS_TRACE)
        state.jobs[j.id] = j
    state.pipelines[pid] = p
    p.refresh_status()
    if broken:
        p.failed_at = p.finished_at
    return p
