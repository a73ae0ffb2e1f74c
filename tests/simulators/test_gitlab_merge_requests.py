"""The GitLab simulator's repositories and merge requests, driven by python-gitlab over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import gitlab
import pytest
from gitlab.v4.objects import Project as GlProject

from runtime.serving import ServerThread
from simulators.gitlab import GitLabSimConfig, GitLabSimulator, create_app
from tests.simulators.helpers import wait_for

LOG = "$ pip install -r requirements.txt\nModuleNotFoundError: No module named 'requests'\n"


@pytest.fixture
def served() -> Iterator[tuple[GitLabSimulator, gitlab.Gitlab]]:
    sim = GitLabSimulator(GitLabSimConfig(ci_seconds=0.2))
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        yield sim, gitlab.Gitlab(server.url, private_token="simulator-token")


def open_fix(project: GlProject, branch: str = "mender/fix-1") -> object:
    project.commits.create(
        {
            "branch": branch,
            "start_branch": "main",
            "commit_message": "Add requests\n\nThe job failed on a missing module.",
            "actions": [
                {"action": "update", "file_path": "requirements.txt", "content": "flask\nrequests\n"},
                {"action": "create", "file_path": "ci/env.sh", "content": "export TZ=UTC\n"},
            ],
        }
    )
    return project.mergerequests.create(
        {"source_branch": branch, "target_branch": "main", "title": "Fix: add requests", "labels": ["mender"]}
    )


def settled(project: GlProject, iid: int) -> object:
    def done() -> object | None:
        mr = project.mergerequests.get(iid)
        status = (mr.head_pipeline or {}).get("status")
        return mr if status in ("success", "failed") else None

    return wait_for(done, what="the merge request pipeline")


def test_files_branches_and_commits(served: tuple[GitLabSimulator, gitlab.Gitlab]) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n", "src/app.py": "print(1)\n"})
    project = gl.projects.get("acme/api")
    assert project.files.raw("src/app.py", ref="main") == b"print(1)\n"
    assert project.files.get("requirements.txt", ref="main").decode() == b"flask\n"
    project.branches.create({"branch": "work", "ref": "main"})
    f = project.files.get("requirements.txt", ref="work")
    f.content = "flask\nrequests\n"
    f.save(branch="work", commit_message="Add requests")
    assert project.files.raw("requirements.txt", ref="work") == b"flask\nrequests\n"
    assert project.files.raw("requirements.txt", ref="main") == b"flask\n"
    head = project.branches.get("work").commit
    assert head["title"] == "Add requests" and len(head["parent_ids"]) == 1
    with pytest.raises(gitlab.GitlabGetError) as exc:
        project.files.raw("missing.txt", ref="main")
    assert exc.value.response_code == 404
    with pytest.raises(gitlab.GitlabCreateError) as bad:
        project.commits.create({"branch": "work", "commit_message": "x", "actions": [{"action": "rename"}]})
    assert bad.value.response_code == 400


@pytest.mark.parametrize("heals_on", ["fix", "never"])
def test_merge_request_pipeline_runs_the_failed_job(
    served: tuple[GitLabSimulator, gitlab.Gitlab], heals_on: str
) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    failed = sim.add_pipeline("acme/api", LOG, heals_on=heals_on, job="unit")
    sim.set_fix_jobs("acme/api", {"lint": "failed", "mypy": "success"})
    project = gl.projects.get("acme/api")
    mr = settled(project, open_fix(project).iid)
    [pipeline] = mr.pipelines.list(get_all=True)
    assert pipeline.source == "merge_request_event" and pipeline.sha == mr.sha
    jobs = {j.name: j.status for j in project.pipelines.get(pipeline.id).jobs.list(get_all=True)}
    unit = "success" if heals_on == "fix" else "failed"
    assert jobs == {"build": "success", "unit": unit, "lint": "failed", "mypy": "success"}
    assert mr.detailed_merge_status == "ci_must_pass"
    with pytest.raises(gitlab.GitlabMRClosedError) as exc:
        mr.merge()
    assert exc.value.response_code == 405
    assert sim.pipeline("acme/api", failed.id).healed_by is None


def test_merge_when_pipeline_succeeds_after_one_approval(
    served: tuple[GitLabSimulator, gitlab.Gitlab],
) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    failed = sim.add_pipeline("acme/api", LOG, heals_on="fix")
    project = gl.projects.get("acme/api")
    mr = open_fix(project)
    mr.approvals.update(new_data={"approvals_required": 1})
    mr.merge(merge_when_pipeline_succeeds=True)
    assert mr.merge_when_pipeline_succeeds and mr.state == "opened"
    mr = settled(project, mr.iid)
    assert mr.state == "opened" and mr.detailed_merge_status == "not_approved"
    state = mr.approve(sudo="reviewer")
    assert state["approved"] and [a["user"]["username"] for a in state["approved_by"]] == ["reviewer"]
    mr = project.mergerequests.get(mr.iid)
    assert mr.state == "merged" and mr.merge_commit_sha
    assert project.files.raw("requirements.txt", ref="main") == b"flask\nrequests\n"
    assert sim.pipeline("acme/api", failed.id).healed_by == "fix"
    assert [m.iid for m in project.mergerequests.list(state="merged", get_all=True)] == [mr.iid]


def test_merge_now_once_green_and_errors(served: tuple[GitLabSimulator, gitlab.Gitlab]) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    sim.add_pipeline("acme/api", LOG, heals_on="fix")
    project = gl.projects.get("acme/api")
    mr = open_fix(project)
    with pytest.raises(gitlab.GitlabCreateError) as dup:
        project.mergerequests.create(
            {"source_branch": "mender/fix-1", "target_branch": "main", "title": "again"}
        )
    assert dup.value.response_code == 409
    mr = settled(project, mr.iid)
    assert mr.detailed_merge_status == "mergeable"
    mr.merge(should_remove_source_branch=True)
    assert project.mergerequests.get(mr.iid).state == "merged"
    assert [b.name for b in project.branches.list(get_all=True)] == ["main"]
    with pytest.raises(gitlab.GitlabMRClosedError):
        mr.merge()
    with pytest.raises(gitlab.GitlabGetError) as missing:
        project.mergerequests.get(999)
    assert missing.value.response_code == 404


def test_new_commit_resets_approvals_and_runs_again(served: tuple[GitLabSimulator, gitlab.Gitlab]) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    project = gl.projects.get("acme/api")
    mr = settled(project, open_fix(project).iid)
    mr.approve()
    project.commits.create({"branch": "mender/fix-1", "commit_message": "More",
                            "actions": [{"action": "update", "file_path": "ci/env.sh", "content": "x"}]})  # fmt: skip
    mr = settled(project, mr.iid)
    assert len(mr.pipelines.list(get_all=True)) == 2
    assert mr.approvals.get().approved_by == []
    mr.state_event = "close"
    mr.save()
    assert project.mergerequests.get(mr.iid).state == "closed"
