"""`mender doctor` and `GET /api/doctor`: can Mender do its work on each swept repository?

Per repository, through the real GitHub client and Mender's credentials: the token is valid and its rate
limit, the repository is reachable (and not archived), the access the remediations need (a token's role
on the repository or a classic token's scopes; an App installation's permissions), and the refusals the
activities met in the last day (a fine-grained token's missing permission shows only there), and the
sweeps backing off from it now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from github import Auth, GithubException, GithubIntegration

from activities.github import github_client
from activities.reconcile import swept_repos
from domain.shared.audit import AuditFilter
from domain.shared.github_access import (
    ACCESS_DENIED,
    AccessRefusal,
    DoctorReport,
    RepoProbe,
    SweepSkip,
    judge,
)
from runtime.settings import Settings
from store import audit, source_backoffs
from store.db import engine_for

REFUSALS_SINCE = timedelta(hours=24)


def _refused(exc: GithubException, what: str) -> str:
    message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
    if exc.status == 401:
        return f"{what}: bad credentials (401): check GITHUB_TOKEN or the App's key"
    if exc.status == 404:
        return f"{what}: not found (404): the repository does not exist or these credentials cannot see it"
    return f"{what}: GitHub answered {exc.status} {message}".rstrip()


def _installation(settings: Settings, name: str) -> dict[str, str]:
    app_id, key = settings.config.github.app_id, settings.github_app_key
    assert app_id is not None and key is not None
    integration = GithubIntegration(
        auth=Auth.AppAuth(app_id, key), base_url=settings.github_api_url, retry=None, timeout=15
    )
    owner, repo = name.split("/", 1)
    return dict(integration.get_repo_installation(owner, repo).permissions)


def probe(settings: Settings, name: str) -> RepoProbe:
    """What GitHub answers about `name` with Mender's credentials (never raises for GitHub's answers)."""
    found = RepoProbe(repository=name)
    app = settings.github_app_key is not None  # None without github.app_id
    try:
        client = github_client(settings, name)
        core = client.get_rate_limit().resources.core
        found.rate_remaining, found.rate_limit = core.remaining, core.limit
        repo = client.get_repo(name)  # lazy: read on first attribute
        found.archived = bool(repo.archived)
        if app:
            found.installation = _installation(settings, name)
        else:
            found.role = dict(repo.raw_data.get("permissions") or {}) or None
            found.scopes = client.oauth_scopes
    except GithubException as exc:
        found.error, found.error_status = _refused(exc, f"reading {name}"), exc.status
    except (httpx.HTTPError, OSError, ValueError) as exc:  # unreachable, or a bad App key
        found.error = f"reading {name}: {type(exc).__name__}: {str(exc)[:200]}"
    return found


def refusals(settings: Settings, name: str, now: datetime) -> list[AccessRefusal]:
    """The refusals activities recorded for `name` since `REFUSALS_SINCE`, newest first."""
    rows = audit.query(
        engine_for(settings.database_url),
        AuditFilter(action=ACCESS_DENIED, repository=name, since=now - REFUSALS_SINCE, limit=20),
    )
    return [
        AccessRefusal(
            at=row.at,
            status=int(row.details.get("status") or 0),
            permission=row.details.get("permission"),
            message=str(row.details.get("message") or ""),
            call=str(row.details.get("call") or ""),
        )
        for row in rows
    ]


def sweep_skips(settings: Settings, name: str) -> list[SweepSkip]:
    """The sweeps (reconciler, CI poller) backing off from `name` now (`store/source_backoffs.py`)."""
    return [
        SweepSkip(
            sweep=sweep.replace("ci.poll", "CI poller"),
            at=at,
            failures_in_a_row=state.failures,
            retry_at=state.retry_at,
            reason=state.reason,
        )
        for sweep, at, state in source_backoffs.of_repository(engine_for(settings.database_url), name)
    ]


def run_doctor(settings: Settings, repos: list[str] | None = None) -> DoctorReport:
    """Check every swept repository (or `repos`)."""
    now = datetime.now(UTC)
    names = swept_repos(settings) if repos is None else repos
    checked = [
        judge(probe(settings, name), refusals(settings, name, now), sweep_skips(settings, name))
        for name in names
    ]
    app = settings.github_app_key is not None  # None without github.app_id
    return DoctorReport(
        ok=all(d.status != "failed" for d in checked),
        checked_at=now,
        auth="app" if app else "token",
        repositories=checked,
    )


def render(report: DoctorReport) -> str:
    """The report for a terminal: one line per repository, its reasons indented below."""
    lines = [f"GitHub access ({report.auth}), checked {report.checked_at:%Y-%m-%d %H:%M:%S} UTC"]
    if not report.repositories:
        lines.append("  no repositories configured or installed")
    for repo in report.repositories:
        limit = (
            f"  rate limit {repo.rate_limit_remaining}/{repo.rate_limit}"
            if repo.rate_limit_remaining is not None
            else ""
        )
        lines.append(f"{repo.status.upper():8} {repo.repository}{limit}")
        lines.extend(f"         - {reason}" for reason in repo.reasons)
    lines.append(
        "ok" if report.ok else "problems found: Mender cannot do all its work on the repositories above"
    )
    return "\n".join(lines)
