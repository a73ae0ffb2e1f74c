"""REST routes for file contents: the Contents API, a PR's changed files, and raw file downloads.

What Mender needs to re-create a conflicted PR from the latest base: `GET .../pulls/{n}/files`,
`GET .../contents/{path}?ref=` (base64 content and blob sha) and `PUT .../contents/{path}`
(`{message, content, branch, sha?}`) or `DELETE` it, each a commit pushed to the branch (open PRs
from that branch get a new head: `synchronize`, CI).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from simulators.github.contents import blob_sha, diff_files
from simulators.github.model import Commit, Repo
from simulators.github.render import JSON, Render, node_id, ts
from simulators.github.render_checks import verification
from simulators.github.rest_common import (
    GitHubError,
    get_pr,
    get_repo,
    invalid,
    not_found,
    paginate,
    read_object,
)
from simulators.github.simulator import Simulator

REPO = "/repos/{owner}/{repo}"


def file_json(render: Render, repo: Repo, path: str, text: str, sha: str, content: bool = True) -> JSON:
    """A Contents API `content-file` for `path` at commit `sha`."""
    repo_url, blob = render.repo_api(repo.full_name), blob_sha(text)
    url = f"{repo_url}/contents/{quote(path)}?ref={sha}"
    git_url, html_url = f"{repo_url}/git/blobs/{blob}", render.html(f"/{repo.full_name}/blob/{sha}/{path}")
    data: JSON = {
        "type": "file",
        "encoding": "base64",
        "size": len(text.encode()),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": blob,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": render.html(f"/{repo.full_name}/raw/{sha}/{quote(path)}"),
        "_links": {"self": url, "git": git_url, "html": html_url},
    }
    if content:
        encoded = base64.b64encode(text.encode()).decode()
        data["content"] = "".join(f"{encoded[i : i + 60]}\n" for i in range(0, len(encoded), 60))
    return data


def dir_json(render: Render, repo: Repo, path: str, sha: str) -> JSON:
    url = f"{render.repo_api(repo.full_name)}/contents/{quote(path)}?ref={sha}"
    html_url = render.html(f"/{repo.full_name}/tree/{sha}/{path}")
    return {
        "type": "dir",
        "size": 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": node_id("Tree", f"{sha}:{path}"),
        "url": url,
        "git_url": None,
        "html_url": html_url,
        "download_url": None,
        "_links": {"self": url, "git": None, "html": html_url},
    }


def git_commit_json(render: Render, repo: Repo, commit: Commit) -> JSON:
    """The Git Database `git-commit` shape returned by `PUT .../contents/{path}`."""
    repo_url = render.repo_api(repo.full_name)
    person = {"name": commit.author, "email": "bot@users.noreply.sim", "date": ts(commit.timestamp)}
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", commit.sha[:12]),
        "url": f"{repo_url}/git/commits/{commit.sha}",
        "html_url": render.html(f"/{repo.full_name}/commit/{commit.sha}"),
        "author": person,
        "committer": person,
        "message": commit.message,
        "tree": {"sha": commit.tree_sha, "url": f"{repo_url}/git/trees/{commit.tree_sha}"},
        "parents": [
            {
                "sha": p,
                "url": f"{repo_url}/git/commits/{p}",
                "html_url": render.html(f"/{repo.full_name}/commit/{p}"),
            }
            for p in commit.parents
        ],
        "verification": verification(commit),
    }


def contents_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    def commit_at(found: Repo, ref: str | None) -> Commit:
        sha = sim.world.resolve(found, ref or found.default_branch)
        if sha is None:
            raise GitHubError(404, f"No commit found for the ref {ref}")
        return found.commits[sha]

    @router.get(REPO + "/contents/{path:path}")
    async def get_contents(owner: str, repo: str, path: str, request: Request) -> Any:
        found = get_repo(sim, owner, repo)
        commit, path = commit_at(found, request.query_params.get("ref")), path.strip("/")
        render = sim.render
        if path in commit.files:
            return file_json(render, found, path, commit.files[path], commit.sha)
        prefix = f"{path}/" if path else ""
        children = sorted({p[len(prefix) :].split("/", 1)[0] for p in commit.files if p.startswith(prefix)})
        if not children:
            raise not_found()
        entries = []
        for name in children:
            child = f"{prefix}{name}"
            if child in commit.files:
                entries.append(
                    file_json(render, found, child, commit.files[child], commit.sha, content=False)
                )
            else:
                entries.append(dir_json(render, found, child, commit.sha))
        return entries

    @router.put(REPO + "/contents/{path:path}")
    async def put_contents(owner: str, repo: str, path: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        body, path = await read_object(request), path.strip("/")
        message, content = body.get("message"), body.get("content")
        for key, value in (("message", message), ("content", content)):
            if not isinstance(value, str) or (key == "message" and not value):
                raise invalid(f'Invalid request.\n\n"{key}" wasn\'t supplied.')
        if not path:
            raise invalid("path cannot be empty")
        try:
            text = base64.b64decode(str(content), validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise invalid("content is not valid Base64") from None
        branch = str(body.get("branch") or found.default_branch)
        if branch not in found.branches:
            raise GitHubError(404, f"Branch {branch} not found")
        existing = found.commits[found.branches[branch]].files.get(path)
        if existing is not None:
            if not body.get("sha"):
                raise invalid('Invalid request.\n\n"sha" wasn\'t supplied.')
            if body["sha"] != blob_sha(existing):
                raise GitHubError(409, f"{path} does not match {body['sha']}")
        sha = sim.ops.commit_file(found, branch, path, text, str(message), sim.api_user)
        found.commits[sha].verified = True  # made through the API: signed by GitHub
        render = sim.render
        data = {
            "content": file_json(render, found, path, text, sha, content=False),
            "commit": git_commit_json(render, found, found.commits[sha]),
        }
        return JSONResponse(data, status_code=201 if existing is None else 200)

    @router.delete(REPO + "/contents/{path:path}")
    async def delete_contents(owner: str, repo: str, path: str, request: Request) -> dict[str, Any]:
        found = get_repo(sim, owner, repo)
        body, path = await read_object(request), path.strip("/")
        branch = str(body.get("branch") or found.default_branch)
        if branch not in found.branches:
            raise GitHubError(404, f"Branch {branch} not found")
        existing = found.commits[found.branches[branch]].files.get(path)
        if existing is None:
            raise not_found()
        if body.get("sha") != blob_sha(existing):
            raise GitHubError(409, f"{path} does not match {body.get('sha')}")
        message = str(body.get("message") or f"Delete {path}")
        sha = sim.ops.commit_file(found, branch, path, None, message, sim.api_user)
        found.commits[sha].verified = True
        return {"content": None, "commit": git_commit_json(sim.render, found, found.commits[sha])}

    @router.get(REPO + "/pulls/{number:int}/files")
    async def list_pull_files(owner: str, repo: str, number: int, request: Request) -> Response:
        pr = get_pr(sim, owner, repo, number)
        found = sim.world.repos[pr.repo]
        base = found.branches.get(pr.base_ref, pr.base_sha) if pr.state == "open" else pr.base_sha
        merge_base = sim.world.merge_base(found, base, pr.head_sha)
        diffs = diff_files(found.commits[merge_base].files, found.commits[pr.head_sha].files)
        render, repo_url = sim.render, sim.render.repo_api(pr.repo)
        items = [
            {
                "sha": blob_sha(d.text) if d.text is not None else None,
                "filename": d.path,
                "status": d.status,
                "additions": d.additions,
                "deletions": d.deletions,
                "changes": d.additions + d.deletions,
                "blob_url": render.html(f"/{pr.repo}/blob/{pr.head_sha}/{quote(d.path)}"),
                "raw_url": render.html(f"/{pr.repo}/raw/{pr.head_sha}/{quote(d.path)}"),
                "contents_url": f"{repo_url}/contents/{quote(d.path)}?ref={pr.head_sha}",
                "patch": d.patch,
            }
            for d in diffs
        ]
        return paginate(request, items)

    @router.get("/{owner}/{repo}/raw/{ref}/{path:path}")
    async def raw_file(owner: str, repo: str, ref: str, path: str) -> Response:
        commit = commit_at(get_repo(sim, owner, repo), ref)
        if path not in commit.files:
            raise not_found()
        return PlainTextResponse(commit.files[path])

    return router
