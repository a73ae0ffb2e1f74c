"""`mender up` (what `make run` calls): the demo merges, a worker killed -9 comes back, and Ctrl-C
leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from runtime.serving import free_port
from store import repository
from store.db import engine_for

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """
seed: 3
repos: [acme/api, acme/web]
timing: {ci_start_seconds: 0.1, ci_seconds: 0.3, bot_delay_seconds: 0.1, open_interval_seconds: 0.1}
prs:
  - count: 2
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_line(lines: list[str], proc: subprocess.Popen, text: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while not (found := [line for line in lines if text in line]):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, f"no {text!r} in\n" + "".join(lines)
        time.sleep(0.2)
    return found[0]


def test_up_runs_the_demo_restarts_a_killed_worker_and_starter_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    data = tmp_path / "data"
    ports = [
        "--temporal-port",
        "--ui-port",
        "--starter-port",
        "--simulator-port",
        "--slack-port",
        "--gitlab-port",
    ]
    args = [
        str(Path(sys.executable).parent / "mender"),
        "up",
        "--scenario",
        str(scenario),
        "--data-dir",
        str(data),
    ]
    for flag in ports:
        args += [flag, str(free_port())]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "MENDER_DATABASE_URL")}
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        started = _wait_for_line(lines, proc, "started worker (pid")
        _wait_for_line(lines, proc, "Mender is up.")
        os.kill(int(re.findall(r"pid (\d+)", started)[0]), signal.SIGKILL)  # the demo needs a worker
        _wait_for_line(lines, proc, "exited with code -9; restarting it in 1 s")
        restarted = _wait_for_line(lines, proc, "restarting worker")
        starter = _wait_for_line(lines, proc, "started starter (pid")
        os.kill(int(re.findall(r"pid (\d+)", starter)[0]), signal.SIGKILL)  # webhooks now go nowhere
        _wait_for_line(lines, proc, "restarting starter")
        _wait_for_line(lines, proc, "Demo finished: 2 of 2 PRs merged")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=5)
    output = "".join(lines)
    assert "Temporal Web UI" in output and "first PR merged" in output
    assert "/dashboard   (Needs me, Success, CI, Health, Queues)" in output
    assert restarted and "exited with code -9; restarting it in 1 s" in output, output
    children = [int(pid) for pid in re.findall(r"started \S+ \(pid (\d+)\)", output)]
    assert len(children) == 8, output  # six, and the worker and the starter once more
    assert not [pid for pid in children if _alive(pid)], "processes left behind"
    states = [r.state for r in repository.list_prs(engine_for(f"sqlite:///{data / 'mender.db'}"))]
    assert states == ["MERGED", "MERGED"]
    assert (data / "temporal.db").exists()
