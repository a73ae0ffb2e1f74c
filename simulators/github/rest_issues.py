"""REST routes for issues: plain issues (Mender's incident reports) and the issue side of pull requests.

Issues and pull requests share one number space per repo (`Repo.next_number`), as on GitHub. Comments
and labels work on both; on a pull request they emit webhooks and wake the bots (`ops.py`), on a plain
issue they only change the issue (the simulator sends no `issues` webhooks).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from simulators.github.model import Comment, Issue, Label, PullRequest, Repo, SimEvent, now
from simulators.github.rest_common import (
    GitHubError,
    created,
    get_repo,
    invalid,
    not_found,
    paginate,
    read_json,
    read_object,
)
from simulators.github.simulator import Simulator

ISSUES = "/repos/{owner}/{repo}/issues"
ISSUE = ISSUES + "/{number:int}"


def label_names(data: Any) -> list[str]:
    """Label names from `["a", {"name": "b"}]` or `{"labels": [...]}`; 422 when malformed."""
    names = data.get("labels") if isinstance(data, dict) else data
    if not isinstance(names, list):
        raise invalid(resource="Label", field="labels", code="missing_field")
    names = [n.get("name") if isinstance(n, dict) else n for n in names]
    if not all(isinstance(n, str) and n for n in names):
        raise invalid(resource="Label", field="name", code="invalid")
    return names


def issues_router(sim: Simulator) -> APIRouter:
    router = APIRouter()

    def announce(repo: Repo, event: str, action: str, body: dict[str, Any]) -> None:
        """A plain issue's webhook (no PR: nothing of the bot-PR world reacts to it)."""
        sim.emit(SimEvent(event, action, repo, None), body)

    def thread(owner: str, repo: str, number: int) -> PullRequest | Issue:
        found = get_repo(sim, owner, repo)
        item = found.pulls.get(number) or found.issues.get(number)
        if item is None:
            raise not_found()
        return item

    def labels_of(repo: Repo, names: list[str]) -> list[Label]:
        return [repo.labels.setdefault(n, Label(sim.world.new_id("label"), n)) for n in dict.fromkeys(names)]

    def as_issue(item: PullRequest | Issue) -> dict[str, Any]:
        render = sim.render
        return render.issue(item) if isinstance(item, PullRequest) else render.plain_issue(item)

    @router.post(ISSUES)
    async def create_issue(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        body = await read_object(request)
        title = body.get("title")
        if not isinstance(title, str | int) or isinstance(title, bool) or not str(title).strip():
            raise invalid(resource="Issue", field="title", code="missing_field")
        text = body.get("body")
        issue = Issue(
            found.full_name,
            found.next_number,
            sim.world.new_id("issue"),
            str(title),
            text if isinstance(text, str) else "",
            sim.api_user,
            labels=labels_of(found, label_names(body.get("labels") or [])),
        )
        found.next_number += 1
        found.issues[issue.number] = issue
        announce(found, "issues", "opened", sim.payloads.issues("opened", issue, sim.api_user))
        return created(sim.render.plain_issue(issue))

    @router.get(ISSUES)
    async def list_issues(owner: str, repo: str, request: Request) -> Response:
        found = get_repo(sim, owner, repo)
        q = request.query_params
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise invalid(resource="Issue", field="state", code="invalid")
        items: list[PullRequest | Issue] = [*found.pulls.values(), *found.issues.values()]
        items = [item for item in items if state == "all" or item.state == state]
        wanted = {name.strip() for name in q.get("labels", "").split(",") if name.strip()}
        items = [item for item in items if wanted <= {label.name for label in item.labels}]
        if q.get("creator"):
            items = [item for item in items if item.user.login == q["creator"]]
        sort = q.get("sort", "created")
        key = {"updated": "updated_at", "comments": "comments"}.get(sort, "created_at")

        def order(item: PullRequest | Issue) -> Any:
            return (len(item.comments) if key == "comments" else getattr(item, key), item.number)

        items.sort(key=order, reverse=q.get("direction", "desc") == "desc")
        return paginate(request, items, render=as_issue)

    @router.get(ISSUE)
    async def get_issue(owner: str, repo: str, number: int) -> dict[str, Any]:
        return as_issue(thread(owner, repo, number))

    @router.patch(ISSUE)
    async def update_issue(owner: str, repo: str, number: int, request: Request) -> dict[str, Any]:
        item = thread(owner, repo, number)
        body = await read_object(request)
        state = body.get("state")
        if state not in (None, "open", "closed"):
            raise invalid(resource="Issue", field="state", code="invalid")
        if isinstance(item, PullRequest):  # title, body and state; labels have their own routes
            sim.ops.edit(item, sim.api_user, body.get("title"), body.get("body"))
            if state == "closed" and item.state == "open":
                sim.ops.close(item, sim.api_user)
            elif state == "open" and item.state == "closed" and not item.merged:
                sim.ops.reopen(item, sim.api_user)
            return sim.render.issue(item)
        if isinstance(body.get("title"), str) and body["title"].strip():
            item.title = body["title"]
        if isinstance(body.get("body"), str):
            item.body = body["body"]
        if "labels" in body:
            item.labels = labels_of(get_repo(sim, owner, repo), label_names(body["labels"]))
        changed = state is not None and state != item.state
        if changed:
            item.state = state
            item.closed_at = now() if state == "closed" else None
            item.state_reason = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
        item.updated_at = now()
        if changed:
            action = "closed" if state == "closed" else "reopened"
            announce(
                get_repo(sim, owner, repo), "issues", action, sim.payloads.issues(action, item, sim.api_user)
            )
        return sim.render.plain_issue(item)

    @router.get(ISSUE + "/comments")
    async def list_comments(owner: str, repo: str, number: int, request: Request) -> Response:
        item = thread(owner, repo, number)
        render = sim.render
        return paginate(request, item.comments, render=lambda comment: render.comment(item, comment))

    @router.post(ISSUE + "/comments")
    async def create_comment(owner: str, repo: str, number: int, request: Request) -> Response:
        item = thread(owner, repo, number)
        text = (await read_object(request)).get("body")
        if not isinstance(text, str) or not text:
            raise invalid(resource="IssueComment", field="body", code="missing_field")
        if isinstance(item, PullRequest):
            comment = sim.ops.add_comment(item, sim.api_user, text)
        else:
            comment = Comment(sim.world.new_id("comment"), sim.api_user, text)
            item.comments.append(comment)
            item.updated_at = now()
            body = sim.payloads.issue_comment("created", item, comment)
            announce(get_repo(sim, owner, repo), "issue_comment", "created", body)
        return created(sim.render.comment(item, comment))

    @router.get(ISSUE + "/labels")
    async def list_labels(owner: str, repo: str, number: int, request: Request) -> Response:
        item = thread(owner, repo, number)
        return paginate(request, [sim.render.label(item.repo, label) for label in item.labels])

    @router.post(ISSUE + "/labels")
    async def add_labels(owner: str, repo: str, number: int, request: Request) -> list[dict[str, Any]]:
        item = thread(owner, repo, number)
        names = label_names(await read_json(request))
        if not names:
            raise invalid(resource="Label", field="labels", code="missing_field")
        if isinstance(item, PullRequest):
            sim.ops.add_labels(item, names, sim.api_user)
        else:
            have = {label.name for label in item.labels}
            item.labels += [
                lab for lab in labels_of(get_repo(sim, owner, repo), names) if lab.name not in have
            ]
        return [sim.render.label(item.repo, label) for label in item.labels]

    @router.delete(ISSUE + "/labels/{name:path}")
    async def remove_label(owner: str, repo: str, number: int, name: str) -> list[dict[str, Any]]:
        item = thread(owner, repo, number)
        if isinstance(item, PullRequest):
            removed = sim.ops.remove_label(item, name, sim.api_user)
        else:
            removed = any(label.name == name for label in item.labels)
            item.labels = [label for label in item.labels if label.name != name]
        if not removed:
            raise GitHubError(404, "Label does not exist")
        return [sim.render.label(item.repo, label) for label in item.labels]

    return router
