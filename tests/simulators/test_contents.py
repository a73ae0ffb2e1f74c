"""The Contents API and PR files through PyGithub: what a close-and-reopen needs, and its errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from github import GithubException, UnknownObjectException

from simulators.github import SimulatorConfig
from tests.simulators.helpers import Receiver, Served, github, open_pr, wait_for


def test_pr_files_contents_and_commits_on_branches(
    receiver: Receiver, serve: Callable[[SimulatorConfig], Served]
) -> None:
    served = serve(SimulatorConfig(webhook_url=receiver.url, actors=()))
    number = open_pr(served, "acme/files", author="renovate[bot]")
    repo = github(served.url).get_repo("acme/files")
    pull = repo.get_pull(number)
    [changed] = list(pull.get_files())
    assert changed.filename in ("requirements.txt", "package.json") and changed.status == "modified"
    assert (changed.additions, changed.deletions, changed.changes) == (1, 1, 2)
    assert changed.patch.startswith("@@ ") and changed.contents_url.endswith(f"?ref={pull.head.sha}")
    at_head = repo.get_contents(changed.filename, ref=pull.head.sha)
    assert at_head.sha == changed.sha and at_head.encoding == "base64"
    assert httpx.get(changed.raw_url).text == at_head.decoded_content.decode()
    if changed.filename == "package.json":
        assert "dependencies" in json.loads(at_head.decoded_content)

    listing = repo.get_contents("", ref="main")
    assert sorted(f.path for f in listing) == [
        ".github",
        "CHANGELOG.md",
        "README.md",
        "package.json",
        "requirements.txt",
    ]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.txt")

    # Pushing to the PR's branch through the Contents API moves its head like a push.
    branch = pull.head.ref
    created = repo.create_file("docs/NOTES.md", "Add notes", "hello\n", branch=branch)
    assert created["content"].path == "docs/NOTES.md"
    moved = repo.get_pull(number)
    assert moved.head.sha == created["commit"].sha != pull.head.sha
    wait_for(
        lambda: any(r.event == "pull_request.synchronize" for r in receiver.requests), what="synchronize"
    )
    assert sorted(f.filename for f in moved.get_files()) == sorted([changed.filename, "docs/NOTES.md"])
    assert [entry.path for entry in repo.get_contents("docs", ref=branch)] == ["docs/NOTES.md"]

    notes = repo.get_contents("docs/NOTES.md", ref=branch)
    with pytest.raises(GithubException) as stale:
        repo.update_file("docs/NOTES.md", "Edit", "bye\n", "0" * 40, branch=branch)
    assert stale.value.status == 409
    with pytest.raises(GithubException) as missing_sha:
        repo.create_file("docs/NOTES.md", "Again", "bye\n", branch=branch)
    assert missing_sha.value.status == 422
    updated = repo.update_file("docs/NOTES.md", "Edit", "bye\n", notes.sha, branch=branch)
    assert repo.get_contents("docs/NOTES.md", ref=branch).decoded_content == b"bye\n"
    repo.delete_file("docs/NOTES.md", "Remove notes", updated["content"].sha, branch=branch)
    assert [f.filename for f in repo.get_pull(number).get_files()] == [changed.filename]
    with pytest.raises(GithubException) as no_branch:
        repo.create_file("x.txt", "x", "x", branch="nope")
    assert no_branch.value.status == 404
