"""The dashboard in a real headless Chromium against a simulated 30-day fleet.

Every number on the pages equals the Admin API's answer; navigation and sign-in work; no console
errors; a screenshot of each page is kept under `artifacts/`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from runtime.settings import set_settings
from store.db import engine_for
from tests.support.admin_api import READ_KEY, admin_settings, bearer, served_starter
from tests.support.history import END, write_history

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PINNED = f"end={END.isoformat().replace('+00:00', 'Z')}"

async_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM}: apt-get install -y --no-install-recommends chromium "
        "(.ci/run installs it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    settings = admin_settings(tmp_path_factory.mktemp("dashboard"), lifecycle={})
    write_history(engine_for(settings.database_url))
    yield settings
    set_settings(None)


@pytest.fixture
async def browser_page():
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        problems: list[str] = []
        page.on(
            "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
        yield page, problems
        await browser.close()


async def follow(page, selector: str, url: str = "**") -> None:
    """Click a link or button and wait until the page it leads to has loaded.

    A click returns once the next page has *committed* (its response headers arrived), not when its
    document has loaded: the next `goto` or click would abort that load ("request failed ...
    net::ERR_ABORTED" on a loaded machine) and a read could see a half-parsed page.
    """
    async with page.expect_navigation(url=url):
        await page.click(selector)


async def api(url: str, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{url}{path}", params={"end": END.isoformat(), **params}, headers=bearer(READ_KEY)
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def values(page, selector: str) -> list[str]:
    return await page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('data-value'))")


def shown(value: Any) -> str:
    return "" if value is None else str(value)


async def test_dashboard_pages_match_the_admin_api(client: Client, fleet, browser_page) -> None:
    page, problems = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    with served_starter(fleet, client, "no-worker") as url:
        # Sign in through the form: an unauthenticated visit lands on it.
        await page.goto(f"{url}/dashboard")
        assert page.url.endswith("/dashboard/login")
        await page.fill("input[name=key]", READ_KEY)
        await follow(page, "button[type=submit]", "**/dashboard/needs-me")

        # Needs me
        await page.goto(f"{url}/dashboard/needs-me?{PINNED}")
        expected = await api(url, "/api/needs-me")
        assert await page.inner_text("[data-count=prs]") == str(len(expected["prs"]))
        assert await page.inner_text("[data-count=ci]") == str(len(expected["ci"]))
        assert await page.inner_text("[data-count=review]") == str(len(expected["review"]))
        rows = await page.eval_on_selector_all(
            "tr[data-pr]", "els => els.map(e => e.getAttribute('data-pr'))"
        )
        assert rows == [p["pr"] for p in expected["prs"]] and rows
        for item in expected["prs"]:
            hrefs = await page.eval_on_selector_all(
                f'tr[data-pr="{item["pr"]}"] a', "els => els.map(e => e.getAttribute('href'))"
            )
            assert hrefs == [item["pr_url"], item["workflow_url"]]
        assert "awaiting approval" in [c["waiting_for"] for c in expected["ci"]]
        for item in expected["review"]:  # the verified fix PR is one click away
            hrefs = await page.eval_on_selector_all(
                f'tr[data-ci="{item["workflow_id"]}"] a', "els => els.map(e => e.getAttribute('href'))"
            )
            assert hrefs == [item["run_url"], item["fix_pr_url"], item["workflow_url"]] and item["fix_pr_url"]
        escalated = next(p for p in expected["prs"] if p["state"] == "NEEDS_INTERVENTION")
        story = await page.inner_text(f'tr[data-pr="{escalated["pr"]}"]')
        assert "RETRIGGER_MERGE: no effect" in story and escalated["why"] in story
        await page.screenshot(path=str(ARTIFACTS / "dashboard-needs-me.png"), full_page=True)

        # Success: each metric's current, baseline and target
        await follow(page, "nav >> text=Success")
        assert "/dashboard/success" in page.url and PINNED.split("=")[0] in page.url
        expected = await api(url, "/api/success")
        for metric in expected["metrics"]:
            for field in ("current", "baseline", "target"):
                found = await values(page, f'tr[data-metric="{metric["name"]}"] td[data-field="{field}"]')
                assert found == [shown(metric[field])], (metric["name"], field)
        assert await page.inner_text("[data-roi=hours]") == f"{expected['roi'][-1][1]:,.2f}"
        assert await page.locator("svg.chart").count() == 3
        weekly = await values(page, 'h2:text("Weekly") + table tr[data-trend="stale_pr_rate"] td[data-value]')
        assert weekly == [shown(week[1]["stale_pr_rate"]) for week in expected["weekly"]]
        await page.screenshot(path=str(ARTIFACTS / "dashboard-success.png"), full_page=True)

        # CI
        await follow(page, "nav >> text=CI")
        assert "/dashboard/ci?" in page.url
        expected = await api(url, "/api/ci/summary")
        assert await page.inner_text("[data-count=failures]") == str(expected["failures"])
        for category, rate in expected["fix_rate_by_category"].items():
            assert await values(page, f'tr[data-category="{category}"] td[data-field="fix_rate"]') == [
                shown(rate)
            ]
        assert await values(page, 'td[data-field="score"]') == [
            shown(t["score"]) for t in expected["flaky_tests"]
        ]
        await page.screenshot(path=str(ARTIFACTS / "dashboard-ci.png"), full_page=True)

        # Health, over the whole month
        await page.goto(f"{url}/dashboard/health?{PINNED}&hours=720")
        expected = await api(url, "/api/health", hours=720)
        for outcome, count in expected["webhooks"].items():
            assert await values(page, f'tr[data-webhook="{outcome}"] td[data-value]') == [str(count)]
        assert await page.inner_text('tr[data-breaker="github"]') == "\t".join(
            [
                "github",
                expected["breakers"]["github"]["state"],
                expected["breakers"]["github"]["since"],
                "mender",
            ]
        )
        assert set(expected["actions"]) == {"RETRIGGER_MERGE", "RETRY_CHECKS"}
        await page.screenshot(path=str(ARTIFACTS / "dashboard-health.png"), full_page=True)

        # Signing out closes the pages again
        await follow(page, "nav >> text=Sign out", "**/dashboard/login")
        await page.goto(f"{url}/dashboard/success")
        assert page.url.endswith("/dashboard/login")
    assert problems == []


async def test_dashboard_refuses_without_a_key_and_with_a_wrong_one(client: Client, fleet) -> None:
    with served_starter(fleet, client, "no-worker") as url:
        async with httpx.AsyncClient() as http:
            anonymous = await http.get(f"{url}/dashboard/success")
            wrong = await http.post(f"{url}/dashboard/login", content=b"key=nope")
            bearer_ok = await http.get(f"{url}/dashboard/ci?{PINNED}", headers=bearer(READ_KEY))
            api_anonymous = await http.get(f"{url}/api/needs-me")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/dashboard/login"
    assert wrong.status_code == 401 and "Unknown key" in wrong.text
    assert (
        bearer_ok.status_code == 200 and "default-src 'none'" in bearer_ok.headers["content-security-policy"]
    )
    assert "https://" not in bearer_ok.text.replace("https://github.com", "")
    assert api_anonymous.status_code == 401


SCENARIO = """
seed: 3
repos: [acme/api]
timing: {ci_start_seconds: 0.2, ci_seconds: 1.0, bot_delay_seconds: 0.3, open_interval_seconds: 0.2}
prs:
  - count: 1
  - {count: 1, faults: [automerge_missed]}
  - {count: 1, faults: [flaky_checks]}
  - {count: 1, faults: [genuine_failure]}
config:
  mode: act
  repositories: [{name: acme/api}]
  lifecycle:
    staleness_seconds: {CREATED: 5, CHECKS_RUNNING: 8, CHECKS_PASSED: 5, CHECKS_FAILED: 3, POLICY_EVALUATING: 5,
                        POLICY_PASSED: 5, POLICY_FAILED: 5, APPROVED: 5, MERGING: 5}
    terminal_grace_seconds: 5
  remediation: {effect_deadline_seconds: 6}
"""


async def test_dashboard_agrees_with_mender_simulate(client: Client, tmp_path: Path, browser_page) -> None:
    from starter.simulate import run_simulation

    page, problems = browser_page
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    data = tmp_path / "run"
    data.mkdir()
    report = await run_simulation(scenario, Path(__file__).resolve().parents[2] / "mender.yaml", 240, data)
    assert report["prs"]["open"] == 0 and report["actions"], report
    settings = admin_settings(data, lifecycle={})  # the same store: <data>/mender.db
    try:
        with served_starter(settings, client, "no-worker") as url:
            await page.set_extra_http_headers(bearer(READ_KEY))
            await page.goto(f"{url}/dashboard/health?hours=24")
            for action, count in report["actions"].items():
                shown_outcomes = await page.inner_text(f'tr[data-action="{action}"]')
                assert f"acted: {count}" in shown_outcomes, (action, shown_outcomes, report["actions"])
            await page.goto(f"{url}/dashboard/needs-me")
            stuck = await page.eval_on_selector_all(
                "tr[data-pr]", "els => els.map(e => e.children[1].textContent)"
            )
            assert stuck.count("NEEDS_INTERVENTION") == report["prs"]["needs_intervention"]
            await page.goto(f"{url}/dashboard/success?days=1")
            [throughput] = await values(
                page, 'tr[data-metric="pr_throughput_per_week"] td[data-field="current"]'
            )
            assert round(float(throughput) / 7) == report["prs"]["merged"]  # merged in the last day
            await page.screenshot(path=str(ARTIFACTS / "dashboard-simulated-success.png"), full_page=True)
    finally:
        set_settings(None)
    assert problems == []


async def test_health_shows_the_reconciler_schedule(client: Client, fleet) -> None:
    from contracts.sweeps import RECONCILER_SCHEDULE_ID
    from domain.config import ReconcilerConfig
    from runtime.schedules import ensure_reconciler_schedule

    await ensure_reconciler_schedule(client, ReconcilerConfig(interval_seconds=3600), "no-worker")
    try:
        with served_starter(fleet, client, "no-worker") as url:
            health = await api(url, "/api/health")
            async with httpx.AsyncClient() as http:
                page = await http.get(f"{url}/dashboard/health", headers=bearer(READ_KEY))
    finally:
        await client.get_schedule_handle(RECONCILER_SCHEDULE_ID).delete()
    assert health["reconciler"]["available"] is True and health["reconciler"]["next"]
    assert f"data-reconciler='sweeps'>{health['reconciler']['sweeps']}<" in page.text


async def test_queues_page_shows_each_merge_queue_as_the_api_does(
    client: Client, fleet, browser_page
) -> None:
    from contracts.merge_queue import queue_workflow_id
    from tests.e2e.test_merge_queue_views import two_prs_in_a_queue
    from tests.support.stack import running_worker

    page, problems = browser_page
    async with running_worker(client) as queue:
        repo = await two_prs_in_a_queue(client, queue)
        try:
            with served_starter(fleet, client, queue) as url:
                await page.goto(f"{url}/dashboard/login")
                await page.fill("input[name=key]", READ_KEY)
                await follow(page, "button[type=submit]", "**/dashboard/needs-me")
                await follow(page, "nav >> text=Queues", "**/dashboard/queues")
                await page.goto(f"{url}/dashboard/queues?repo={repo}")
                [expected] = (await api(url, "/api/merge-queues", repo=repo))["queues"]
                prs = await page.eval_on_selector_all(
                    f'tr[data-queue="{repo}:main"]', "els => els.map(e => e.getAttribute('data-pr'))"
                )
                seats = [expected["holder"], *expected["waiting"]]
                assert prs == [s["pr"] for s in seats] == [f"{repo}#1", f"{repo}#2"]
                turns = await page.eval_on_selector_all(
                    "td[data-field=turn]", "els => els.map(e => e.textContent)"
                )
                assert turns == ["updating", "1"]
                assert await values(page, "td[data-field=nearness]") == [str(s["nearness"]) for s in seats]
                assert await page.inner_text("[data-count=queues]") == "1"
                await page.screenshot(path=str(ARTIFACTS / "dashboard-queues.png"), full_page=True)
        finally:
            await client.get_workflow_handle(queue_workflow_id(repo, "main")).terminate("test over")
    assert problems == []
