"""Learned fixes: a human's small, replayable fix of a CI failure, kept to replay on the next failure like it.

A learned fix is a failure *signature* (the key line with its variable parts made parameters, the
category and the ecosystem) and the *edits* the human made, as templates (`EditTemplate`). The next
failure whose key line matches the signature gets the same edits as a fix PR: in the review queue (the fix
PR is opened without asking first, marked for review, and merged only on a human's approval) until the
fix has been merged successfully `promote_after` times (the human's own fix counts as the first; a revert
takes one back), then like a built-in playbook (auto-fix on, the gate and the fix PR's evidence decide).
Without fix PR workflows (`ci.fix_prs.enabled: false`) there is no review queue: the gate asks a human in
Slack, and verified replays count instead of merges. Each learned fix is one
version: learning another edit for the same signature adds a version, never rewrites one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing import risk
from domain.ci_healing.playbook_history import LEARNED_PREFIX, PlaybookStats
from domain.diagnosis.verdict import Category, Diagnosis, FixAction, Source

DEFAULT_PROMOTE_AFTER = 3
MAX_LINE = 500  # characters of a key line a signature covers
LEARNED_CONFIDENCE = 75  # a replay of a verified human fix on a matching line, before any history


class Ecosystem(StrEnum):
    PYTHON = "python"
    NODE = "node"
    MAVEN = "maven"
    ACTIONS = "github_actions"  # workflow settings: env, timeout, memory
    GITLAB_CI = "gitlab_ci"  # `.gitlab-ci.yml` settings: variables, timeout, memory


class EditKind(StrEnum):
    REQUIREMENT = "requirement"  # a line of a requirements*.txt (added, or its pin changed)
    NPM_DEPENDENCY = "npm_dependency"  # an entry of package.json's dependencies / devDependencies
    MAVEN_DEPENDENCY = "maven_dependency"  # a <dependency> of pom.xml (added, or its version changed)
    WORKFLOW_ENV = "workflow_env"  # an env var of a workflow file (top level or a job)
    TIMEOUT = "timeout"  # a job's timeout-minutes raised


class EditTemplate(BaseModel):
    """One replayable edit: `kind` on `path` (workflow edits: any workflow file when `path` is None)."""

    model_config = ConfigDict(frozen=True)

    kind: EditKind
    path: str | None = None
    name: str = ""  # requirement / package / artifactId / env var
    value: str = ""  # requirement line / version / env value / minutes
    section: str = ""  # npm: dependencies or devDependencies; maven: groupId

    def describe(self) -> str:
        match self.kind:
            case EditKind.REQUIREMENT:
                return f"add or pin `{self.value}` in {self.path}"
            case EditKind.NPM_DEPENDENCY:
                return f"set {self.section}.{self.name} to {self.value} in {self.path}"
            case EditKind.MAVEN_DEPENDENCY:
                return f"add or pin {self.section}:{self.name}:{self.value} in {self.path}"
            case EditKind.WORKFLOW_ENV:
                return f"set env {self.name}={self.value} in {self.path or 'the workflow'}"
        return f"raise timeout-minutes to at least {self.value} in {self.path or 'the workflow'}"


class Signature(BaseModel):
    """What a failure must look like for a learned fix to apply."""

    model_config = ConfigDict(frozen=True)

    template: str  # the normalised key line, variable parts as {name}
    pattern: str  # the regex a normalised key line must match in full
    category: Category
    ecosystem: Ecosystem

    @property
    def key(self) -> str:
        """Stable id of the signature (versions of one learned fix share it)."""
        text = f"{self.category.value}\n{self.ecosystem.value}\n{self.pattern}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def matches(self, key_line: str) -> bool:
        return re.fullmatch(self.pattern, normalise(key_line)) is not None


class LearnedFix(BaseModel):
    """One version of a learned fix, as stored."""

    id: int | None = None
    signature: Signature
    edits: list[EditTemplate] = Field(min_length=1)
    version: int = 1
    learned_from: str = ""  # the CI workflow id of the failure the human fixed
    source_url: str = ""  # the compare URL of the human's commits
    commits: list[str] = Field(default_factory=list)
    disabled: bool = False
    created_at: datetime | None = None

    @property
    def playbook_id(self) -> str:
        return f"{LEARNED_PREFIX}{self.id}"

    @property
    def action(self) -> FixAction:
        kinds = {e.kind for e in self.edits}
        if kinds & {EditKind.REQUIREMENT, EditKind.NPM_DEPENDENCY, EditKind.MAVEN_DEPENDENCY}:
            return FixAction.ADD_DEPENDENCY
        if EditKind.TIMEOUT in kinds:
            return FixAction.INCREASE_TIMEOUT
        if any(e.name in ("NODE_OPTIONS", "JAVA_TOOL_OPTIONS") for e in self.edits):
            return FixAction.INCREASE_MEMORY
        return FixAction.SET_ENV_DEFAULT


# --- signatures -------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(r"^\s*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?\s*")
# Variable parts, most specific first: (parameter name, what it matches in a line, its regex in a pattern)
_VARIABLE = [
    ("url", r"\bhttps?://\S+", r"https?://\S+"),
    ("path", r"(?<![\w.])(?:\.{0,2}/)?(?:[\w.@+-]+/)+[\w.@+-]+", r"[\w./@+-]+"),
    ("hash", r"\b[0-9a-f]{7,64}\b", r"[0-9a-f]{7,64}"),
    ("version", r"\b\d+(?:\.\d+)+(?:[-.+]?[A-Za-z0-9]+)*\b", r"\d+(?:\.\d+)+(?:[-.+]?[A-Za-z0-9]+)*"),
    ("n", r"\b\d+\b", r"\d+"),
]
_SCANNER = re.compile("|".join(f"(?P<{name}>{found})" for name, found, _ in _VARIABLE))
_IN_PATTERN = {name: pattern for name, _, pattern in _VARIABLE}


def normalise(key_line: str) -> str:
    """The key line without its timestamp prefix, runs of blanks as one space, at most 500 characters."""
    return " ".join(_TIMESTAMP.sub("", key_line[:2000], count=1).split())[:MAX_LINE]


def signature_of(key_line: str, category: Category, ecosystem: Ecosystem) -> Signature:
    """`key_line` with URLs, paths, hashes, versions and numbers made parameters (`{path1}`, ...)."""
    line = normalise(key_line)
    template, pattern, at, seen = [], [], 0, dict.fromkeys(_IN_PATTERN, 0)
    for hit in _SCANNER.finditer(line):
        kind = hit.lastgroup or "n"
        seen[kind] += 1
        literal = line[at : hit.start()]
        template.append(literal.replace("{", "{{").replace("}", "}}") + f"{{{kind}{seen[kind]}}}")
        pattern.append(re.escape(literal) + f"(?:{_IN_PATTERN[kind]})")
        at = hit.end()
    template.append(line[at:].replace("{", "{{").replace("}", "}}"))
    pattern.append(re.escape(line[at:]))
    return Signature(
        template="".join(template), pattern="".join(pattern), category=category, ecosystem=ecosystem
    )


def not_learnable(category: Category) -> str | None:
    """Why a failure of `category` is never learned from, or None: code is a human's, and a transient
    infrastructure failure would have passed anyway (whatever the human changed meanwhile)."""
    if category is Category.CODE:
        return "a code failure: application code is never learned"
    if category is Category.INFRASTRUCTURE:
        return "a transient infrastructure failure: the green run proves nothing about the change"
    return None


# --- replay -----------------------------------------------------------------------------------------


def successes(healed: int, reverted: int) -> int:
    """Successful merges of a learned fix: the human's own fix, then each healed replay (merged fix PR, or
    verified one without fix PR workflows: `healed_replays`) not reverted."""
    return 1 + max(0, healed - reverted)


def promoted(healed: int, reverted: int, promote_after: int = DEFAULT_PROMOTE_AFTER) -> bool:
    """True once the fix is treated like a built-in playbook (auto-fix on)."""
    return successes(healed, reverted) >= promote_after


def healed_replays(stats: PlaybookStats, review_queue: bool) -> int:
    """The replays that count towards promotion: fix PRs merged (with the review queue, i.e. fix PR
    workflows on), else fix branches verified (the Slack-approved fallback, where Mender merges nothing)."""
    return stats.merged if review_queue else stats.verified


def progress(stats: PlaybookStats, review_queue: bool, promote_after: int) -> str:
    """`merged successfully 2 of 3 times` (what the notes and the review queue show)."""
    done = successes(healed_replays(stats, review_queue), stats.reverted)
    return f"merged successfully {min(done, promote_after)} of {promote_after} times"


def match_learned(diagnosis: Diagnosis, learned: list[LearnedFix]) -> LearnedFix | None:
    """The learned fix for `diagnosis`, or None: an enabled fix whose signature matches the key line, of
    the same category (or the failure was not recognised at all); newest version first. A code failure
    never gets one: application code is a human's."""
    if diagnosis.category is Category.CODE or not diagnosis.key_line:
        return None
    candidates = [
        fix
        for fix in learned
        if not fix.disabled
        and diagnosis.category in (fix.signature.category, Category.UNKNOWN)
        and fix.signature.matches(diagnosis.key_line)
    ]
    return max(candidates, key=lambda f: (f.version, f.id or 0), default=None)


def _plan_params(fix: LearnedFix) -> dict[str, str]:
    """The params the plan's one-line summary names (`outcomes.plan_summary`): what the edit adds."""
    edit = fix.edits[0]
    match edit.kind:
        case EditKind.REQUIREMENT:
            return {"distribution": edit.value}
        case EditKind.NPM_DEPENDENCY:
            return {"package": f"{edit.name}@{edit.value}", "distribution": f"{edit.name}@{edit.value}"}
        case EditKind.MAVEN_DEPENDENCY:
            return {"distribution": f"{edit.section}:{edit.name}:{edit.value}"}
        case EditKind.WORKFLOW_ENV:
            return {"name": edit.name, "default": edit.value}
    return {"minutes": edit.value}


def starts_in_review(diagnosis: Diagnosis) -> bool:
    """True for a learned fix not promoted yet: its fix PR goes to the review queue, whatever its score
    (`risk.gate` marks its verdict `review_only`)."""
    return risk.learned_in_review(diagnosis)


def learned_diagnosis(
    diagnosis: Diagnosis, fix: LearnedFix, is_promoted: bool, so_far: str = ""
) -> Diagnosis:
    """`diagnosis` taken over by the learned fix: its plan, its playbook id; auto-fix only once promoted
    (`so_far`: its `progress`, for the notes)."""
    confidence = (
        max(diagnosis.confidence, LEARNED_CONFIDENCE)
        if diagnosis.source is Source.PLAYBOOK
        else LEARNED_CONFIDENCE
    )
    score = risk.score(fix.action, fix.signature.category, confidence)
    stage = (
        "promoted: treated like a built-in playbook"
        if is_promoted
        else "in the review queue until it has proven itself"
    ) + (f", {so_far}" if so_far else "")
    return diagnosis.model_copy(
        update={
            "category": fix.signature.category,
            "action": fix.action,
            "risk_score": score,
            "tier": risk.tier(score),
            "confidence": confidence,
            "playbook": fix.playbook_id,
            "params": {**diagnosis.params, **_plan_params(fix)},
            "source": Source.PLAYBOOK,
            "auto_fix": is_promoted,
            "changes_code": False,
            "explanation": f"Learned from a human fix ({fix.source_url or fix.learned_from}): "
            + "; ".join(e.describe() for e in fix.edits),
            "steps": [e.describe() for e in fix.edits] + ["Re-run the job"],
            "notes": [*diagnosis.notes, f"learned fix #{fix.id} v{fix.version} ({stage})"],
        }
    )
