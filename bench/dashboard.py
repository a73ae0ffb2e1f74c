"""Dashboard and report cost on a simulated fleet, against the floor of reading the same rows.

Writes `--prs` bot PRs (and a CI failure per two PRs) of a simulated 30-day history into a fresh
SQLite store, then times, median of `--runs`:
  * floor: reading every `pull_request`, `pr_event` and `ci_failure` row with plain sqlite3
  * each dashboard page over HTTP (Needs me, Success, CI, Health) and `mender report roi --format html`
and prints each one's ratio to the floor. Figures are printed, never asserted.
Usage: .venv/bin/python bench/dashboard.py [--prs 600] [--runs 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from domain.reports.success import Window
from runtime.settings import set_settings
from starter.app import create_app
from starter.reports import ReportFormat, ReportKind, build, render
from store.db import engine_for
from tests.support.admin_api import READ_KEY, admin_settings, bearer
from tests.support.history import END, START, write_history


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prs", type=int, default=600)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = admin_settings(Path(tmp), lifecycle={})
        engine = engine_for(settings.database_url)
        write_history(engine, prs=args.prs, ci_failures=args.prs // 2)
        db = Path(tmp) / "mender.db"

        def floor() -> None:
            with sqlite3.connect(db) as raw:
                for table in ("pull_request", "pr_event", "ci_failure"):
                    raw.execute(f"SELECT * FROM {table}").fetchall()

        base = median_seconds(floor, args.runs)
        events = sqlite3.connect(db).execute("SELECT count(*) FROM pr_event").fetchone()[0]
        print(f"fleet: {args.prs} PRs, {events} journal events, {args.prs // 2} CI failures")
        print(f"floor (plain sqlite3 read of the rows): {base * 1000:8.1f} ms")
        pinned = f"end={END.isoformat().replace('+00:00', 'Z')}"
        with TestClient(create_app(settings)) as http:
            for page in ("needs-me", "success", "ci", "health"):
                url = f"/dashboard/{page}?{pinned}" + ("&hours=720" if page == "health" else "")

                def get(url: str = url) -> None:
                    assert http.get(url, headers=bearer(READ_KEY)).status_code == 200

                took = median_seconds(get, args.runs)
                print(f"dashboard {page:9s}: {took * 1000:8.1f} ms  ({took / base:6.1f} x floor)")
        window = Window(START, END)
        took = median_seconds(
            lambda: render(build(ReportKind.ROI, engine, settings.config, window), ReportFormat.HTML),
            args.runs,
        )
        print(f"report roi (html)  : {took * 1000:8.1f} ms  ({took / base:6.1f} x floor)")
        set_settings(None)


if __name__ == "__main__":
    main()
