"""Report formulas against figures computed by hand (see the comments for each sum)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from domain.reports.ci_view import ci_view
from domain.reports.config import ReportsConfig
from domain.reports.history import CIFact, JournalRow, PRHistory, RemedyAttempt, Stall, build, stalls_of
from domain.reports.phases import baseline, poc, roi_from, validation
from domain.reports.roi import payback_months, project, roi_percent
from domain.reports.success import Window, figures, roi_tracker, scorecard, trend

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def test_roi_cases_by_hand() -> None:
    config = ReportsConfig(development_cost_usd=60_000, hourly_rate_usd=100)
    roi = project(40, config, {"high": 72}, {"high": 2})
    worst, expected, best = (roi.case(c) for c in ("worst", "expected", "best"))
    # worst: 40 h x $100 x 1.5 = $6,000 a month; x 0.4 = $2,400 saved; x 12 = $28,800 a year
    assert worst.monthly_cost == pytest.approx(6000)
    assert worst.monthly_savings == pytest.approx(2400)
    assert worst.annual_savings == pytest.approx(28_800)
    assert worst.payback_months == pytest.approx(25)  # 60,000 / 2,400
    assert worst.roi_percent == pytest.approx(-52)  # (28,800 - 60,000) / 60,000 x 100
    # expected: 40 x 100 x 1.75 = 7,000; x 0.7 = 4,900; 58,800 a year; (58,800 - 60,000) / 60,000 = -2 %
    assert expected.monthly_savings == pytest.approx(4900)
    assert expected.payback_months == pytest.approx(60_000 / 4900)
    assert expected.roi_percent == pytest.approx(-2)
    # best: 40 x 100 x 2 = 8,000; x 0.85 = 6,800; 81,600 a year; +36 %
    assert best.annual_savings == pytest.approx(81_600)
    assert best.roi_percent == pytest.approx(36)
    # security: 72 h = 3 days avoided x 24 high PRs a year x $200 = $14,400 at full reduction; x 0.7
    assert expected.security_value == pytest.approx(14_400 * 0.7)
    assert roi.savings_by_month(2)["worst"] == [-60_000, -57_600, -55_200]


def test_roi_edges() -> None:
    assert payback_months(1000, 0) == math.inf
    assert roi_percent(1000, 0) is None
    assert roi_percent(150, 100) == pytest.approx(50)
    config = ReportsConfig(development_cost_usd=60_000, amortisation_years=3)
    assert project(10, config).annualised_development_cost == pytest.approx(20_000)


def three_prs() -> list[PRHistory]:
    return [
        PRHistory("acme/api#1", "acme/api", at(0), merged_at=at(1)),
        PRHistory(
            "acme/api#2",
            "acme/api",
            at(2),
            merged_at=at(3),
            stalls=(Stall("CHECKS_FAILED", at(2, 1), at(2, 1.5), at(2, 3), False),),
            remedies=(
                RemedyAttempt(at(2, 1.5), "RETRY_CHECKS", "acted"),
                RemedyAttempt(at(2, 3), "RETRY_CHECKS", "effect seen", progressed=True),  # then merged
            ),
        ),
        PRHistory(
            "acme/web#3",
            "acme/web",
            at(4),
            merged_at=at(6),
            stalls=(Stall("APPROVED", at(4), at(4, 1), at(6), True),),
            remedies=(
                RemedyAttempt(at(4, 1), "RETRIGGER_MERGE", "acted"),
                RemedyAttempt(at(4, 2), "RETRIGGER_MERGE", "no effect"),
            ),
            escalated_at=at(4, 3),
            human_touched=True,
            severity="high",
        ),
        PRHistory("acme/api#4", "acme/api", at(20)),  # outside the window
    ]


def test_seven_metrics_by_hand() -> None:
    found = figures(three_prs(), Window(at(0), at(14)))
    assert found == {
        "pr_throughput_per_week": 1.5,  # 3 merged in 2 weeks
        "mean_time_to_merge_hours": 32.0,  # (24 + 24 + 48) / 3
        "stale_pr_rate": 0.6667,  # 2 of the 3 opened stalled
        "mttr_hours": 25.0,  # (2 + 48) / 2
        "exposure_window_hours": 48.0,  # the one high-severity PR
        "manual_intervention_rate": 0.3333,  # 1 of 3
        "false_positive_rate": 0.5,  # 1 "no effect" of 2 judged
    }


def test_scorecard_compares_with_baseline_and_target() -> None:
    config = ReportsConfig.model_validate({"baseline": {"mean_time_to_merge_hours": 60}})
    card = {m.name: m for m in scorecard(three_prs(), Window(at(0), at(14)), config)}
    assert card["mean_time_to_merge_hours"].baseline == 60
    assert card["mean_time_to_merge_hours"].meets_target is False  # 32 h > 24 h target
    assert card["false_positive_rate"].meets_target is False  # 0.5 > 0.05
    assert card["pr_throughput_per_week"].lower_is_better is False


def test_weekly_trend_and_roi_tracker() -> None:
    weeks = trend(three_prs(), Window(at(0), at(14)), timedelta(days=7))
    assert [w[1]["pr_throughput_per_week"] for w in weeks] == [3.0, 0.0]
    ci = [CIFact(at(1), "acme/api", "flaky_test", "retry", "auto_fixed")]
    rows = roi_tracker(three_prs(), ci, Window(at(0), at(3)), ReportsConfig())
    # day 1: a fixed pipeline = 45 min; day 2: one effect seen = 30 min -> 1.25 h; x $100 x 1.75
    assert [r[1] for r in rows] == [0.0, 0.75, 1.25]
    assert rows[-1][2] == pytest.approx(1.25 * 100 * 1.75)


def test_stalls_from_journal_rows() -> None:
    rows = [
        JournalRow(at(0), "opened", from_state=None, to_state="CREATED", details={"severity": "critical"}),
        JournalRow(at(0, 0.1), "checks_failed", from_state="CREATED", to_state="CHECKS_FAILED"),
        JournalRow(at(0, 1), "remediation", details={"action": "RETRY_CHECKS", "outcome": "acted"}),
        JournalRow(at(0, 2), "checks_passed", from_state="CHECKS_FAILED", to_state="CHECKS_PASSED"),
        JournalRow(at(0, 2.1), "approved", from_state="CHECKS_PASSED", to_state="APPROVED"),
        JournalRow(at(0, 5), "escalated", from_state="APPROVED", to_state="NEEDS_INTERVENTION"),
        JournalRow(at(1), "merged", from_state="NEEDS_INTERVENTION", to_state="MERGED"),
    ]
    threshold = {"CREATED": 900, "CHECKS_FAILED": 600, "CHECKS_PASSED": 900, "APPROVED": 900}.get
    stalls = stalls_of(rows, lambda s: threshold(s, 900), at(2))
    assert [(s.state, s.escalated) for s in stalls] == [("CHECKS_FAILED", False), ("APPROVED", True)]
    failed, approved = stalls
    assert failed.detect_hours == pytest.approx(0.9)  # Mender acted 54 min after the failure
    assert failed.remediate_hours() == pytest.approx(1.9)
    assert approved.detected_at == at(0, 5)  # the escalation
    assert approved.recovered_at == at(1)  # left NEEDS_INTERVENTION when merged
    history = build("acme/api#9", "acme/api", at(0), rows, lambda s: 900, at(2))
    assert history.merged_at == at(1) and history.severity == "critical" and history.human_touched


def test_baseline_poc_validation_by_hand() -> None:
    window = Window(at(0), at(15))
    config = ReportsConfig(development_cost_usd=12_000)
    ci = [
        CIFact(at(1), "acme/api", "flaky_test", "retry", "auto_fixed", key_line="test_x timed out"),
        CIFact(at(2), "acme/api", "flaky_test", "retry", "escalated", key_line="test_x timed out"),
        CIFact(at(3), "acme/api", "code", "human", "escalated"),
    ]
    base = baseline(three_prs(), ci, window, config)
    assert base.prs == 3 and not base.enough_prs and base.stale_prs == 2
    assert [(m.state, m.stalls) for m in base.failure_modes] == [("APPROVED", 1), ("CHECKS_FAILED", 1)]
    # 2 stalls and 3 failures in 15 days = 4 and 6 a month; 4 x 30 min + 6 x 45 min = 390 min = 6.5 h
    assert base.monthly_manual_hours == pytest.approx(6.5)
    assert base.monthly_cost == pytest.approx(6.5 * 100 * 1.75)
    assert base.exposure_hours_by_severity == {"high": 48.0}
    report = poc(three_prs(), ci, window, config)
    assert report.remediations["RETRY_CHECKS"] == {"acted": 1, "effect seen": 1}
    assert (report.successful, report.failed, report.ci_fixed, report.ci_escalated) == (1, 1, 1, 2)
    assert report.hours_saved == pytest.approx(1.25)  # 30 min + 45 min
    projection = roi_from(base, config)
    checked = validation(three_prs(), ci, window, config, projection)
    # expected case: 6.5 h x $100 x 1.75 x 0.7 = $796.25 a month; half a month = $398.13
    assert checked.projected["expected"] == pytest.approx(398.13, abs=0.01)
    assert checked.actual_savings == pytest.approx(1.25 * 175)  # $218.75
    assert (
        checked.checkpoint_days == 30 and checked.verdict == "on track"
    )  # worst case: 6.5 x 100 x 1.5 x 0.4 / 2 = $195
    view = ci_view(ci, window, config)
    assert view.top_categories == [("flaky_test", 2), ("code", 1)]
    assert view.fix_rate_by_category == {"code": 0.0, "flaky_test": 0.5}
    assert view.flaky_tests[0].score == 0.5 and view.flaky_tests[0].failures == 2


def test_window_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="end after"):
        Window(at(1), at(0))


def test_github_history_failure_modes_and_severity() -> None:
    from domain.reports.github_baseline import CLOSED, NEEDED_CODE, SLOW, from_github, severity_of

    def one(**facts):
        base = {
            "merged_at": None,
            "closed_at": None,
            "human_commits": [],
            "human_comments": [],
            "severity": None,
        }
        return from_github("a/b#1", "a/b", at(0), **{**base, **facts}, now=at(10), stale_after_hours=24)

    quick = one(merged_at=at(0, 3))
    assert quick.stalls == () and quick.state == "MERGED" and not quick.human_touched
    coded = one(merged_at=at(3), human_commits=[at(2)], human_comments=[at(1)])
    assert [(s.state, s.detect_hours, s.remediate_hours()) for s in coded.stalls] == [
        (NEEDED_CODE, 24.0, 72.0)
    ]
    assert one(closed_at=at(2)).stalls[0].state == CLOSED
    still_open = one()
    assert still_open.stalls[0].state == SLOW and still_open.stalls[0].recovered_at is None
    assert severity_of(["security", "severity:critical"], "") == "critical"
    assert severity_of(["dependencies"], "[Security] Bump lodash") == "high"
    assert severity_of(["low"], "Bump x") is None  # a level label alone is not a security PR
