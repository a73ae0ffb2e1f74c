"""REST routes for pull requests and reviews (the issue side of PRs, comments and labels: rest_issues.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from simulators.github.model import PullRequest, now
from simulators.github.rest_common import (
    GitHubError,
    created,
    get_pr,
    get_repo,
    invalid,
    paginate,
    read_object,
)
from simulators.github.simulator import Simulator

PR = "/repos/{owner}/{repo}/pulls/{number:int}"
# GitHub's `sort` of the pulls list: `popularity` is the number of comments, `long-running` the age.
PULL_SORTS: dict[str, Callable[[PullRequest], Any]] = {
    "created": lambda pr: (pr.created_at, pr.number),
    "updated": lambda pr: (pr.updated_at, pr.number),
    "popularity": lambda pr: (len(pr.comments), pr.number),
    "long-running": lambda pr: (pr.created_at, pr.number),
}


def pulls_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    @router.get("/repos/{owner}/{repo}/pulls")
    async def list_pulls(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        q = request.query_params
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise invalid(resource="PullRequest", field="state", code="invalid")
        prs = [pr for pr in found.pulls.values() if state == "all" or pr.state == state]
        if "head" in q:
            prs = [pr for pr in prs if f"{owner}:{pr.head_ref}" == q["head"] or pr.head_ref == q["head"]]
        if "base" in q:
            prs = [pr for pr in prs if pr.base_ref == q["base"]]
        sort = q.get("sort", "created")
        if sort not in PULL_SORTS:
            raise invalid(resource="PullRequest", field="sort", code="invalid")
        direction = q.get("direction", "desc" if sort == "created" else "asc")  # GitHub's defaults
        if direction not in ("asc", "desc"):
            raise invalid(resource="PullRequest", field="direction", code="invalid")
        if sort == "long-running":  # open for more than a month, with activity within the last one
            month_ago = now() - timedelta(days=30)
            prs = [pr for pr in prs if pr.created_at <= month_ago <= pr.updated_at]
        prs.sort(key=PULL_SORTS[sort], reverse=direction == "desc")
        return paginate(request, prs, render=sim.render.pull_simple)

    @router.post("/repos/{owner}/{repo}/pulls")
    async def create_pull(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        body = await read_object(request)
        head = str(body.get("head", "")).split(":", 1)[-1]
        base = str(body.get("base", ""))
        title = body.get("title")
        if not title:
            raise invalid(resource="PullRequest", field="title", code="missing_field")
        for field, name in (("head", head), ("base", base)):
            if name not in found.branches:
                raise invalid(resource="PullRequest", field=field, code="invalid")
        if head == base:
            raise invalid(
                resource="PullRequest", code="custom", message=f"No commits between {base} and {head}"
            )
        if any(pr.state == "open" and pr.head_ref == head for pr in found.pulls.values()):
            message = f"A pull request already exists for {owner}:{head}."
            raise invalid(resource="PullRequest", code="custom", message=message)
        pr = sim.ops.create_pr(
            found, sim.api_user, head, base, title, body.get("body") or "", draft=bool(body.get("draft"))
        )
        return created(sim.render.pull(pr))

    @router.get(PR)
    async def get_pull(owner: str, repo: str, number: int) -> dict[str, Any]:
        return sim.render.pull(get_pr(sim, owner, repo, number))

    @router.patch(PR)
    async def update_pull(owner: str, repo: str, number: int, request: Request) -> dict[str, Any]:
        pr = get_pr(sim, owner, repo, number)
        body = await read_object(request)
        state = body.get("state")
        if state not in (None, "open", "closed"):
            raise invalid(resource="PullRequest", field="state", code="invalid")
        if state == "open" and pr.merged:
            raise invalid(
                resource="PullRequest", code="custom", message="Cannot reopen a merged pull request"
            )
        if state == "open" and pr.head_ref not in sim.world.repos[pr.repo].branches:
            raise invalid(resource="PullRequest", code="custom", message="The head branch no longer exists")
        sim.ops.edit(pr, sim.api_user, body.get("title"), body.get("body"))
        if state == "closed" and pr.state == "open":
            sim.ops.close(pr, sim.api_user)
        elif state == "open" and pr.state == "closed":
            sim.ops.reopen(pr, sim.api_user)
        return sim.render.pull(pr)

    @router.get(PR + "/commits")
    async def list_pull_commits(owner: str, repo: str, number: int, request: Request) -> Response:
        pr = get_pr(sim, owner, repo, number)
        found = sim.world.repos[pr.repo]
        _, _, shas, _ = sim.world.compare(found, pr.base_sha, pr.head_sha)
        render = sim.render
        return paginate(request, [render.commit(found, found.commits[sha]) for sha in shas])

    @router.put(PR + "/merge")
    async def merge_pull(owner: str, repo: str, number: int, request: Request) -> dict[str, Any]:
        pr = get_pr(sim, owner, repo, number)
        body = await read_object(request)
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            raise invalid(resource="PullRequest", field="merge_method", code="invalid")
        if pr.state != "open":
            raise GitHubError(405, "Pull Request is not mergeable")
        if body.get("sha") and body["sha"] != pr.head_sha:
            raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
        state = sim.world.mergeable_state(pr)
        refusals = {
            "dirty": "Pull Request is not mergeable",
            "behind": "Head branch is out of date. Review and try the merge again.",
            "blocked": "Repository rule violations found: required checks or approving review missing.",
            "draft": "Pull Request is still a draft",
        }
        if state in refusals:
            raise GitHubError(405, refusals[state])
        sha = sim.ops.merge(pr, sim.api_user, method)
        get_repo(sim, owner, repo).commits[sha].verified = True  # merged through the API: signed by GitHub
        return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    @router.put(PR + "/update-branch")
    async def update_branch(owner: str, repo: str, number: int, request: Request) -> Response:
        pr = get_pr(sim, owner, repo, number)
        body = await read_object(request)
        expected = body.get("expected_head_sha")
        if pr.state != "open":
            raise invalid("Pull request is closed")
        if expected and expected != pr.head_sha:
            raise invalid("expected_head_sha does not match the pull request's HEAD")
        if pr.conflict:
            raise invalid("merge conflict between base and head")
        if not sim.world.is_behind(pr):
            raise invalid("There are no new commits on the base branch.")
        sim.ops.update_branch(pr, sim.api_user)
        message = {"message": "Updating pull request branch.", "url": sim.render.pull(pr)["html_url"]}
        return JSONResponse(message, status_code=202)

    @router.get(PR + "/reviews")
    async def list_reviews(owner: str, repo: str, number: int, request: Request) -> Response:
        pr = get_pr(sim, owner, repo, number)
        render = sim.render
        return paginate(request, [render.review(pr, review) for review in pr.reviews])

    @router.post(PR + "/reviews")
    async def create_review(owner: str, repo: str, number: int, request: Request) -> dict[str, Any]:
        pr = get_pr(sim, owner, repo, number)
        body = await read_object(request)
        event = body.get("event")
        text = body.get("body") or ""
        if event not in (None, "APPROVE", "REQUEST_CHANGES", "COMMENT"):
            raise invalid("Unprocessable Entity", resource="PullRequestReview", field="event", code="invalid")
        if event in ("REQUEST_CHANGES", "COMMENT") and not text:
            raise invalid("Unprocessable Entity", resource="PullRequestReview", field="body", code="missing")
        if event == "APPROVE" and pr.user.login == sim.api_user.login:
            raise invalid("Unprocessable Entity", message="Can not approve your own pull request")
        if pr.state != "open":
            raise invalid("Unprocessable Entity", message="Can not review a closed pull request")
        review = sim.ops.add_review(pr, sim.api_user, event, text, body.get("commit_id") or pr.head_sha)
        return sim.render.review(pr, review)

    return router
