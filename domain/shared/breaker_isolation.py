"""One bad repository never trips the shared breaker: it gets a breaker of its own, pure.

A failure that only one repository can cause (GitHub answers 404, 410 or 451, the repository is
archived, the token may not touch it) goes to that repository's breaker, not to the shared one. When
it opens, that repository alone is paused (`isolated`); its probe comes after a cooldown that doubles
at each failed probe in a row (backoff, at most an hour), and one success closes it. Everything else
(5xx, timeouts, rate limits, bad credentials) goes to the shared breaker as before.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.config import BreakerConfig
from domain.shared import breaker as machine
from domain.shared.breaker import Breaker, BreakerState, Permit, StateChange

REPO_FAILURE_KINDS = frozenset({"GitHubRepoUnavailable", "GitHubAccessDenied"})  # activity error types
REPOS_KEPT = 200  # breakers of repositories with nothing in their window are forgotten first
COOLDOWN_CAP_SECONDS = 3600.0


def repo_only(kind: str) -> bool:
    """True for a failure only this repository causes (its error type says so)."""
    return kind in REPO_FAILURE_KINDS


class RepoBreakers(BaseModel):
    """The breakers of single repositories inside one shared breaker (carried across continue-as-new)."""

    model_config = ConfigDict(frozen=True)

    breakers: dict[str, Breaker] = Field(default_factory=dict)
    failed_probes: dict[str, int] = Field(default_factory=dict)  # failed probes in a row, per repository


def repo_config(cfg: BreakerConfig, failed_probes: int) -> BreakerConfig:
    """The shared thresholds, with a cooldown doubled at each failed probe in a row (bounded)."""
    cooldown = min(COOLDOWN_CAP_SECONDS, cfg.cooldown_seconds * 2 ** min(failed_probes, 20))
    return cfg.model_copy(update={"cooldown_seconds": max(cooldown, cfg.cooldown_seconds)})


def permit(
    rb: RepoBreakers, repo: str, now: datetime, cfg: BreakerConfig, requester: str | None
) -> tuple[RepoBreakers, Permit, StateChange | None]:
    """May guarded work on `repo` start? Always, unless its own breaker is open."""
    b = rb.breakers.get(repo)
    if b is None:
        return rb, Permit(granted=True, state=BreakerState.CLOSED), None
    before = b.state
    b, answer = machine.request_permit(b, now, repo_config(cfg, rb.failed_probes.get(repo, 0)), requester)
    change = b.changes[-1] if b.state is not before else None
    if not answer.granted:
        answer = answer.model_copy(update={"reason": f"repository {repo} isolated: {answer.reason}"})
    return _with(rb, repo, b), answer, change


def record(
    rb: RepoBreakers, repo: str, now: datetime, ok: bool, cfg: BreakerConfig, requester: str | None
) -> tuple[RepoBreakers, StateChange | None]:
    """An outcome of work on `repo` (a success, or a failure only it causes)."""
    b = rb.breakers.get(repo)
    if b is None and ok:
        return rb, None
    probes = rb.failed_probes.get(repo, 0)
    b, change = machine.record_outcome(b or Breaker(), now, ok, repo_config(cfg, probes), requester)
    failed_probes = dict(rb.failed_probes)
    if change is not None and change.old is BreakerState.HALF_OPEN:
        failed_probes[repo] = 0 if change.new is BreakerState.CLOSED else probes + 1
    rb = _with(rb.model_copy(update={"failed_probes": failed_probes}), repo, b)
    return _pruned(rb, now, cfg), change


def isolated(rb: RepoBreakers) -> list[str]:
    """The repositories paused by their own breaker."""
    return sorted(r for r, b in rb.breakers.items() if b.state is not BreakerState.CLOSED)


def reset(rb: RepoBreakers) -> RepoBreakers:
    """A manual reset of the shared breaker frees every repository too."""
    return RepoBreakers()


def _with(rb: RepoBreakers, repo: str, b: Breaker) -> RepoBreakers:
    return rb.model_copy(update={"breakers": {**rb.breakers, repo: b}})


def _pruned(rb: RepoBreakers, now: datetime, cfg: BreakerConfig) -> RepoBreakers:
    """Forget closed breakers with an empty window (and the oldest, beyond `REPOS_KEPT`)."""
    kept = {
        r: b
        for r, b in rb.breakers.items()
        if b.state is not BreakerState.CLOSED or machine.in_window(b.window, now, cfg)
    }
    if len(kept) > REPOS_KEPT:
        newest = sorted(kept, key=lambda r: max((s.at for s in kept[r].window), default=now))
        kept = {r: kept[r] for r in newest[-REPOS_KEPT:]}
    probes = {r: n for r, n in rb.failed_probes.items() if r in kept}
    return RepoBreakers(breakers=kept, failed_probes=probes)
