"""Read the configured repositories' bot PRs from GitHub (PyGithub) for a baseline before Mender ran."""

from __future__ import annotations

import logging
from collections.abc import Callable

from github import Github
from github.GithubException import GithubException

from domain.config import MenderConfig
from domain.reports.github_baseline import from_github, severity_of
from domain.reports.history import PRHistory
from domain.reports.success import Window
from domain.shared.times import utc_or_none

log = logging.getLogger("mender.reports.github")


def _is_bot(login: str | None, config: MenderConfig) -> bool:
    if not login:
        return True  # an unknown author is not evidence of a human
    bots = config.bots
    known = {*bots.authors, bots.policy_login, bots.approver_login, bots.automerge_login, bots.mender_login}
    return login in known or login.endswith("[bot]")


def bot_pr_histories(
    client_for: Callable[[str], Github], config: MenderConfig, window: Window, max_prs: int = 500
) -> list[PRHistory]:
    """Bot PRs opened in `window` in every configured repository, newest first, at most `max_prs`.

    `client_for(repo)` gives the PyGithub client for a repository (App installations differ per repo).
    """
    found: list[PRHistory] = []
    stale_after = config.reports.history_stale_after_hours
    for name in (r.name for r in config.repositories):
        try:
            repo = client_for(name).get_repo(name)
            for pull in repo.get_pulls(state="all", sort="created", direction="desc"):
                opened = utc_or_none(pull.created_at)
                if opened is None or opened >= window.end:
                    continue
                if opened < window.start or len(found) >= max_prs:
                    break
                if not config.bots.tracks(pull.user.login, pull.head.ref):
                    continue
                commits = [
                    utc_or_none(c.commit.author.date)
                    for c in pull.get_commits()
                    if not _is_bot(c.author.login if c.author else None, config)
                ]
                comments = [
                    utc_or_none(c.created_at)
                    for c in pull.get_issue_comments()
                    if not _is_bot(c.user.login, config)
                ]
                found.append(
                    from_github(
                        f"{name}#{pull.number}",
                        name,
                        opened,
                        utc_or_none(pull.merged_at),
                        utc_or_none(pull.closed_at),
                        [c for c in commits if c],
                        [c for c in comments if c],
                        severity_of([label.name for label in pull.labels], pull.title or ""),
                        window.end,
                        stale_after,
                    )
                )
        except GithubException as exc:
            log.warning("baseline: %s could not be read from GitHub: %s", name, exc.status)
            raise
    return found
