"""Reading the current configuration, so workflows stay deterministic when it changes."""

from activities.definition import defn
from domain.config import RepoPolicy
from runtime.settings import get_settings


@defn(name="config.repo_policy")
def repo_policy(repo: str) -> RepoPolicy:
    """The effective settings for `repo` (thresholds, budgets, mode) as configured right now."""
    return get_settings().config.policy_for(repo)
