"""GitHub activities through PyGithub: the live snapshot and the remediation strategies.

Every strategy is idempotent and guarded: it re-reads GitHub before acting and refuses (ok=False with
the reason) when acting would be wrong, e.g. rebuilding while checks run or merging an unapproved head.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from github import Github, GithubException
from github.GithubObject import GithubObject
from github.PullRequest import PullRequest
from github.Repository import Repository
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.definition import defn
from activities.github_cache import conditional, take_write_turn
from activities.github_gate import exception_delay
from activities.github_refusals import record_refusal
from contracts.pr import BotArgs, StrategyArgs, StrategyResult
from domain.pr_healing.events import PRRef
from domain.pr_healing.snapshot import CheckRunFact, CheckSuiteFact, PRSnapshot, ReviewFact, StatusFact
from domain.shared.times import aware
from runtime.github_auth import github_auth
from runtime.settings import Settings, get_settings

OUTPUT_LIMIT = 4000
MERGEABILITY_WAITS = (0.25, 0.5, 1.0, 2.0)  # seconds between re-reads of a PR whose mergeability is null


def github_client(settings: Settings, repo: str | None = None) -> Github:
    """PyGithub against GitHub or the simulator, as a token or as the App's installation of `repo`.

    Retries are Temporal's job, not PyGithub's. GETs are conditional (`activities/github_cache.py`): an
    unchanged answer costs a 304, which GitHub does not count against the rate limit. Writes are paced
    under GitHub's secondary limit (`activities/github_pacing.py`).
    """
    client = Github(
        base_url=settings.github_api_url,
        auth=github_auth(settings, repo),
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
        timeout=15,
        lazy=True,
    )
    conditional(client.requester, settings.config.github.writes_per_minute)
    return client


def _repo(pr: PRRef) -> Repository:
    return github_client(get_settings(), pr.repo).get_repo(pr.repo)


def _writer(pr: PRRef, what: str) -> Repository:
    """The repository for a remediation, once its turn to write has come (`activities/github_pacing.py`):
    it reads GitHub at its turn, not before (a far turn retries the activity then)."""
    client = github_client(get_settings(), pr.repo)
    with github_errors(what, pr.repo):
        take_write_turn(client.requester)
    return client.get_repo(pr.repo)


def _fail(exc: GithubException, what: str, repo: str | None = None) -> ApplicationError:
    """Rate limits wait as long as GitHub says; 5xx are retried; a bad token or a missing permission is
    not (retrying cannot fix it), says so and is recorded for `mender doctor`; other 4xx will not get
    better by retrying either."""
    message = str(exc.data.get("message", "")) if isinstance(exc.data, dict) else ""
    if (delay := exception_delay(exc)) is not None:  # the gate holds every other call meanwhile
        return ApplicationError(
            f"{what}: GitHub rate limit ({exc.status}: {message}); retrying in {delay:.0f}s",
            *([activity.info().attempt] if activity.in_activity() else []),  # see `workflows.calls`
            type="GitHubRateLimited",
            next_retry_delay=timedelta(seconds=delay),
        )
    if exc.status in (404, 410, 451) or (exc.status in (403, 422) and "archived" in message.lower()):
        # This repository alone (gone, blocked, archived): the breaker isolates it, not all of GitHub.
        return ApplicationError(
            f"{what}: GitHub answered {exc.status} ({message or 'not available'})",
            type="GitHubRepoUnavailable",
            non_retryable=True,
        )
    if exc.status in (401, 403):
        wanted = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("x-accepted-github-permissions")
        reason = (
            "bad credentials: check GITHUB_TOKEN"
            if exc.status == 401
            else f"permission denied ({message or 'forbidden'}; needs {wanted or 'a permission the token lacks'})"
        )
        record_refusal(
            repo, exc.status, wanted, message or ("Bad credentials" if exc.status == 401 else ""), what
        )
        return ApplicationError(
            f"{what}: GitHub refused: {reason}", type="GitHubAccessDenied", non_retryable=True
        )
    retryable = exc.status >= 500
    return ApplicationError(
        f"{what}: GitHub answered {exc.status}", type="GitHubError", non_retryable=not retryable
    )


@contextmanager
def github_errors(what: str, repo: str | None = None) -> Iterator[None]:
    """Turn a PyGithub error into an ApplicationError saying what failed and whether to retry.

    After a rate limit, no request with the same credentials goes out until GitHub's reset or
    Retry-After, across every activity of this worker (`activities/github_gate.py`); the activity is
    retried after that delay.
    """
    try:
        yield
    except GithubException as exc:
        raise _fail(exc, what, repo) from exc


def _output(run: object) -> str:
    out = getattr(run, "output", None)
    parts = [getattr(out, name, None) for name in ("title", "summary", "text")] if out else []
    return "\n".join(p for p in parts if p)[:OUTPUT_LIMIT]


def settled(repo: Repository, pull: PullRequest) -> PullRequest:
    """The PR once GitHub has computed its mergeability (null for a while after a push to the head or the
    base): re-read a few times, as GitHub advises; the last read if it is still not computed."""
    for wait in MERGEABILITY_WAITS:
        if pull.state != "open" or pull.mergeable is not None:
            break
        time.sleep(wait)
        pull = repo.get_pull(pull.number)
    return pull


def _listed(item: GithubObject) -> dict[str, Any]:
    """The JSON a list answer gave for `item`. Not `item.raw_data`: PyGithub first GETs a listed item
    itself on that (one request per check suite and per check run, for what the list already holds)."""
    return GithubObject.raw_data.fget(item)  # type: ignore[attr-defined]


def read_snapshot(repo: Repository, pull: PullRequest, pr: PRRef) -> PRSnapshot:
    """Everything Mender needs about a PR, read through PyGithub (mergeability once computed): the PR,
    then its head's check suites, check runs and statuses, its reviews and the comparison with its base,
    one request each (lazy objects cost none)."""
    pull = settled(repo, pull)
    head = pull.head.sha
    commit = repo.get_commit(head)
    suites = [
        CheckSuiteFact(
            id=s.id, status=s.status, conclusion=s.conclusion, updated_at=_listed(s).get("updated_at")
        )
        for s in commit.get_check_suites()
    ]
    runs = [
        CheckRunFact(
            id=r.id,
            name=r.name,
            status=r.status,
            conclusion=r.conclusion,
            suite_id=(_listed(r).get("check_suite") or {}).get("id"),
            output=_output(r),
        )
        for r in commit.get_check_runs()
    ]
    statuses = [
        StatusFact(id=s.id, context=s.context, state=s.state, description=s.description)
        for s in commit.get_statuses()
    ]
    reviews = [
        ReviewFact(id=r.id, user=r.user.login if r.user else "", state=r.state, commit_id=r.commit_id)
        for r in pull.get_reviews()
    ]
    return _snapshot(pull, pr, repo.compare(pull.base.ref, head).behind_by, suites, runs, statuses, reviews)


def _snapshot(
    pull: PullRequest,
    pr: PRRef,
    behind_by: int = 0,
    suites: list[CheckSuiteFact] | None = None,
    runs: list[CheckRunFact] | None = None,
    statuses: list[StatusFact] | None = None,
    reviews: list[ReviewFact] | None = None,
) -> PRSnapshot:
    return PRSnapshot(
        pr=pr,
        behind_by=behind_by,
        state=pull.state,
        merged=pull.merged,
        merge_commit_sha=pull.merge_commit_sha,
        closed_at=pull.raw_data.get("closed_at"),
        draft=bool(pull.draft),
        author=pull.user.login,
        title=pull.title or "",
        html_url=pull.html_url,
        head_sha=pull.head.sha,
        head_ref=pull.head.ref,
        base_ref=pull.base.ref,
        mergeable=pull.mergeable,
        mergeable_state=pull.mergeable_state or "unknown",
        labels=[label.name for label in pull.labels],
        check_suites=suites or [],
        check_runs=runs or [],
        statuses=statuses or [],
        reviews=reviews or [],
        fetched_at=datetime.now(UTC),
    )


@defn(name="github.fetch_snapshot")
def fetch_snapshot(pr: PRRef) -> PRSnapshot:
    """Read the PR's live state: head, mergeability, check suites and runs, statuses, reviews, labels.

    A merged or closed PR is read once: what a check decides on it (it ended) needs nothing more."""
    repo = _repo(pr)
    with github_errors(f"reading {pr.key}", pr.repo):
        pull = repo.get_pull(pr.number)
        if pull.state != "open":
            return _snapshot(pull, pr)
        return read_snapshot(repo, pull, pr)


def _retried() -> bool:
    """A retry of the activity (an earlier attempt may have done its write before it died)."""
    return activity.in_activity() and activity.info().attempt > 1


def _ended(pull: PullRequest) -> StrategyResult:
    """Nothing to do: the PR was merged or closed."""
    return StrategyResult(ok=True, noop=True, detail=f"the PR is {'merged' if pull.merged else 'closed'}")


def _base_merged_into(repo: Repository, head: str, before: str) -> bool:
    """`head` is a merge commit on top of `before`: what `update-branch` makes of a head `before`."""
    parents = [parent.sha for parent in repo.get_commit(head).parents]
    return len(parents) == 2 and parents[0] == before


@defn(name="github.update_branch")
def update_branch(args: StrategyArgs) -> StrategyResult:
    """Bring the head up to date with the base (no-op when it is); never while checks run."""
    repo = _writer(args.pr, f"updating {args.pr.key}")
    with github_errors(f"updating {args.pr.key}", args.pr.repo):
        pull = repo.get_pull(args.pr.number)
        if pull.state != "open":  # merged or closed meanwhile: GitHub would refuse (422)
            return _ended(pull)
        if args.head_sha and pull.head.sha != args.head_sha:
            if _retried() and _base_merged_into(repo, pull.head.sha, args.head_sha):
                # The attempt the worker died in had updated it: journaled as what GitHub shows.
                return StrategyResult(
                    ok=True, detail=f"updated (found after a retry): head {pull.head.sha[:12]}"
                )
            return StrategyResult(ok=True, noop=True, detail=f"head already moved to {pull.head.sha[:12]}")
        snapshot = read_snapshot(repo, pull, args.pr)
        behind = snapshot.behind_by
        if behind == 0:
            return StrategyResult(ok=True, noop=True, detail="already up to date")
        if snapshot.checks_pending:
            return StrategyResult(ok=False, detail="refused: checks are running")
        if not pull.update_branch(expected_head_sha=pull.head.sha):
            if (now := repo.get_pull(args.pr.number)).state != "open":  # merged or closed meanwhile
                return _ended(now)
            if repo.archived:  # PyGithub hides the 403: a failure of this repository alone, not of GitHub
                raise ApplicationError(
                    f"updating {args.pr.key}: GitHub refused: the repository is archived",
                    type="GitHubRepoUnavailable",
                    non_retryable=True,
                )
            return StrategyResult(ok=False, detail="GitHub refused to update the branch")
        return StrategyResult(ok=True, detail=f"updated; was {behind} commit(s) behind")


@defn(name="github.rebuild")
def rebuild(args: StrategyArgs) -> StrategyResult:
    """Re-run failed checks: failed Actions jobs, else re-request the suite; rebuild hooks for other CI."""
    settings = get_settings()
    repo = _writer(args.pr, f"rebuilding {args.pr.key}")
    with github_errors(f"rebuilding {args.pr.key}", args.pr.repo):
        pull = repo.get_pull(args.pr.number)
        snapshot = read_snapshot(repo, pull, args.pr)
        if snapshot.checks_pending:
            return StrategyResult(ok=False, detail="refused: checks are running")
        failed = snapshot.failed_runs
        if not failed:
            return StrategyResult(ok=True, noop=True, detail="no failed checks")
        done: list[str] = []
        for suite_id in sorted({r.suite_id for r in failed if r.suite_id is not None}):
            # A workflow run has its own id: find it from its check suite (none: not GitHub Actions).
            run = next(iter(repo.get_workflow_runs(check_suite_id=suite_id)), None)
            if run is not None:
                run.rerun_failed_jobs()
                done.append(f"re-ran failed jobs of run {run.id}")
            else:
                repo.get_check_suite(suite_id).rerequest()
                done.append(f"re-requested check suite {suite_id}")
        for hook in settings.config.remediation.rebuild_hooks:
            if any(r.name == hook.context for r in failed):
                body = {"repository": args.pr.repo, "pull_request": args.pr.number, "sha": snapshot.head_sha}
                httpx.post(hook.url, json=body | {"context": hook.context}, timeout=10).raise_for_status()
                done.append(f"called the rebuild hook for {hook.context}")
        return StrategyResult(ok=bool(done), detail="; ".join(done) or "nothing could be re-run")


def _commented_since(issue: Any, body: str, since: datetime) -> bool:
    """True when `body` was already posted at or after `since` (a retried nudge after a crash)."""
    since = aware(since)
    for comment in issue.get_comments(since=since):
        if (
            aware(comment.created_at) >= since - timedelta(seconds=1)
            and (comment.body or "").strip() == body.strip()
        ):
            return True
    return False


@defn(name="github.retrigger_bot")
def retrigger_bot(args: BotArgs) -> StrategyResult:
    """Nudge a helper bot by its configured mechanism: toggle a label, post a comment, or call its API."""
    mechanism = get_settings().config.remediation.bots[args.bot]
    repo = _writer(args.pr, f"re-triggering the {args.bot} bot on {args.pr.key}")
    with github_errors(f"re-triggering the {args.bot} bot on {args.pr.key}", args.pr.repo):
        issue = repo.get_issue(args.pr.number)
        if mechanism.kind == "label":
            assert mechanism.label
            present = any(label.name == mechanism.label for label in issue.labels)
            if present and _retried():
                # A retry (the worker died, GitHub failed) finds the label: the earlier attempt's add
                # applied, or its removal did not and the bot saw that label; a nudge missed this way
                # is nudged again when the expected effect does not come, never twice at once.
                return StrategyResult(ok=True, detail=f"label {mechanism.label!r} found after a retry")
            if present:
                issue.remove_from_labels(mechanism.label)
            issue.add_to_labels(mechanism.label)
            return StrategyResult(ok=True, detail=f"toggled label {mechanism.label!r}")
        if mechanism.kind == "comment":
            assert mechanism.comment
            if args.since and _commented_since(issue, mechanism.comment, args.since):
                return StrategyResult(
                    ok=True, detail=f"commented {mechanism.comment!r} (found after a retry)"
                )
            issue.create_comment(mechanism.comment)
            return StrategyResult(ok=True, detail=f"commented {mechanism.comment!r}")
        assert mechanism.url
        httpx.post(
            mechanism.url, json={"repository": args.pr.repo, "pull_request": args.pr.number}, timeout=10
        )
        return StrategyResult(ok=True, detail=f"called {args.bot} bot API")


@defn(name="github.merge")
def merge(args: StrategyArgs) -> StrategyResult:
    """Merge exactly once and only green: read back first, require the expected head, never while pending."""
    repo = _writer(args.pr, f"merging {args.pr.key}")
    with github_errors(f"merging {args.pr.key}", args.pr.repo):
        pull = repo.get_pull(args.pr.number)
        if pull.merged:
            merger = pull.merged_by.login if pull.merged_by else None
            if _retried() and merger == get_settings().config.bots.mender_login:
                # The attempt the worker died in had merged it: journaled as what GitHub shows.
                return StrategyResult(ok=True, detail="merged (found after a retry)")
            return StrategyResult(ok=True, noop=True, detail="already merged")
        if pull.state != "open":
            return StrategyResult(ok=False, detail="refused: the PR is closed")
        if args.head_sha and pull.head.sha != args.head_sha:
            return StrategyResult(ok=False, detail=f"refused: head moved to {pull.head.sha[:12]}")
        snapshot = read_snapshot(repo, pull, args.pr)
        if snapshot.checks_pending or snapshot.failed_runs or snapshot.approval() is None:
            return StrategyResult(
                ok=False, detail="refused: checks are not all green or the head is not approved"
            )
        try:
            status = pull.merge(sha=pull.head.sha, merge_method="squash")
        except GithubException as exc:
            if exc.status < 500 and exception_delay(exc) is None:  # a rate limit is retried, not a refusal
                return StrategyResult(ok=False, detail=f"GitHub refused the merge ({exc.status})")
            # The merge may have happened: read back before anyone retries.
            if repo.get_pull(args.pr.number).merged:
                return StrategyResult(ok=True, detail="merged (confirmed after a server error)")
            raise
        return StrategyResult(ok=bool(status.merged), detail=status.message or "merged")
