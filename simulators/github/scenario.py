"""Scenario files: which repos exist, how fast the world moves, which bot PRs get opened, what breaks.

Format (YAML or the same object as JSON; unknown keys are errors; every key except `prs` is optional)::

    seed: 7                          # RNG seed for shas, titles, branches and webhook loss (default 7)
    repos: [acme/api, acme/web]      # created on load with a `main` branch (default: these two)
    timing:                          # seconds; defaults shown
      ci_start_seconds: 1.0          # new head sha -> check suite requested
      ci_seconds: 3.0                # check suite requested (or re-run) -> check runs completed
      bot_delay_seconds: 1.0         # each bot's reaction time (policy, approver, automerge; upstream)
      open_interval_seconds: 0.5     # between two PRs being opened
    prs:                             # groups of PRs, opened in order, round-robin over `repos`
      - count: 10                    # >= 1
        faults: [flaky_checks]       # PR faults, each applies to every PR of the group (default []):
                                     #   flaky_checks, genuine_failure, behind_base, merge_conflict,
                                     #   policy_bot_missed, approver_bot_missed, automerge_missed
                                     #   (semantics and remedies: simulators/github/faults.py)
        author: dependabot[bot]      # optional; default alternates dependabot[bot], renovate[bot]
                                     # (inside a {flow: mapping} quote it: "dependabot[bot]")
        comments:                    # optional issue comments on each PR of the group (default []),
          - {author: octocat, body: "/policy-bot recheck", after_seconds: 5}  # seconds after it opened
                                     # (author defaults to octocat, after_seconds to 0; bots hear them)
    world_faults:                    # optional (default []), times relative to the scenario start
      - {type: github_outage, start_seconds: 20, duration_seconds: 30}  # REST 502, world and webhooks on hold
      - {type: webhook_loss, rate: 0.3}  # each delivery dropped with this probability (seeded); 0..1
      - {type: webhook_reorder, rate: 0.1, max_delay_seconds: 1.0}  # held back, later ones overtake
      - {type: webhook_duplicate, rate: 0.1}  # sent twice with the same delivery id
      - {type: webhook_delay, seconds: 0.5}  # every delivery this much later
    github_rate_limit: 15000         # optional: API requests an hour per token (default 5000)
    github_points_per_minute: 900    # optional: GitHub's secondary limit on REST points (GET 1, write 5; default off)
    pipelines:                       # optional failing CI pipelines (default []); see pipelines.py
      - count: 3                     # >= 1 runs (default 1), one after another (open_interval_seconds apart)
        repo: acme/api               # required; a GitHub group's repo must be one of `repos`
        log: logs/infra-timeout.log  # the failed job's log, a path relative to the scenario file ...
        # log_text: "..."            # ... or the log inline (one of the two is required)
        heals_on: retry              # required: retry | fix | never (what makes it pass again)
        provider: github             # github | gitlab (gitlab groups are kept for the GitLab simulator)
        after_seconds: 0             # start offset from the scenario start (default 0)
        workflow: CI                 # workflow name (default CI)
        job: test                    # the failing job's name (default test); a `build` job passes
        approve: null                # true | false | null: a human approver's answer (only reported)
        fix_checks: {}               # quality check runs on its fix branches: {lint: failure, typecheck: success}
        breaks_after_merge: false    # the default branch fails once its fix is merged (until reverted)
        review: null                 # true | false | null: a human's answer to its queued fix PR (only kept)
    vulnerabilities:                 # optional OSV feed served at POST /osv/v1/query (default [])
      - {id: GHSA-xxxx, package: pyyaml, ecosystem: PyPI, severity: high, summary: "...", fixed: null}
    config: {}                       # optional mender.yaml overrides; kept as `Scenario.config`, unused here
    goals: {}                        # optional goals the run must meet; kept as `Scenario.goals`, unused here

`prs` is required but may be empty when `pipelines` is not. Each GitHub pipeline run is a failed
GitHub Actions workflow run on the repo's default branch (event push): `build` passes, `job` fails with
the log. A re-run passes only for `heals_on: retry`; a run on a `mender/ci-fix/<run_id>` branch passes
only for `heals_on: fix`; `never` fails every time, always with the same log.

Titles and branches look like real dependency bumps: dependabot opens "Bump requests from 2.31.0 to
2.32.3" from `dependabot/pip/requests-2.32.3`; renovate opens "Update dependency requests to v2.32.3"
from `renovate/requests-2.x`. Each such PR changes one line of `requirements.txt` or `package.json`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from simulators.github.contents import ECOSYSTEM_FILES, PACKAGES
from simulators.github.faults import KNOWN_FAULTS
from simulators.github.model import FileChange
from simulators.github.world_faults import WorldFault

DEFAULT_AUTHORS = ("dependabot[bot]", "renovate[bot]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Timing(_Strict):
    ci_start_seconds: float = Field(1.0, ge=0)
    ci_seconds: float = Field(3.0, ge=0)
    bot_delay_seconds: float = Field(1.0, ge=0)
    open_interval_seconds: float = Field(0.5, ge=0)


class ScheduledComment(_Strict):
    author: str = Field("octocat", min_length=1)
    body: str = Field(min_length=1)
    after_seconds: float = Field(0.0, ge=0)


class PRGroup(_Strict):
    count: int = Field(ge=1)
    faults: list[str] = Field(default_factory=list)
    author: str | None = Field(None, min_length=1)
    comments: list[ScheduledComment] = Field(default_factory=list)

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, faults: list[str]) -> list[str]:
        unknown = [f for f in faults if f not in KNOWN_FAULTS]
        if unknown:
            known = ", ".join(sorted(KNOWN_FAULTS))
            raise ValueError(f"unknown fault(s) {unknown}; known faults: {known}")
        return faults


class HumanFix(_Strict):
    """A human fixes a failed pipeline by hand `after_seconds` after its run started: one commit that
    appends `append[path]` to each file on the run's branch, then a green run of the same workflow."""

    append: dict[str, str] = Field(min_length=1)
    after_seconds: float = Field(10.0, ge=0)


class PipelineGroup(_Strict):
    """`count` failing runs of one pipeline; `log_text` is filled from `log` by `load_scenario`."""

    count: int = Field(1, ge=1)
    repo: str = Field(min_length=1)
    log: str | None = Field(None, min_length=1)
    log_text: str | None = Field(None, min_length=1)
    heals_on: Literal["retry", "fix", "never"]
    provider: Literal["github", "gitlab"] = "github"
    after_seconds: float = Field(0.0, ge=0)
    workflow: str = Field("CI", min_length=1)
    job: str = Field("test", min_length=1)
    approve: bool | None = None
    fix_checks: dict[str, Literal["success", "failure", "neutral", "skipped", "timed_out"]] = Field(
        default_factory=dict
    )
    breaks_after_merge: bool = False
    human_fix: HumanFix | None = None
    review: bool | None = None  # a human's answer to its fix PR in a review queue (kept, unused here)

    @model_validator(mode="after")
    def _has_log(self) -> PipelineGroup:
        if self.log is None and self.log_text is None:
            raise ValueError("a pipeline needs `log` (a file path) or `log_text`")
        return self


class Vulnerability(_Strict):
    """One advisory of the simulated OSV feed; `fixed: null` means no release fixes it yet."""

    id: str = Field(min_length=1)
    package: str = Field(min_length=1)
    ecosystem: Literal["PyPI", "npm", "Maven"] = "PyPI"
    severity: Literal["low", "moderate", "high", "critical"] = "high"
    summary: str = ""
    introduced: str = "0"
    fixed: str | None = None


class Scenario(_Strict):
    seed: int = 7
    repos: list[str] = Field(default_factory=lambda: ["acme/api", "acme/web"], min_length=1)
    timing: Timing = Field(default_factory=Timing)
    prs: list[PRGroup]
    pipelines: list[PipelineGroup] = Field(default_factory=list)
    world_faults: list[WorldFault] = Field(default_factory=list)
    vulnerabilities: list[Vulnerability] = Field(default_factory=list)
    github_rate_limit: int | None = Field(None, ge=1)  # requests an hour per token (None: GitHub's 5000)
    github_points_per_minute: int | None = Field(None, ge=1)  # secondary limit (None: not enforced)
    config: dict[str, Any] = Field(default_factory=dict)  # mender.yaml overrides: kept, not used here
    goals: dict[str, Any] = Field(default_factory=dict)  # what the run must achieve: kept, not used here

    @field_validator("pipelines")
    @classmethod
    def _pipeline_repos(cls, groups: list[PipelineGroup], info: ValidationInfo) -> list[PipelineGroup]:
        repos = info.data.get("repos") or []
        for i, group in enumerate(groups):
            if group.provider == "github" and group.repo not in repos:
                raise ValueError(
                    f"pipelines[{i}].repo {group.repo!r} is not one of the scenario's repos {repos}"
                )
        return groups

    @model_validator(mode="after")
    def _something_happens(self) -> Scenario:
        if not self.prs and not self.pipelines:
            raise ValueError("prs: at least one PR group is needed (or a pipelines group)")
        return self

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, repos: list[str]) -> list[str]:
        for name in repos:
            parts = name.split("/")
            if len(parts) != 2 or not all(parts) or any(c.isspace() for c in name):
                raise ValueError(f"repo {name!r} is not of the form owner/name")
        return repos

    @property
    def total_prs(self) -> int:
        return sum(group.count for group in self.prs)

    @property
    def total_pipelines(self) -> int:
        """Runs of the GitHub pipeline groups (GitLab groups are another simulator's)."""
        return sum(group.count for group in self.pipelines if group.provider == "github")


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def load_scenario(source: str | Path | dict[str, Any], base_dir: Path | None = None) -> Scenario:
    """A scenario from a file path, YAML/JSON text or a dict; ValueError naming the bad key path.

    A pipeline's `log` path is read relative to the scenario file (or `base_dir` for text and dicts)
    into its `log_text`, unless `log_text` is already given.
    """
    if isinstance(source, dict):
        data: Any = source
    else:
        text = str(source)
        path = Path(text)
        if isinstance(source, Path) or ("\n" not in text and text.endswith((".yaml", ".yml", ".json"))):
            if not path.is_file():
                raise ValueError(f"scenario file not found: {path}")
            text, base_dir = path.read_text(), path.parent
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"scenario is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"scenario must be a mapping with a 'prs' key, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_key_path(tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise ValueError("invalid scenario: " + "; ".join(problems)) from None
    for i, group in enumerate(scenario.pipelines):
        if group.log_text is None and group.log is not None:
            group.log_text = _read_log(group.log, base_dir, f"pipelines[{i}].log")
    return scenario


def _read_log(name: str, base_dir: Path | None, where: str) -> str:
    if base_dir is None:
        raise ValueError(f"invalid scenario: {where}: a log path needs a scenario file; give `log_text`")
    path = base_dir / name
    if not path.is_file():
        raise ValueError(f"invalid scenario: {where}: log file not found: {path}")
    text = path.read_text(errors="replace")
    if not text:
        raise ValueError(f"invalid scenario: {where}: log file is empty: {path}")
    return text


def _version(rng: random.Random) -> tuple[str, str]:
    major, minor = rng.randint(1, 9), rng.randint(0, 30)
    old_patch = rng.randint(0, 5)
    if rng.random() < 0.5:
        return f"{major}.{minor}.{old_patch}", f"{major}.{minor}.{old_patch + rng.randint(1, 4)}"
    return f"{major}.{minor}.{old_patch}", f"{major}.{minor + 1}.{rng.randint(0, 3)}"


def bump_pr(rng: random.Random, author: str, taken: set[str]) -> tuple[str, str, str, FileChange]:
    """(title, head branch, body, change) of a dependency-bump PR by `author`, avoiding `taken` branches."""
    ecosystem = rng.choice(sorted(PACKAGES))
    package = rng.choice(PACKAGES[ecosystem])
    old, new = _version(rng)
    if author.startswith("renovate"):
        title = f"Update dependency {package} to v{new}"
        branch = f"renovate/{package}-{new.split('.')[0]}.x"
    else:
        title = f"Bump {package} from {old} to {new}"
        branch = f"{author.removesuffix('[bot]')}/{ecosystem}/{package}-{new}"
    body = f"Bumps {package} from {old} to {new}.\n\nThis PR was opened by the Mender GitHub simulator."
    change = FileChange(ECOSYSTEM_FILES[ecosystem], package, new)
    return title, _unique(branch, taken), body, change


def _unique(branch: str, taken: set[str]) -> str:
    candidate, n = branch, 1
    while candidate in taken:
        n += 1
        candidate = f"{branch}-{n}"
    return candidate


def slug_branch(author: str, title: str, taken: set[str]) -> str:
    """A branch name for a PR with a given title."""
    words = "".join(c if c.isalnum() or c in ".-" else "-" for c in title.lower()).strip("-")
    stem = f"{author.removesuffix('[bot]')}/{'-'.join(filter(None, words.split('-')))[:60] or 'change'}"
    return _unique(stem, taken)
