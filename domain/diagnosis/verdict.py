"""What Mender concluded about a failed CI run: the shared vocabulary of playbooks, the LLM and the gate."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Category(StrEnum):
    """Why a pipeline failed."""

    DEPENDENCY = "dependency"  # missing, conflicting or unpublished package, lockfile mismatch
    ENVIRONMENT = "environment"  # missing/wrong env var, secret, credential, tool or CI configuration
    FLAKY_TEST = "flaky_test"  # intermittent test failure, timeout or race
    RESOURCE = "resource"  # out of memory, killed process, full disk
    INFRASTRUCTURE = "infrastructure"  # transient network, registry, mirror, DNS, rate limit, runner
    CODE = "code"  # a genuine compile, lint, type or test failure caused by the change
    UNKNOWN = "unknown"  # nothing explains it: a human looks (never an automatic action)


class FixAction(StrEnum):
    """The remediation a diagnosis proposes."""

    RETRY = "retry"
    ADD_DEPENDENCY = "add_dependency"
    PIN_OR_BUMP_DEPENDENCY = "pin_or_bump_dependency"
    SET_ENV_DEFAULT = "set_env_default"
    FIX_CONFIG = "fix_config"
    INCREASE_TIMEOUT = "increase_timeout"
    QUARANTINE = "quarantine"
    INCREASE_MEMORY = "increase_memory"
    FREE_DISK = "free_disk"
    HUMAN = "human"


class Tier(StrEnum):
    """Risk tier: low runs automatically, medium runs and notifies, high waits for approval."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Source(StrEnum):
    """Where a diagnosis came from."""

    PLAYBOOK = "playbook"
    LLM = "llm"
    FALLBACK = "fallback"  # nothing matched: a human looks


class Diagnosis(BaseModel):
    """One failed run's diagnosis. The first nine fields are the `mender diagnose --json` contract."""

    model_config = ConfigDict(frozen=True)

    category: Category
    action: FixAction
    risk_score: float = Field(ge=0, le=10)
    tier: Tier
    confidence: int = Field(ge=0, le=100)
    key_line: str  # the decisive line of the log, verbatim (after redaction)
    params: dict[str, str] = Field(default_factory=dict)
    playbook: str | None = None  # id of the playbook rule that matched
    explanation: str
    source: Source = Source.PLAYBOOK
    key_line_number: int | None = None  # 1-based line number in the log
    auto_fix: bool = False  # the playbook allows the plan to run without approval (the gate still decides)
    steps: list[str] = Field(default_factory=list)  # the remediation plan, human readable
    changes_code: bool = False  # the plan edits application code (not CI configuration or manifests)
    notes: list[str] = Field(default_factory=list)  # e.g. why the LLM answer was not used
    evidence: str | None = None  # the kind of evidence that decided (`domain.diagnosis.calibration`)

    def contract(self) -> dict[str, object]:
        """The stable JSON object of `mender diagnose --json`."""
        return {
            "category": self.category.value,
            "action": self.action.value,
            "risk_score": self.risk_score,
            "tier": self.tier.value,
            "confidence": self.confidence,
            "key_line": self.key_line,
            "params": dict(self.params),
            "playbook": self.playbook,
            "explanation": self.explanation,
        }
