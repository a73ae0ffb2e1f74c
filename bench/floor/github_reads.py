"""The stall -> action floor that reads GitHub: bare workflows that each take one signal (the PR's last
progress), wait on a timer of the staleness threshold, then run one activity that reads the PR through
bare PyGithub, with the requests a staleness check needs (the PR, re-read while GitHub computes its
mergeability; when it is open: its head's check suites, check runs and statuses, its reviews, and the
comparison of its head with its base), and notes when the read was done (the decision).

Run in-process by `bench/latency.py` against the same GitHub simulator world as Mender's fleet, with
the same slots; it reads `READ`. Nothing of Mender is imported.
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():  # the activity's library, not the workflow's
    from github import Github, GithubException

READ: dict[str, float] = {}  # workflow id -> wall-clock time its read of GitHub was done
SETTLE_WAITS = (0.25, 0.5, 1.0, 2.0)  # re-reads of a PR whose mergeability is null, as GitHub advises
CLIENT: dict[str, Github] = {}  # "url" -> the client (set by the bench before its worker starts)


def client(url: str, token: str, points_per_minute: int | None = None) -> Github:
    """PyGithub as a bare script would use it; under a secondary limit of `points_per_minute` (GET: 1
    point), paced by PyGithub's own `seconds_between_requests`, a little under the limit."""
    spacing = 60 / points_per_minute * 1.02 if points_per_minute else None
    return Github(
        base_url=url,
        login_or_token=token,
        retry=None,
        timeout=15,
        lazy=True,
        seconds_between_requests=spacing,
    )


def read_pr(gh: Github, repo_name: str, number: int) -> dict:
    """What a staleness check decides on, read with bare PyGithub (no caching, no rate-limit gate)."""
    repo = gh.get_repo(repo_name)  # lazy: no request
    pull = repo.get_pull(number)
    for wait in SETTLE_WAITS:
        if pull.state != "open" or pull.mergeable is not None:
            break
        time.sleep(wait)
        pull = repo.get_pull(number)
    if pull.state != "open":
        return {"state": pull.state, "merged": pull.merged}
    commit = repo.get_commit(pull.head.sha)  # lazy: no request
    return {
        "state": pull.state,
        "suites": [(s.id, s.status, s.conclusion) for s in commit.get_check_suites()],
        "runs": [(r.id, r.name, r.status, r.conclusion) for r in commit.get_check_runs()],
        "statuses": [(s.context, s.state) for s in commit.get_statuses()],
        "reviews": [(r.state, r.commit_id) for r in pull.get_reviews()],
        "behind_by": repo.compare(pull.base.ref, pull.head.sha).behind_by,
    }


@activity.defn(name="floor.read_and_act")
def read_and_act(repo_name: str, number: int) -> None:
    """Read the PR, then note when (the decision). A secondary rate limit is waited out as GitHub says
    (`Retry-After`), then the read starts again."""
    while True:
        try:
            read_pr(CLIENT["github"], repo_name, number)
            break
        except GithubException as exc:
            wait = (exc.headers or {}).get("retry-after")
            if exc.status not in (403, 429) or wait is None:
                raise
            time.sleep(float(wait))
    READ.setdefault(activity.info().workflow_id, time.time())


@workflow.defn(name="FloorGitHubStall")
class FloorGitHubStall:
    def __init__(self) -> None:
        self.progressed = False

    @workflow.signal(name="progress")
    def progress(self) -> None:
        self.progressed = True

    @workflow.run
    async def run(self, threshold_seconds: float, repo_name: str, number: int) -> None:
        await workflow.wait_condition(lambda: self.progressed)
        await workflow.sleep(timedelta(seconds=threshold_seconds))
        await workflow.execute_activity(
            "floor.read_and_act",
            args=[repo_name, number],
            start_to_close_timeout=timedelta(seconds=180),  # a lost task is retried; waits are paced
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
