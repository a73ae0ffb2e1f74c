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
from tests.support.patience import patient

ROOT = Path(__file__).parents[2]


def test_demo_scenario_uses_every_fault() -> None:
    demo = load_scenario(ROOT / "scenarios" / "demo.yaml")
    assert demo.repos == ["acme/api", "acme/web"]
    assert {fault for group in demo.prs for fault in group.faults} == KNOWN_FAULTS
    assert [fault.type for fault in demo.world_faults] == ["github_outage", "webhook_loss", "webhook_reorder"]
    assert any(group.faults == [] for group in demo.prs)  # healthy PRs too
    assert demo.config["mode"] == "act" and demo.config["remediation"]["close_and_reopen"] is True
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
    assert {
        "flaky_checks",
        "genuine_failure",
        "behind_base",
        "merge_conflict",
        "policy_bot_missed",
        "approver_bot_missed",
        "automerge_missed",
    } == KNOWN_FAULTS
    with pytest.raises(ValueError) as error:
        load_scenario({"prs": [{"count": 1, "faults": ["flaky_checks", "flaky"]}]})
    message = str(error.value)
    assert "prs[0].faults" in message and "unknown fault(s) ['flaky']" in message
    assert "known faults: approver_bot_missed, automerge_missed, behind_base, flaky_checks" in message


def test_world_faults_config_and_comments() -> None:
    scenario = load_scenario(
        """
prs:
  - count: 2
    faults: [flaky_checks, policy_bot_missed]
    comments:
      - {author: octocat, body: /policy-bot recheck, after_seconds: 5}
      - {body: looks good}
world_faults:
  - {type: github_outage, start_seconds: 20, duration_seconds: 30}
  - {type: webhook_loss, rate: 0.3}
config:
  mode: act
  lifecycle: {terminal_grace_seconds: 1}
"""
    )
    outage, loss = scenario.world_faults
    assert (outage.type, outage.start_seconds, outage.duration_seconds) == ("github_outage", 20, 30)
    assert (loss.type, loss.rate) == ("webhook_loss", 0.3)
    assert scenario.config == {"mode": "act", "lifecycle": {"terminal_grace_seconds": 1}}
    first, second = scenario.prs[0].comments
    assert (first.author, first.body, first.after_seconds) == ("octocat", "/policy-bot recheck", 5)
    assert (second.author, second.after_seconds) == ("octocat", 0)
    assert load_scenario(scenario.model_dump(mode="json")) == scenario
    bare = load_scenario({"prs": [{"count": 1}]})
    assert (bare.world_faults, bare.config, bare.prs[0].comments) == ([], {}, [])


@pytest.mark.parametrize(
    ("world_faults", "where"),
    [
        ([{"type": "meteor_strike"}], "world_faults[0]: Input tag 'meteor_strike'"),
        ([{"start_seconds": 1}], "world_faults[0]: Unable to extract tag using discriminator 'type'"),
        ([{"type": "webhook_loss", "rate": 1.5}], "world_faults[0].webhook_loss.rate"),
        (
            [{"type": "github_outage", "duration_seconds": 0}],
            "world_faults[0].github_outage.duration_seconds",
        ),
        ([{"type": "github_outage", "length": 3}], "world_faults[0].github_outage.length"),
        ({"type": "github_outage"}, "world_faults: Input should be a valid list"),
    ],
)
def test_bad_world_faults_name_the_key(world_faults: object, where: str) -> None:
    with pytest.raises(ValueError) as error:
        load_scenario({"prs": [{"count": 1}], "world_faults": world_faults})
    assert where in str(error.value)


def test_bad_comments_and_config() -> None:
    with pytest.raises(ValueError, match=r"prs\[0\]\.comments\[0\]\.body: Field required"):
        load_scenario({"prs": [{"count": 1, "comments": [{"author": "octocat"}]}]})
    with pytest.raises(ValueError, match=r"after_seconds"):
        load_scenario({"prs": [{"count": 1, "comments": [{"body": "hi", "after_seconds": -1}]}]})
    with pytest.raises(ValueError, match=r"config: Input should be a valid dictionary"):
        load_scenario({"prs": [{"count": 1}], "config": ["mode", "act"]})


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
        deadline, report = time.monotonic() + patient(10), {}
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
