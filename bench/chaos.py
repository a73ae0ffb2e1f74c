"""The fault table of the README: the chaos tests (`tests/chaos`, real processes) run again, and what
each measured printed as one Markdown row: the fault, what was injected, how many PRs (or CI failures)
reached an end state, writes GitHub applied twice (same path and body, from the simulator's request
log), events lost (GitHub and Mender disagreeing once settled), and the seconds to settle. The floor is
the baseline row: the same fleet with no fault, in the same run (the ratio is each row's seconds over it).

Usage: .venv/bin/python bench/chaos.py [-k EXPR] [--workers N] (`make bench-chaos`). Exit code: pytest's.
Also printed: every test's duration (its stack's start is its module's first setup) and the 1-min load
average sampled through the run.
`--workers N` runs the test modules (one stack each) in N processes, as `make test` does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("fault", "injected", "ended", "doubled", "lost", "seconds")


def table(rows: list[dict[str, object]]) -> str:
    floor = next((float(r["seconds"]) for r in rows if str(r["fault"]).startswith("none")), None)
    lines = [
        "| fault | injected | ended | actions doubled | events lost | settled in (s) | vs baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        seconds = row.get("seconds")
        ratio = f"{float(seconds) / floor:.1f}" if floor and seconds is not None else "-"
        cells = [str(row.get(column, "-")) for column in COLUMNS]
        lines.append("| " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-k", default=None, help="only the chaos tests matching this pytest expression")
    parser.add_argument("--workers", type=int, default=1, help="pytest-xdist processes (one module each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mender-chaos-") as tmp:
        out = Path(tmp) / "table.jsonl"
        command = [sys.executable, "-m", "pytest", "tests/chaos", "-q", "-p", "no:cacheprovider"]
        command += ["--durations=0"]  # every test's setup (its stack) and call: the suite's cost
        command += ["-k", args.k] if args.k else []
        command += ["-n", str(args.workers), "--dist", "loadfile"] if args.workers > 1 else []
        started, loads = time.monotonic(), [os.getloadavg()[0]]
        run = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "MENDER_CHAOS_TABLE": str(out)})
        while True:  # the 1-min load average every 10 s: what the times were measured under
            try:
                code = run.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                loads.append(os.getloadavg()[0])
        wall = time.monotonic() - started
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    print(table(rows))
    doubled = sum(int(r["doubled"]) for r in rows)
    lost = sum(int(r["lost"]) for r in rows)
    print(
        f"\n{len(rows)} faults, {doubled} actions doubled, {lost} events lost; pytest exit {code}; {wall:.0f} s"
    )
    print(
        f"1-min load average during the run: {min(loads):.1f}-{max(loads):.1f}, mean {sum(loads) / len(loads):.1f}"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
