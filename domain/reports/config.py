"""The `metrics:` and `reports:` sections of `mender.yaml` (documented defaults)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricsConfig(_Strict):
    """Prometheus endpoints of the worker (the starter serves `/metrics` on its own port)."""

    host: str = "127.0.0.1"  # where the worker's metric servers listen (0.0.0.0 in a container)
    worker_port: int | None = Field(9464, ge=1, le=65535)  # Mender's own metrics; null: off
    sdk_port: int | None = Field(9465, ge=1, le=65535)  # Temporal SDK runtime metrics; null: off
    llm_usd_per_1k_tokens: float = Field(0.0, ge=0)  # price used for mender_llm_cost_usd_total


class Scenario(_Strict):
    """One ROI case: the share of manual work Mender takes over, and the context-switch multiplier."""

    automation_rate: float = Field(gt=0, le=1)
    context_switch_multiplier: float = Field(ge=1, le=3)


def _scenarios() -> dict[str, Scenario]:
    return {
        "worst": Scenario(automation_rate=0.4, context_switch_multiplier=1.5),
        "expected": Scenario(automation_rate=0.7, context_switch_multiplier=1.75),
        "best": Scenario(automation_rate=0.85, context_switch_multiplier=2.0),
    }


class Targets(_Strict):
    """Where the seven success metrics should get to (the specification's targets)."""

    pr_throughput_per_week: float = 20.0  # bot PRs merged per week
    mean_time_to_merge_hours: float = 24.0
    stale_pr_rate: float = 0.10  # share of bot PRs that stalled
    mttr_hours: float = 2.0  # stall to recovery
    exposure_window_hours: float = 48.0  # security PRs: opened to merged
    manual_intervention_rate: float = 0.10  # share of bot PRs a human had to touch
    false_positive_rate: float = 0.05  # actions that were not needed or had no effect


class Baseline(_Strict):
    """The seven metrics measured before Mender (`mender report baseline`); null: not measured yet."""

    pr_throughput_per_week: float | None = None
    mean_time_to_merge_hours: float | None = None
    stale_pr_rate: float | None = None
    mttr_hours: float | None = None
    exposure_window_hours: float | None = None
    manual_intervention_rate: float | None = None
    false_positive_rate: float | None = None
    monthly_manual_hours: float | None = None  # hours people spent unsticking bot PRs and pipelines


class ReportsConfig(_Strict):
    """Money and time parameters of the baseline, POC, ROI and validation reports."""

    hourly_rate_usd: float = Field(100.0, gt=0)  # loaded cost of one engineering hour
    development_cost_usd: float = Field(60_000.0, ge=0)  # building and running Mender in year one
    amortisation_years: float = Field(1.0, gt=0)  # annualised development cost = cost / years
    minutes_per_stale_pr: float = Field(30.0, gt=0)  # human time to notice and unstick one PR
    minutes_per_ci_failure: float = Field(45.0, gt=0)  # human time to triage and fix one pipeline
    history_stale_after_hours: float = Field(24.0, gt=0)  # GitHub-history baseline: open longer = stalled
    exposure_cost_usd_per_day: dict[str, float] = Field(
        default_factory=lambda: {"critical": 500.0, "high": 200.0, "moderate": 50.0, "low": 10.0}
    )
    temporal_ui_url: str = "http://127.0.0.1:8233"  # the dashboard links workflows there
    scenarios: dict[str, Scenario] = Field(default_factory=_scenarios)
    targets: Targets = Field(default_factory=Targets)
    baseline: Baseline = Field(default_factory=Baseline)

    @model_validator(mode="after")
    def _three_cases(self) -> ReportsConfig:
        missing = {"worst", "expected", "best"} - set(self.scenarios)
        if missing:
            raise ValueError(
                f"scenarios needs worst, expected and best; missing {', '.join(sorted(missing))}"
            )
        return self
