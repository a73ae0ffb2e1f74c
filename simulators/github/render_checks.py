"""JSON shapes of GitHub REST objects for CI and git: check suites/runs, workflow runs, statuses, commits.

Shapes follow the OpenAPI schemas `check-suite`, `check-run`, `status`, `combined-commit-status`,
`commit`, `branch-with-protection`, `git-ref` and `commit-comparison` (workflow runs and jobs:
`render_actions.py`).
"""

from __future__ import annotations

from urllib.parse import quote

from simulators.github.contents import Files
from simulators.github.diffs import file_changes
from simulators.github.model import CheckRun, CheckSuite, Commit, CommitStatus, Repo
from simulators.github.render import JSON, node_id, ts
from simulators.github.render_pulls import RenderPulls

CI_APP = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}


class RenderChecks(RenderPulls):
    """The full renderer: adds CI and git shapes to `RenderPulls`."""

    def app(self) -> JSON:
        owner = self.world.user("github")
        return {
            "id": CI_APP["id"],
            "slug": CI_APP["slug"],
            "node_id": node_id("Integration", CI_APP["id"]),
            "owner": self.user(owner),
            "name": CI_APP["name"],
            "description": "Automate your workflow from idea to production",
            "external_url": self.html("/features/actions"),
            "html_url": self.html("/apps/github-actions"),
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": {"checks": "write", "contents": "write", "metadata": "read", "statuses": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    def head_commit(self, repo: Repo, sha: str) -> JSON:
        commit = repo.commits.get(sha)
        author = {"name": commit.author if commit else "unknown", "email": "bot@users.noreply.sim"}
        return {
            "id": sha,
            "tree_id": commit.tree_sha if commit else sha,
            "message": commit.message if commit else "",
            "timestamp": ts(commit.timestamp) if commit else None,
            "author": author,
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        }

    def _pull_refs(self, repo: Repo, sha: str) -> list[JSON]:
        return [self.pull_ref(pr) for pr in self.world.open_prs_for_head(repo, sha)]

    def check_suite(self, repo: Repo, suite: CheckSuite, minimal: bool = False) -> JSON:
        url = f"{self.repo_api(repo.full_name)}/check-suites/{suite.id}"
        data: JSON = {
            "id": suite.id,
            "node_id": node_id("CheckSuite", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": url,
            "before": suite.before,
            "after": suite.head_sha,
            "pull_requests": self._pull_refs(repo, suite.head_sha),
            "app": self.app(),
            "created_at": ts(suite.created_at),
            "updated_at": ts(suite.updated_at),
        }
        if minimal:
            return data
        data.update(
            {
                "latest_check_runs_count": len(suite.runs),
                "check_runs_url": f"{url}/check-runs",
                "rerequestable": True,
                "runs_rerequestable": True,
                "head_commit": self.head_commit(repo, suite.head_sha),
                "repository": self.repo(repo),
            }
        )
        return data

    def check_run(self, repo: Repo, run: CheckRun, webhook: bool = False) -> JSON:
        """A check run; its `check_suite` is `{id}` over REST and a suite summary in webhooks, as on GitHub."""
        repo_url = self.repo_api(repo.full_name)
        suite = repo.suites[run.suite_id]
        html_url = self.html(f"/{repo.full_name}/actions/runs/{suite.run_id}/job/{run.id}")
        return {
            "id": run.id,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": "",
            "url": f"{repo_url}/check-runs/{run.id}",
            "html_url": html_url,
            "details_url": html_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": ts(run.started_at),
            "completed_at": ts(run.completed_at),
            "output": {
                "title": run.output_title,
                "summary": run.output_summary,
                "text": run.output_text,
                "annotations_count": 0,
                "annotations_url": f"{repo_url}/check-runs/{run.id}/annotations",
            },
            "name": run.name,
            "check_suite": self.check_suite(repo, suite, minimal=True) if webhook else {"id": suite.id},
            "app": self.app(),
            "pull_requests": self._pull_refs(repo, run.head_sha),
        }

    def status(self, repo: Repo, status: CommitStatus) -> JSON:
        return {
            "url": f"{self.repo_api(repo.full_name)}/statuses/{status.sha}",
            "avatar_url": self.api(f"/avatars/u/{status.creator.id}"),
            "id": status.id,
            "node_id": node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": ts(status.created_at),
            "updated_at": ts(status.created_at),
            "creator": self.user(status.creator),
        }

    def combined_status(self, repo: Repo, sha: str) -> JSON:
        statuses = self.world.latest_statuses(repo, sha)
        url = f"{self.repo_api(repo.full_name)}/commits/{sha}"
        return {
            "state": self.world.combined_state(s.state for s in statuses),
            "statuses": [self.status(repo, s) for s in statuses],
            "sha": sha,
            "total_count": len(statuses),
            "repository": self.repo(repo),
            "commit_url": url,
            "url": f"{url}/status",
        }

    def commit(self, repo: Repo, commit: Commit, with_files: bool = False) -> JSON:
        """A commit; `with_files` lists its changes against its first parent (`GET /commits/{sha}`)."""
        repo_url = self.repo_api(repo.full_name)
        files: list[JSON] = []
        if with_files:
            parent = repo.commits[commit.parents[0]].files if commit.parents else {}
            files = self._changes(repo, parent, commit.files, commit.sha)
        url = f"{repo_url}/commits/{commit.sha}"
        person = {"name": commit.author, "email": "bot@users.noreply.sim", "date": ts(commit.timestamp)}
        author = self.user(self.world.user(commit.author))
        return {
            "url": url,
            "sha": commit.sha,
            "node_id": node_id("Commit", commit.sha[:12]),
            "html_url": self.html(f"/{repo.full_name}/commit/{commit.sha}"),
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{repo_url}/git/commits/{commit.sha}",
                "author": person,
                "committer": {**person, "name": "GitHub", "email": "noreply@github.com"},
                "message": commit.message,
                "tree": {"sha": commit.tree_sha, "url": f"{repo_url}/git/trees/{commit.tree_sha}"},
                "comment_count": 0,
                "verification": verification(commit),
            },
            "author": author,
            "committer": author,
            "parents": [
                {
                    "sha": p,
                    "url": f"{repo_url}/commits/{p}",
                    "html_url": self.html(f"/{repo.full_name}/commit/{p}"),
                }
                for p in commit.parents
            ],
            "stats": _stats(files) if with_files else {"total": 4, "additions": 2, "deletions": 2},
            "files": files,
        }

    def _changes(self, repo: Repo, base: Files, head: Files, head_sha: str) -> list[JSON]:
        html = self.html(f"/{repo.full_name}")
        return file_changes(base, head, html, self.repo_api(repo.full_name), head_sha)

    def branch(self, repo: Repo, name: str) -> JSON:
        repo_url = self.repo_api(repo.full_name)
        url = f"{repo_url}/branches/{quote(name, safe='')}"
        protected = name == repo.default_branch
        return {
            "name": name,
            "commit": self.commit(repo, repo.commits[repo.branches[name]]),
            "_links": {"self": url, "html": self.html(f"/{repo.full_name}/tree/{name}")},
            "protected": protected,
            "protection": {"enabled": protected, "required_status_checks": {"contexts": [], "checks": []}},
            "protection_url": f"{url}/protection",
        }

    def git_ref(self, repo: Repo, name: str) -> JSON:
        repo_url = self.repo_api(repo.full_name)
        sha = repo.branches[name]
        return {
            "ref": f"refs/heads/{name}",
            "node_id": node_id("Ref", f"{repo.id}:{name}"),
            "url": f"{repo_url}/git/refs/heads/{name}",
            "object": {"sha": sha, "type": "commit", "url": f"{repo_url}/git/commits/{sha}"},
        }

    def comparison(self, repo: Repo, base: str, head: str, base_sha: str, head_sha: str) -> JSON:
        ahead, behind, only_head, merge_base = self.world.compare(repo, base_sha, head_sha)
        kinds = {(True, True): "diverged", (True, False): "ahead", (False, True): "behind"}
        status = kinds.get((ahead > 0, behind > 0), "identical")
        repo_url = self.repo_api(repo.full_name)
        html_url = self.html(f"/{repo.full_name}/compare/{base}...{head}")
        return {
            "url": f"{repo_url}/compare/{base}...{head}",
            "html_url": html_url,
            "permalink_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
            "base_commit": self.commit(repo, repo.commits[base_sha]),
            "merge_base_commit": self.commit(repo, repo.commits[merge_base]),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": [self.commit(repo, repo.commits[sha]) for sha in only_head],
            "files": self._changes(
                repo, repo.commits[merge_base].files, repo.commits[head_sha].files, head_sha
            ),
        }


def verification(commit: Commit) -> JSON:
    """A commit's `verification`: commits made through the API are signed by GitHub (web-flow)."""
    if not commit.verified:
        return {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        }
    payload = f"tree {commit.tree_sha}\n" + "".join(f"parent {p}\n" for p in commit.parents)
    payload += f"author {commit.author}\ncommitter GitHub <noreply@github.com>\n\n{commit.message}"
    return {
        "verified": True,
        "reason": "valid",
        "signature": "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJsimulated\n-----END PGP SIGNATURE-----\n",
        "payload": payload,
        "verified_at": ts(commit.timestamp),
    }


def _stats(files: list[JSON]) -> JSON:
    additions, deletions = sum(f["additions"] for f in files), sum(f["deletions"] for f in files)
    return {"total": additions + deletions, "additions": additions, "deletions": deletions}
