"""The review queue page of the dashboard in a real headless Chromium: it lists what `GET /api/review`
answers (pending by default, any status on request), each item with its PR link, score, route, why it
waits and the commands that work it; a blocked fix shows no approve command; no console errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.client import Client

from domain.ci_healing.review_queue import ReviewItem, ReviewStatus
from store import review_queue
from store.db import engine_for
from tests.e2e.test_dashboard import ARTIFACTS, browser_page, follow  # noqa: F401 (the fixture)
from tests.support.admin_api import READ_KEY, admin_settings, bearer, served_starter


def _item(n: int, route: str, hours: float) -> ReviewItem:
    return ReviewItem(
        workflow_id=f"fixpr/acme/api-{n}/{n}",
        repo=f"acme/api-{n}",
        pr_number=n,
        pr_url=f"https://github.example/acme/api-{n}/pull/{n}",
        title=f"Add the missing dependency <acme-sdk> #{n}",
        score=0.6 + n / 100,
        route=route,
        reasons=[f"confidence {0.6 + n / 100:.2f} < 0.80"] if route == "review" else ["high GHSA-1 in x"],
        created_at=datetime.now(UTC) - timedelta(hours=hours),
    )


async def test_the_review_queue_page_shows_what_the_api_answers(
    client: Client,
    tmp_path: Path,
    browser_page,  # noqa: F811
) -> None:
    page, problems = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    settings = admin_settings(tmp_path)
    engine = engine_for(settings.database_url)
    for n, route, hours in [(1, "review", 30), (2, "blocked", 5), (3, "review", 1)]:
        review_queue.enqueue(engine, _item(n, route, hours))
    review_queue.resolve(
        engine, "fixpr/acme/api-3/3", ReviewStatus.REJECTED, "alice", "pin it", datetime.now(UTC)
    )
    with served_starter(settings, client, "no-worker") as url:
        await page.goto(f"{url}/dashboard/login")
        await page.fill("input[name=key]", READ_KEY)
        await follow(page, "button[type=submit]", "**/dashboard/needs-me")
        await follow(page, "nav >> text=Review queue", "**/dashboard/review")
        async with httpx.AsyncClient() as http:
            expected = (await http.get(f"{url}/api/review", headers=bearer(READ_KEY))).json()
        assert [i["id"] for i in expected] == [1, 2]  # pending, oldest first
        assert await page.inner_text("[data-count=review]") == "2"
        rows = await page.eval_on_selector_all(
            "tr[data-review]", "els => els.map(e => e.getAttribute('data-review'))"
        )
        assert rows == [str(i["id"]) for i in expected]
        for item in expected:
            row = f'tr[data-review="{item["id"]}"]'
            assert await page.get_attribute(f"{row} td[data-field=score]", "data-value") == str(
                round(item["score"], 2)
            )
            assert await page.get_attribute(f"{row} a", "href") == item["pr_url"]
            text = await page.inner_text(row)
            assert item["reasons"][0] in text and item["title"] in text  # escaped, shown as text
            approve = f"mender review approve {item['id']}"
            assert (approve in text) is (item["route"] != "blocked"), text
        await page.screenshot(path=str(ARTIFACTS / "dashboard-review.png"), full_page=True)

        await follow(page, "text=rejected")
        assert page.url.endswith("/dashboard/review?status=rejected")
        assert await page.inner_text("[data-count=review]") == "1"
        assert "rejected by alice: pin it" in await page.inner_text('tr[data-review="3"]')
        await page.goto(f"{url}/dashboard/review?status=all")
        assert await page.inner_text("[data-count=review]") == "3"
        response = await page.goto(f"{url}/dashboard/review?status=bogus")
        assert response is not None and response.status == 422
    assert problems == [] or all("422" in p for p in problems), problems
