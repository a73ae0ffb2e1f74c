"""The GitLab simulator's commit history, revert, signatures and merge request hooks, driven by
python-gitlab over real HTTP (the revert API as GitLab documents it: `POST .../commits/:sha/revert`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import gitlab
import pytest

from runtime.serving import ServerThread
from simulators.gitlab import GitLabSimConfig, GitLabSimulator, create_app
from tests.simulators.helpers import wait_for
from tests.simulators.test_gitlab_merge_requests import LOG, open_fix, settled


@pytest.fixture
def served() -> Iterator[tuple[GitLabSimulator, gitlab.Gitlab]]:
    sim = GitLabSimulator(GitLabSimConfig(ci_seconds=0.1))
    with ServerThread(create_app(sim)) as server:
        sim.set_base_url(server.url)
        yield sim, gitlab.Gitlab(server.url, private_token="simulator-token")


def test_history_and_merge_request_commits(served: tuple[GitLabSimulator, gitlab.Gitlab]) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    project = gl.projects.get("acme/api")
    mr = open_fix(project)
    [own] = mr.commits()
    assert own.title == "Add requests" and own.id == mr.sha
    history = project.commits.list(ref_name="mender/fix-1", get_all=True)
    assert [c.title for c in history] == ["Add requests", "Add files", "Initial commit"]
    assert history[0].parent_ids == [history[1].id]
    assert project.commits.get(own.id).message.startswith("Add requests\n\nThe job failed")
    with pytest.raises(gitlab.GitlabGetError) as unsigned:
        project.commits.get(own.id, lazy=True).signature()
    assert unsigned.value.response_code == 404  # GitLab answers 404 for an unsigned commit
    sim.sign_commits("acme/api")
    signed = project.commits.get(own.id, lazy=True).signature()
    assert signed["verification_status"] == "verified"


def test_red_default_branch_after_merge_is_green_after_the_revert(
    served: tuple[GitLabSimulator, gitlab.Gitlab],
) -> None:
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    sim.add_pipeline("acme/api", LOG, heals_on="fix")
    sim.break_after_merge("acme/api")
    project = gl.projects.get("acme/api")
    mr = settled(project, open_fix(project).iid)
    mr.merge()
    merge_sha = project.mergerequests.get(mr.iid).merge_commit_sha
    [red] = project.pipelines.list(sha=merge_sha, get_all=True)
    assert red.status == "failed" and red.ref == "main"
    project.branches.create({"branch": "revert-1", "ref": "main"})
    made = project.commits.get(merge_sha, lazy=True).revert(branch="revert-1")
    assert made["title"] == f'Revert "{project.commits.get(merge_sha).title}"'
    assert project.files.raw("requirements.txt", ref="revert-1") == b"flask\n"
    assert "ci/env.sh" not in sim.project("acme/api").branches["revert-1"].files  # created by the fix
    with pytest.raises(gitlab.GitlabRevertError) as again:
        project.commits.get(merge_sha, lazy=True).revert(branch="revert-1")
    assert again.value.response_code == 400 and "cannot revert" in again.value.error_message
    back = project.mergerequests.create(
        {"source_branch": "revert-1", "target_branch": "main", "title": "Revert the fix"}
    )
    back = settled(project, back.iid)
    assert back.head_pipeline["status"] == "success"  # the failed job of the red branch passes again
    back.merge()
    head = project.branches.get("main").commit["id"]
    [green] = project.pipelines.list(sha=head, get_all=True)
    assert green.status == "success" and project.files.raw("requirements.txt", ref="main") == b"flask\n"
    assert sim.pipeline("acme/api", red.id).healed_by == "fix"


def test_merge_request_hooks(served: tuple[GitLabSimulator, gitlab.Gitlab]) -> None:
    sim, gl = served
    sim.configure(webhook_url="http://127.0.0.1:9/hooks")  # nobody listens: each delivery is logged
    sim.add_files("acme/api", {"requirements.txt": "flask\n"})
    project = gl.projects.get("acme/api")
    mr = settled(project, open_fix(project).iid)
    mr.approve(sudo="reviewer")
    wait_for(lambda: sim.deliverer.pending() == 0, what="the hooks sent")
    records = sim.deliverer.log
    kinds = [(r.event, json.loads(r.body)["object_attributes"].get("action")) for r in records]
    assert ("Merge Request Hook", "open") in kinds and ("Merge Request Hook", "approved") in kinds
    pipelines = [json.loads(r.body) for r in records if r.event == "Pipeline Hook"]
    assert [p["object_attributes"]["status"] for p in pipelines] == ["pending", "success"]
    assert {p["merge_request"]["iid"] for p in pipelines} == {mr.iid}
    assert pipelines[-1]["merge_request"]["source_branch"] == "mender/fix-1"


def test_compare_answers_the_commits_and_diffs_in_between(
    served: tuple[GitLabSimulator, gitlab.Gitlab],
) -> None:
    """`GET /repository/compare` (python-gitlab's `repository_compare`) as GitLab documents it."""
    sim, gl = served
    sim.add_files("acme/api", {"requirements.txt": "flask\n", "app.py": "print(1)\n"})
    project = gl.projects.get("acme/api")
    before = project.commits.list(ref_name="main", get_all=True)[0].id
    actions = [
        {"action": "update", "file_path": "requirements.txt", "content": "flask\nPyYAML==6.0\n"},
        {"action": "create", "file_path": ".gitlab-ci.yml", "content": "variables:\n  A: '1'\n"},
        {"action": "delete", "file_path": "app.py"},
    ]
    project.commits.create({"branch": "main", "commit_message": "Pin PyYAML", "actions": actions})
    after = project.commits.list(ref_name="main", get_all=True)[0].id
    found = project.repository_compare(before, "main")
    assert [c["title"] for c in found["commits"]] == ["Pin PyYAML"] and found["commit"]["id"] == after
    diffs = {d["new_path"]: d for d in found["diffs"]}
    assert set(diffs) == {"requirements.txt", ".gitlab-ci.yml", "app.py"}
    assert (
        diffs["requirements.txt"]["diff"].startswith("@@")
        and "+PyYAML==6.0" in diffs["requirements.txt"]["diff"]
    )
    assert diffs[".gitlab-ci.yml"]["new_file"] and diffs["app.py"]["deleted_file"]
    assert not found["compare_same_ref"] and found["web_url"].endswith(f"/-/compare/{before}...{after}")
    same = project.repository_compare(after, after)
    assert same["compare_same_ref"] and same["commits"] == [] and same["diffs"] == []
    with pytest.raises(gitlab.GitlabGetError) as unknown:
        project.repository_compare(before, "no-such-branch")
    assert unknown.value.response_code == 404
