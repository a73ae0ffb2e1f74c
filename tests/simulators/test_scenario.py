"""Scenario loading: the demo file, the accepted sources, and clear errors naming the bad key."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runtime.serving import free_port
from simulators.github import KNOWN_FAULTS, Scenario, load_scenario

ROOT = Path(__file__).parents[2]


def test_demo_scenario_loads() -> None:
    demo = load_scenario(ROOT / "scenarios" / "demo.yaml")
    assert demo.repos == ["acme/api", "acme/web"]
    assert demo.total_prs == 6 and all(group.faults == [] for group in demo.prs)
    assert 2 <= demo.timing.ci_seconds <= 5 and 0.5 <= demo.timing.bot_delay_seconds <= 2
    assert load_scenario(demo.model_dump(mode="json")) == demo  # what POST /_sim/scenario receives


def test_sources_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("prs:\n  - count: 3\n    author: renovate[bot]\n")
    for source in (path, str(path), path.read_text(), {"prs": [{"count": 3, "author": "renovate[bot]"}]}):
        scenario = load_scenario(source)
        assert isinstance(scenario, Scenario)
        assert (scenario.seed, scenario.repos, scenario.total_prs) == (7, ["acme/api", "acme/web"], 3)
        assert scenario.prs[0].author == "renovate[bot]" and scenario.timing.ci_seconds == 3.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("prs: [{count: 1}]\ncolour: blue\n", "colour: Extra inputs are not permitted"),
        ("prs: [{count: 1, flaky: true}]\n", "prs[0].flaky"),
        ("prs: [{count: 2}, {count: -1}]\n", "prs[1].count"),
        ("prs: [{count: 1, faults: [gremlins]}]\n", "prs[0].faults"),
        ("timing: {ci_seconds: -1}\nprs: [{count: 1}]\n", "timing.ci_seconds"),
        ("timing: {ci_secs: 1}\nprs: [{count: 1}]\n", "timing.ci_secs"),
        ("repos: [acme]\nprs: [{count: 1}]\n", "repos"),
        ("seed: 3\n", "prs: Field required"),
        ("- just\n- a list\n", "must be a mapping"),
        ("prs: [{count: 1}\n", "not valid YAML"),
        ("missing/scenario.yaml", "scenario file not found"),
    ],
)
def test_bad_scenarios_name_the_key(text: str, where: str) -> None:
    with pytest.raises(ValueError) as error:
        load_scenario(text)
    assert where in str(error.value)


def test_unknown_fault_lists_known_faults() -> None:
    assert not KNOWN_FAULTS
    with pytest.raises(ValueError) as error:
        load_scenario({"prs": [{"count": 1, "faults": ["flaky"]}]})
    assert "unknown fault(s) ['flaky']" in str(error.value) and "known faults: none yet" in str(error.value)


def test_cli_serves_and_runs_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "fast.yaml"
    path.write_text(
        "repos: [acme/cli]\n"
        "timing: {ci_start_seconds: 0.05, ci_seconds: 0.1, bot_delay_seconds: 0.05, open_interval_seconds: 0}\n"
        "prs: [{count: 2}]\n"
    )
    port = free_port()
    command = [sys.executable, "-m", "simulators.github", "--port", str(port), "--scenario", str(path)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, report = time.monotonic() + 10, {}
        while time.monotonic() < deadline:
            try:
                report = httpx.get(f"http://127.0.0.1:{port}/_sim/report").json()
            except httpx.TransportError:
                report = {}
            if report.get("totals", {}).get("merged") == 2:
                break
            time.sleep(0.05)
        assert report["totals"] == {"prs": 2, "open": 0, "merged": 2, "closed": 0}
        pull = httpx.get(f"http://127.0.0.1:{port}/repos/acme/cli/pulls/1").json()
        assert pull["url"] == f"http://127.0.0.1:{port}/repos/acme/cli/pulls/1"
    finally:
        process.terminate()
        process.wait(timeout=10)
