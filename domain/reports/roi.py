"""The ROI formulas of the specification, with best, expected and worst cases (pure arithmetic).

monthly cost      = monthly manual hours x loaded hourly rate x context-switch multiplier
monthly savings   = monthly cost x automation rate (the share of that work Mender takes over)
annual savings    = 12 x monthly savings
payback (months)  = development cost / monthly savings
ROI %             = (annual savings - annualised development cost) / annualised development cost x 100
security value    = exposure days avoided per year x cost of one day of exposure, per severity
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from domain.reports.config import ReportsConfig, Scenario

CASES = ("worst", "expected", "best")


def monthly_cost(hours: float, hourly_rate: float, multiplier: float) -> float:
    return hours * hourly_rate * multiplier


def payback_months(development_cost: float, monthly_savings: float) -> float:
    """Months until the savings repay the development cost (infinite without savings)."""
    if monthly_savings <= 0:
        return math.inf
    return development_cost / monthly_savings


def roi_percent(annual_savings: float, annualised_development_cost: float) -> float | None:
    """(annual savings - annualised cost) / annualised cost x 100; None when nothing was spent."""
    if annualised_development_cost <= 0:
        return None
    return (annual_savings - annualised_development_cost) / annualised_development_cost * 100


def security_value(
    exposure_hours: dict[str, float],
    security_prs_per_month: dict[str, float],
    reduction: float,
    cost_per_day: dict[str, float],
) -> float:
    """Yearly value of a shorter exposure window: per severity, days avoided x PRs per year x cost/day."""
    total = 0.0
    for severity, hours in exposure_hours.items():
        days_avoided = hours * reduction / 24
        total += (
            days_avoided * security_prs_per_month.get(severity, 0.0) * 12 * cost_per_day.get(severity, 0.0)
        )
    return total


class RoiCase(BaseModel):
    """One case of the ROI projection."""

    case: str
    automation_rate: float
    context_switch_multiplier: float
    monthly_cost: float
    monthly_savings: float
    annual_savings: float
    payback_months: float
    roi_percent: float | None
    security_value: float


class RoiProjection(BaseModel):
    """Inputs and the three cases."""

    monthly_manual_hours: float
    hourly_rate: float
    development_cost: float
    annualised_development_cost: float
    cases: list[RoiCase]

    def case(self, name: str) -> RoiCase:
        return next(c for c in self.cases if c.case == name)

    def savings_by_month(self, months: int = 12) -> dict[str, list[float]]:
        """Cumulative savings minus the development cost, month by month, per case (for charts)."""
        return {
            c.case: [round(c.monthly_savings * m - self.development_cost, 2) for m in range(months + 1)]
            for c in self.cases
        }


def _case(name: str, scenario: Scenario, hours: float, config: ReportsConfig, security: float) -> RoiCase:
    cost = monthly_cost(hours, config.hourly_rate_usd, scenario.context_switch_multiplier)
    savings = cost * scenario.automation_rate
    annual = savings * 12
    annualised = config.development_cost_usd / config.amortisation_years
    return RoiCase(
        case=name,
        automation_rate=scenario.automation_rate,
        context_switch_multiplier=scenario.context_switch_multiplier,
        monthly_cost=cost,
        monthly_savings=savings,
        annual_savings=annual,
        payback_months=payback_months(config.development_cost_usd, savings),
        roi_percent=roi_percent(annual, annualised),
        security_value=security * scenario.automation_rate,
    )


def project(
    monthly_manual_hours: float,
    config: ReportsConfig,
    exposure_hours: dict[str, float] | None = None,
    security_prs_per_month: dict[str, float] | None = None,
) -> RoiProjection:
    """The ROI projection for `monthly_manual_hours` of manual work, in the three configured cases.

    The security value assumes the exposure window shrinks by the case's automation rate.
    """
    full = security_value(
        exposure_hours or {}, security_prs_per_month or {}, 1.0, config.exposure_cost_usd_per_day
    )
    return RoiProjection(
        monthly_manual_hours=monthly_manual_hours,
        hourly_rate=config.hourly_rate_usd,
        development_cost=config.development_cost_usd,
        annualised_development_cost=config.development_cost_usd / config.amortisation_years,
        cases=[_case(n, config.scenarios[n], monthly_manual_hours, config, full) for n in CASES],
    )
