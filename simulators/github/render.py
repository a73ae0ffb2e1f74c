"""JSON shapes of GitHub REST objects, built from the simulator's base URL: users, repos, labels here.

Shapes follow the OpenAPI schemas (`simple-user`, `repository`, `label`); every `url` field points
back at the simulator so that PyGithub can follow it. Pull request shapes are in `render_pulls.py`,
check, status and commit shapes in `render_checks.py`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote

from simulators.github.model import Label, Repo, User
from simulators.github.world import World

JSON = dict[str, Any]

_REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}


def ts(value: datetime | None) -> str | None:
    """GitHub timestamp format: 2019-05-15T15:20:33Z."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode()


class Render:
    """Renders world objects as GitHub JSON with every URL under `base_url`."""

    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.base = base_url.rstrip("/")
        self._repos: dict[str, JSON] = {}  # a Render lives for one response or payload: cache is safe

    def api(self, path: str) -> str:
        return f"{self.base}{path}"

    def repo_api(self, full_name: str) -> str:
        return f"{self.base}/repos/{full_name}"

    def html(self, path: str) -> str:
        return f"{self.base}{path}"

    def user(self, user: User) -> JSON:
        login = quote(user.login)
        url = self.api(f"/users/{login}")
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("User", user.id),
            "avatar_url": self.api(f"/avatars/u/{user.id}"),
            "gravatar_id": "",
            "url": url,
            "html_url": self.html(f"/{login}"),
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def repo(self, repo: Repo) -> JSON:
        if repo.full_name not in self._repos:
            self._repos[repo.full_name] = self._repo(repo)
        return dict(self._repos[repo.full_name])

    def _repo(self, repo: Repo) -> JSON:
        url = self.repo_api(repo.full_name)
        open_issues = sum(1 for item in [*repo.pulls.values(), *repo.issues.values()] if item.state == "open")
        data: JSON = {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self.user(self.world.user(repo.owner)),
            "html_url": self.html(f"/{repo.full_name}"),
            "description": None,
            "fork": False,
            "url": url,
        }
        data.update({key: url + suffix for key, suffix in _REPO_URLS.items()})
        data.update(
            {
                "created_at": ts(repo.created_at),
                "updated_at": ts(repo.created_at),
                "pushed_at": ts(repo.created_at),
                "git_url": f"git://sim/{repo.full_name}.git",
                "ssh_url": f"git@sim:{repo.full_name}.git",
                "clone_url": self.html(f"/{repo.full_name}.git"),
                "svn_url": self.html(f"/{repo.full_name}"),
                "homepage": None,
                "size": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "language": "Python",
                "has_issues": True,
                "has_discussions": False,
                "has_projects": False,
                "has_downloads": True,
                "has_wiki": False,
                "has_pages": False,
                "forks_count": 0,
                "mirror_url": None,
                "archived": repo.archived,
                "disabled": False,
                "open_issues_count": open_issues,
                "license": None,
                "allow_forking": True,
                "is_template": False,
                "topics": [],
                "visibility": "public",
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 0,
                "default_branch": repo.default_branch,
                "allow_merge_commit": True,
                "allow_squash_merge": True,
                "allow_rebase_merge": True,
                "delete_branch_on_merge": False,
                "web_commit_signoff_required": False,
                "custom_properties": {},
                "permissions": {
                    "admin": False,
                    "maintain": False,
                    "push": True,
                    "triage": True,
                    "pull": True,
                },
            }
        )
        return data

    def label(self, repo_name: str, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api(repo_name)}/labels/{quote(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }
