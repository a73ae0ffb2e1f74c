"""Cut the part of GitHub's OpenAPI description the simulator contract tests need.

`python -m tests.simulators.openapi_subset [/work/shared/fixtures/github/openapi/api.github.com.json]`
writes `tests/fixtures/github/openapi.subset.json`: the operations the simulator serves (responses and
parameters only), the `x-webhooks` entries of the events it sends, and every component they reference.
Descriptions and examples are dropped; nothing else is changed (see tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SOURCE = Path("/work/shared/fixtures/github/openapi/api.github.com.json")
TARGET = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "openapi.subset.json"

OPERATIONS: dict[str, tuple[str, ...]] = {
    "/user": ("get",),
    "/rate_limit": ("get",),
    "/repos/{owner}/{repo}": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/check-suites": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/check-runs": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/status": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/statuses": ("get",),
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls": ("get",),
    "/repos/{owner}/{repo}/statuses/{sha}": ("post",),
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}": ("get",),
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs": ("get",),
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest": ("post",),
    "/repos/{owner}/{repo}/check-runs/{check_run_id}": ("get",),
    "/repos/{owner}/{repo}/compare/{basehead}": ("get",),
    "/repos/{owner}/{repo}/branches/{branch}": ("get",),
    "/repos/{owner}/{repo}/git/ref/{ref}": ("get",),
    "/repos/{owner}/{repo}/git/refs": ("post",),
    "/repos/{owner}/{repo}/git/refs/{ref}": ("delete",),
    "/repos/{owner}/{repo}/pulls": ("get", "post"),
    "/repos/{owner}/{repo}/pulls/{pull_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/pulls/{pull_number}/commits": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/files": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/merge": ("put",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch": ("put",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews": ("get", "post"),
    "/repos/{owner}/{repo}/contents/{path}": ("get", "put", "delete"),
    "/repos/{owner}/{repo}/actions/runs": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs": ("get",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun": ("post",),
    "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs": ("post",),
    "/repos/{owner}/{repo}/actions/jobs/{job_id}": ("get",),
    "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs": ("get",),
    "/repos/{owner}/{repo}/issues": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": ("delete",),
    "/repos/{owner}/{repo}/collaborators/{username}/permission": ("get",),
}
WEBHOOKS = (
    "check-run-completed",
    "check-run-created",
    "check-suite-completed",
    "check-suite-requested",
    "check-suite-rerequested",
    "create",
    "delete",
    "issue-comment-created",
    "issues-closed",
    "issues-opened",
    "pull-request-closed",
    "pull-request-edited",
    "pull-request-labeled",
    "pull-request-opened",
    "pull-request-reopened",
    "pull-request-synchronize",
    "pull-request-unlabeled",
    "pull-request-review-submitted",
    "push",
    "status",
    "workflow-job-completed",
    "workflow-job-in-progress",
    "workflow-job-queued",
    "workflow-run-completed",
    "workflow-run-in-progress",
    "workflow-run-requested",
)
DROPPED_KEYS = ("description", "examples", "example", "summary", "externalDocs", "x-github", "x-octokit")


def strip(node: Any) -> Any:
    """`node` without prose and examples (they are not part of the contract)."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROPPED_KEYS or not _is_meta(k, v)}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def _is_meta(key: str, value: Any) -> bool:
    # A schema property may be called `description`/`summary` (an object's field): keep those.
    return not (
        key in ("description", "summary") and isinstance(value, dict) and ("type" in value or "$ref" in value)
    )


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


def subset(description: dict[str, Any]) -> dict[str, Any]:
    paths = {
        path: {method: strip(_operation(description["paths"][path][method])) for method in methods}
        for path, methods in OPERATIONS.items()
    }
    hooks = {
        name: strip(_operation(description["x-webhooks"][name]["post"], "requestBody")) for name in WEBHOOKS
    }
    components: dict[str, dict[str, Any]] = {}
    todo = refs(paths) | refs(hooks)
    while todo:
        ref = todo.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        node = strip(description["components"][kind][name])
        components.setdefault(kind, {})[name] = node
        todo |= refs(node)
    return {
        "openapi": description["openapi"],
        "info": {"title": "GitHub REST API (subset for the simulator contract tests)", "version": "23.0.2"},
        "paths": paths,
        "x-webhooks": {name: {"post": hook} for name, hook in hooks.items()},
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def _operation(op: dict[str, Any], part: str = "responses") -> dict[str, Any]:
    """An operation's id, parameters and `part`: its responses (REST) or its request body (webhooks)."""
    return {k: v for k, v in op.items() if k in ("operationId", "parameters", part)}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    TARGET.write_text(json.dumps(subset(json.loads(source.read_text())), separators=(",", ":")) + "\n")
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
