"""Branch operations and the webhooks of a push: `push`, `create` and `delete`, as GitHub sends them.

Every branch move of the world goes through `_pushed` (one `push` webhook), new branches through
`create_branch` and deleted ones through `_branch_deleted`. A push event also reaches the listeners:
the Actions engine runs push workflows on `mender/ci-fix/` branches (`workflows=False` keeps a head
moved by update-branch or a bot's rebase to its pull_request run, as the simulator always did).
"""

from __future__ import annotations

from simulators.github.model import Repo, SimEvent, User
from simulators.github.ops_ci import CIOps

ZERO_SHA = "0" * 40


class GitOps(CIOps):
    def _pushed(
        self,
        repo: Repo,
        branch: str,
        before: str,
        after: str,
        sender: User,
        *,
        created: bool = False,
        deleted: bool = False,
        workflows: bool = True,
    ) -> None:
        body = self.state.payloads.push(repo, branch, before, after, sender, created=created, deleted=deleted)
        data = {"ref": branch, "before": before, "after": after, "sender": sender, "workflows": workflows}
        self._emit(SimEvent("push", None, repo, None, data=data), body)

    def create_branch(self, repo: Repo, name: str, sha: str, sender: User) -> None:
        """A new branch at `sha`: `create`, then a `push` with `created: true`."""
        self.world.set_branch(repo, name, sha)
        body = self.state.payloads.ref_event("create", repo, name, sender)
        self._emit(SimEvent("create", None, repo, None, data={"ref": name}), body)
        self._pushed(repo, name, ZERO_SHA, sha, sender, created=True, workflows=False)

    def _branch_deleted(self, repo: Repo, name: str, sha: str, sender: User) -> None:
        body = self.state.payloads.ref_event("delete", repo, name, sender)
        self._emit(SimEvent("delete", None, repo, None, data={"ref": name}), body)
        self._pushed(repo, name, sha, ZERO_SHA, sender, deleted=True, workflows=False)
