"""The GitLab simulator's repositories: branches with their files, and commits made of file actions.

`RepositoryFiles` changes a `GitLabState`; its methods take the lock.
"""

from __future__ import annotations

from simulators.gitlab.model import GitLabError, Project, fake_sha
from simulators.gitlab.repo_model import Branch, Commit
from simulators.gitlab.state import GitLabState

FILE_ACTIONS = ("create", "update", "delete")


class RepositoryFiles:
    """Branches (the default one exists from the start), files and commits of the state's projects."""

    def __init__(self, state: GitLabState) -> None:
        self.state = state

    # --- branches, files, commits ---------------------------------------------------------------

    def branches(self, project_ref: str | int) -> dict[str, Branch]:
        """The project's branches; its default branch exists from the start (empty)."""
        proj = self.state.project(project_ref)
        if proj.default_branch not in proj.branches:
            root = Commit(fake_sha(proj.path, "root"), "Initial commit", "Initial commit", [])
            proj.branches[proj.default_branch] = Branch(proj.default_branch, root)
        return proj.branches

    def branch(self, project_ref: str | int, name: str) -> Branch:
        with self.state.lock:
            found = self.branches(project_ref).get(name)
            if found is None:
                raise GitLabError(404, "404 Branch Not Found")
            return found

    def create_branch(self, project_ref: str | int, name: str, ref: str) -> Branch:
        with self.state.lock:
            branches = self.branches(project_ref)
            if not name.strip() or name.startswith("-") or ".." in name:
                raise GitLabError(400, "Branch name is invalid")
            if name in branches:
                raise GitLabError(400, "Branch already exists")
            base = self._resolve(branches, ref)
            branches[name] = Branch(name, base.commit, dict(base.files))
            return branches[name]

    def delete_branch(self, project_ref: str | int, name: str) -> None:
        with self.state.lock:
            proj, branches = self.state.project(project_ref), self.branches(project_ref)
            if name not in branches:
                raise GitLabError(404, "404 Branch Not Found")
            if name == proj.default_branch:
                raise GitLabError(405, "405 Method Not Allowed")
            del branches[name]

    def _resolve(self, branches: dict[str, Branch], ref: str) -> Branch:
        found = branches.get(ref) or next((b for b in branches.values() if b.commit.id == ref), None)
        if found is None:
            raise GitLabError(400, "Invalid reference name")
        return found

    def read_file(self, project_ref: str | int, path: str, ref: str | None) -> tuple[Branch, str]:
        with self.state.lock:
            proj = self.state.project(project_ref)
            branches = self.branches(project_ref)
            found = self._resolve(branches, ref or proj.default_branch)
            if path not in found.files:
                raise GitLabError(404, "404 File Not Found")
            return found, found.files[path]

    def commit(
        self,
        project_ref: str | int,
        branch: str,
        message: str,
        actions: list[dict[str, object]],
        start_branch: str | None = None,
    ) -> Commit:
        """`POST /repository/commits`: apply `actions` (create/update/delete a file) as one commit."""
        if not message.strip():
            raise GitLabError(400, "commit_message is missing")
        if not actions:
            raise GitLabError(400, "actions is missing")
        with self.state.lock:
            branches = self.branches(project_ref)
            if branch not in branches:
                if not start_branch:
                    raise GitLabError(400, "You can only create or edit files when you are on a branch")
                self.create_branch(project_ref, branch, start_branch)
            target = branches[branch]
            files = dict(target.files)
            for action in actions:
                kind, path = action.get("action"), action.get("file_path")
                if kind not in FILE_ACTIONS or not isinstance(path, str) or not path.strip("/"):
                    raise GitLabError(400, "actions is invalid")
                if kind == "create" and path in files:
                    raise GitLabError(400, f"A file with this name already exists: {path}")
                if kind != "create" and path not in files:
                    raise GitLabError(400, f"A file with this name doesn't exist: {path}")
                if kind == "delete":
                    del files[path]
                else:
                    files[path] = str(action.get("content") or "")
            sha = fake_sha(target.commit.id, message, sorted(files.items()))
            title = message.strip().splitlines()[0]
            target.commit, target.files = Commit(sha, title, message, [target.commit.id]), files
            self.on_push(self.state.project(project_ref), branch)
            return target.commit

    def on_push(self, proj: Project, branch: str) -> None:
        """A commit landed on `branch` (subclasses start pipelines)."""
