"""The GitLab simulator's repositories: branches with their files, and commits made of file actions.

Every commit keeps its tree and its parents (`Project.commits`), so a branch has a history
(`history`), a commit can be read (`get_commit`) and reverted onto a branch (`revert`, as
`POST /repository/commits/:sha/revert`: the changes of the commit against its first parent undone;
400 `error_code: conflict` when the branch no longer holds what the commit wrote, `empty` when it
changed nothing). `RepositoryFiles` changes a `GitLabState`; its methods take the lock.
"""

from __future__ import annotations

from simulators.gitlab.model import GitLabError, Project, fake_sha
from simulators.gitlab.repo_model import Branch, Commit
from simulators.gitlab.state import GitLabState

FILE_ACTIONS = ("create", "update", "delete")
CANNOT_REVERT = (
    "Sorry, we cannot revert this commit automatically. This commit may already have been reverted, "
    "or a more recent commit may have updated some of its content."
)
MAX_HISTORY = 1000


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
            proj.commits[root.id] = root
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

    def _resolve(self, branches: dict[str, Branch], ref: str, proj: Project | None = None) -> Branch:
        """A branch by name or head sha; any earlier commit of `proj` reads as a detached branch."""
        found = branches.get(ref) or next((b for b in branches.values() if b.commit.id == ref), None)
        if found is None and proj is not None and (old := proj.commits.get(ref)) is not None:
            found = Branch(ref, old, dict(old.files))
        if found is None:
            raise GitLabError(400, "Invalid reference name")
        return found

    def read_file(self, project_ref: str | int, path: str, ref: str | None) -> tuple[Branch, str]:
        with self.state.lock:
            proj = self.state.project(project_ref)
            branches = self.branches(project_ref)
            found = self._resolve(branches, ref or proj.default_branch, proj)
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
            return self.advance(self.state.project(project_ref), target, message, files)

    def advance(self, proj: Project, target: Branch, message: str, files: dict[str, str]) -> Commit:
        """A new commit of `files` on `target` (parent: its head), recorded and pushed (lock held)."""
        sha = fake_sha(target.commit.id, message, sorted(files.items()))
        title = message.strip().splitlines()[0]
        made = Commit(sha, title, message, [target.commit.id], files=files)
        proj.commits[sha] = made
        target.commit, target.files = made, files
        self.on_push(proj, target.name)
        return made

    def get_commit(self, project_ref: str | int, sha: str) -> Commit:
        """A commit by its sha (or a branch name: its head), 404 when unknown."""
        with self.state.lock:
            proj, branches = self.state.project(project_ref), self.branches(project_ref)
            found = proj.commits.get(sha) or (branches[sha].commit if sha in branches else None)
            if found is None:
                raise GitLabError(404, "404 Commit Not Found")
            return found

    def history(self, project_ref: str | int, ref: str | None = None) -> list[Commit]:
        """The commits reachable from `ref` (default branch when None), newest first."""
        with self.state.lock:
            proj = self.state.project(project_ref)
            head: Commit | None = self.get_commit(project_ref, ref or proj.default_branch)
            seen: dict[str, Commit] = {}
            todo = [head]
            while todo and len(seen) < MAX_HISTORY:
                c = todo.pop()
                if c is None or c.id in seen:
                    continue
                seen[c.id] = c
                todo.extend(proj.commits.get(p) for p in c.parent_ids)
            return sorted(seen.values(), key=lambda c: c.created_at, reverse=True)

    def revert(self, project_ref: str | int, sha: str, branch: str) -> Commit:
        """Undo `sha`'s changes (against its first parent) on `branch` as a new commit."""
        with self.state.lock:
            proj = self.state.project(project_ref)
            target = self.branches(project_ref).get(branch)
            if target is None:
                raise GitLabError(404, "404 Branch Not Found")
            commit = self.get_commit(project_ref, sha)
            parent = proj.commits.get(commit.parent_ids[0]) if commit.parent_ids else None
            before = parent.files if parent is not None else {}
            changed = [p for p in sorted({*before, *commit.files}) if before.get(p) != commit.files.get(p)]
            if not changed:
                raise GitLabError(400, CANNOT_REVERT, "empty")
            if any(target.files.get(p) != commit.files.get(p) for p in changed):
                raise GitLabError(400, CANNOT_REVERT, "conflict")
            files = {p: t for p, t in target.files.items() if p not in changed}
            files.update({p: before[p] for p in changed if p in before})
            message = f'Revert "{commit.title}"\n\nThis reverts commit {commit.id}'
            return self.advance(proj, target, message, files)

    def on_push(self, proj: Project, branch: str) -> None:
        """A commit landed on `branch` (subclasses start pipelines)."""
