"""JSON shapes of pull requests and their issue side: `pull-request`, `issue`, `issue-comment`, reviews."""

from __future__ import annotations

from simulators.github.model import Comment, Issue, PullRequest, Review
from simulators.github.render import JSON, Render, node_id, ts

# Fields GitHub computes for a single pull request only (`pull-request` minus `pull-request-simple`).
FULL_ONLY = frozenset(
    {
        "additions",
        "changed_files",
        "comments",
        "commits",
        "deletions",
        "maintainer_can_modify",
        "mergeable",
        "mergeable_state",
        "merged",
        "merged_by",
        "rebaseable",
        "review_comments",
    }
)


def reactions(url: str) -> JSON:
    counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
    return {"url": f"{url}/reactions", "total_count": 0, **counts}


class RenderPulls(Render):
    """Adds pull request shapes to `Render`."""

    def _branch_side(self, pr: PullRequest, side: str) -> JSON:
        repo = self.world.repos[pr.repo]
        if side == "head":
            ref, sha = pr.head_ref, pr.head_sha
        else:
            ref = pr.base_ref
            sha = repo.branches.get(ref, pr.base_sha) if pr.state == "open" else pr.base_sha
        owner = self.world.user(repo.owner)
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(owner),
            "repo": self.repo(repo),
        }

    def pull(self, pr: PullRequest) -> JSON:
        """The REST `pull-request` object (also the `pull_request` of webhook bodies)."""
        repo_url = self.repo_api(pr.repo)
        url = f"{repo_url}/pulls/{pr.number}"
        issue_url = f"{repo_url}/issues/{pr.number}"
        html_url = self.html(f"/{pr.repo}/pull/{pr.number}")
        statuses_url = f"{repo_url}/statuses/{pr.head_sha}"
        pending = self.world.mergeability_pending(pr)
        return {
            "url": url,
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
            "issue_url": issue_url,
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.user(pr.user),
            "body": pr.body,
            "created_at": ts(pr.created_at),
            "updated_at": ts(pr.updated_at),
            "closed_at": ts(pr.closed_at),
            "merged_at": ts(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self.label(pr.repo, label) for label in pr.labels],
            "milestone": None,
            "draft": pr.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses_url,
            "head": self._branch_side(pr, "head"),
            "base": self._branch_side(pr, "base"),
            "_links": {
                "self": {"href": url},
                "html": {"href": html_url},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{repo_url}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses_url},
            },
            "author_association": "CONTRIBUTOR",
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": pr.merged,
            # null/unknown while GitHub computes them in the background after a push (see World)
            "mergeable": None if pending else self.world.mergeable(pr),
            "rebaseable": None if pending else self.world.mergeable(pr),
            "mergeable_state": "unknown" if pending else self.world.mergeable_state(pr),
            "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
            "comments": len(pr.comments),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": len(pr.shas),
            "additions": 1,  # a bot PR pins one line of one file (see `GET .../files`)
            "deletions": 1,
            "changed_files": 1,
        }

    def pull_simple(self, pr: PullRequest) -> JSON:
        """A list item (`pull-request-simple`): no mergeability, merge state or counts, as on GitHub."""
        full = self.pull(pr)
        return {key: value for key, value in full.items() if key not in FULL_ONLY}

    def pull_ref(self, pr: PullRequest) -> JSON:
        """The short PR reference inside check suites and check runs."""
        repo = self.world.repos[pr.repo]
        mini = {"id": repo.id, "url": self.repo_api(pr.repo), "name": repo.name}
        base_sha = repo.branches.get(pr.base_ref, pr.base_sha)
        return {
            "url": f"{self.repo_api(pr.repo)}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": mini},
            "base": {"ref": pr.base_ref, "sha": base_sha, "repo": mini},
        }

    def issue(self, pr: PullRequest) -> JSON:
        """A pull request seen through the Issues API."""
        data = self.pull(pr)
        repo_url = self.repo_api(pr.repo)
        keep = ("id", "node_id", "number", "title", "user", "labels", "state", "locked", "assignee")
        issue = {key: data[key] for key in keep}
        issue.update(
            {
                "url": data["issue_url"],
                "repository_url": repo_url,
                "labels_url": f"{data['issue_url']}/labels{{/name}}",
                "comments_url": data["comments_url"],
                "events_url": f"{data['issue_url']}/events",
                "html_url": data["html_url"],
                "assignees": [],
                "milestone": None,
                "comments": len(pr.comments),
                "created_at": data["created_at"],
                "updated_at": data["updated_at"],
                "closed_at": data["closed_at"],
                "author_association": "CONTRIBUTOR",
                "state_reason": "completed" if pr.state == "closed" else None,
                "active_lock_reason": None,
                "draft": pr.draft,
                "reactions": reactions(data["issue_url"]),
                "body": pr.body,
                "pull_request": {
                    "url": data["url"],
                    "html_url": data["html_url"],
                    "diff_url": data["diff_url"],
                    "patch_url": data["patch_url"],
                    "merged_at": data["merged_at"],
                },
            }
        )
        return issue

    def comment(self, pr: PullRequest | Issue, comment: Comment) -> JSON:
        """An issue comment on a pull request or a plain issue."""
        repo_url = self.repo_api(pr.repo)
        kind = "pull" if isinstance(pr, PullRequest) else "issues"
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{repo_url}/issues/comments/{comment.id}",
            "html_url": self.html(f"/{pr.repo}/{kind}/{pr.number}#issuecomment-{comment.id}"),
            "issue_url": f"{repo_url}/issues/{pr.number}",
            "user": self.user(comment.user),
            "body": comment.body,
            "created_at": ts(comment.created_at),
            "updated_at": ts(comment.created_at),
            "author_association": "NONE",
            "performed_via_github_app": None,
            "reactions": reactions(f"{repo_url}/issues/comments/{comment.id}"),
        }

    def review(self, pr: PullRequest, review: Review, webhook: bool = False) -> JSON:
        """REST reviews have upper-case states (APPROVED); webhook bodies use lower case (approved)."""
        pull_url = f"{self.repo_api(pr.repo)}/pulls/{pr.number}"
        html_url = self.html(f"/{pr.repo}/pull/{pr.number}#pullrequestreview-{review.id}")
        return {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "commit_id": review.commit_id,
            "submitted_at": ts(review.submitted_at),
            "state": review.state.lower() if webhook else review.state,
            "html_url": html_url,
            "pull_request_url": pull_url,
            "author_association": "NONE",
            "_links": {"html": {"href": html_url}, "pull_request": {"href": pull_url}},
        }
