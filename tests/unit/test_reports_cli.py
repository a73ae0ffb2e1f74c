"""`mender report` over a simulated 30-day history written into the store, in md, html and json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.settings import set_settings
from starter.cli import app
from store.db import engine_for
from tests.support.history import END, START, write_history
from tests.support.stack import make_settings

WINDOW = ["--from", START.isoformat(), "--to", END.isoformat()]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("fleet")
    settings = make_settings(path, lifecycle={}, reports={"baseline": {"monthly_manual_hours": 60}})
    write_history(engine_for(settings.database_url))
    yield settings
    set_settings(None)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("kind", ["baseline", "poc", "roi", "validation"])
def test_each_report_in_three_formats(fleet, kind: str, tmp_path: Path) -> None:
    data = json.loads(run("report", kind, *WINDOW, "--format", "json"))
    assert data["kind"] == kind and data["window_start"].startswith("2026-11-01")
    markdown = run("report", kind, *WINDOW, "--format", "md")
    assert markdown.startswith("# ") and "2026-11-01 00:00 to 2026-12-01 00:00 UTC" in markdown
    target = tmp_path / f"{kind}.html"
    run("report", kind, *WINDOW, "--format", "html", "--output", str(target))
    html = target.read_text()
    assert (
        html.startswith("<!doctype html>")
        and "<svg" in html
        and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


def test_figures_follow_the_history(fleet) -> None:
    base = json.loads(run("report", "baseline", *WINDOW, "--format", "json"))["body"]
    assert base["prs"] == 60 and base["enough_prs"]
    assert {m["state"] for m in base["failure_modes"]} >= {"CHECKS_FAILED", "APPROVED"}
    # 27 stalls and 30 failed pipelines in 30 days: 27 x 30 min + 30 x 45 min = 2,160 min = 36 h
    assert base["monthly_manual_hours"] == pytest.approx(36)
    snippet = base["for_mender_yaml"]["reports"]["baseline"]  # paste under `reports:` to compare later
    assert snippet["monthly_manual_hours"] == base["monthly_manual_hours"]
    assert snippet["stale_pr_rate"] == base["metrics"]["stale_pr_rate"]
    from domain.reports.config import ReportsConfig

    assert ReportsConfig.model_validate(base["for_mender_yaml"]["reports"]).baseline.stale_pr_rate is not None
    poc = json.loads(run("report", "poc", *WINDOW, "--format", "json"))["body"]
    assert poc["remediations"]["RETRY_CHECKS"] == {"acted": 12, "effect seen": 12}
    # every rebuild's checks then passed and every merge nudge that took effect merged the PR
    assert (poc["successful"], poc["attempts_without_progress"]) == (12 + 6, 0)
    assert poc["share_of_baseline_saved"] == pytest.approx(poc["monthly_hours_saved"] / 60)
    roi = json.loads(run("report", "roi", *WINDOW, "--format", "json"))["body"]
    expected = next(c for c in roi["cases"] if c["case"] == "expected")
    assert roi["monthly_manual_hours"] == 60  # the configured baseline wins over the measured one
    assert expected["monthly_cost"] == pytest.approx(60 * 100 * 1.75)
    check = json.loads(run("report", "validation", *WINDOW, "--format", "json"))["body"]
    assert check["checkpoint_days"] == 30 and check["verdict"] in ("ahead", "on track", "behind")


def test_bad_window_is_refused(fleet) -> None:
    result = CliRunner().invoke(app, ["report", "roi", "--from", END.isoformat(), "--to", START.isoformat()])
    assert result.exit_code == 2 and "bad window" in result.output
