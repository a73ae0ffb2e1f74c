"""The GitHub simulator as its own process (`python -m simulators.github`), for benchmarks of large fleets.

Real GitHub is remote: in the bench process the simulator shares one interpreter lock with the starter
(and, with `--worker-in-process`, the worker), and a fleet's reads wait on it. `simulator_process`
starts it on its own port and yields a `RemoteGitHub`: what `mender simulate`'s engine asks the
in-process `Simulator` for (run a scenario, its report, the request log), over its control API.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from simulators.github import Scenario
from starter.children import stop_process

CONTROL = "/_sim"


class _State:
    def __init__(self, remote: RemoteGitHub) -> None:
        self._remote = remote

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every REST call the simulator answered (its last 50,000), oldest first."""
        return self._remote.get("/requests")


class RemoteGitHub:
    """The parts of `simulators.github.Simulator` the simulate engine uses, over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(base_url=f"{url}{CONTROL}", timeout=60)
        self.state = _State(self)

    def get(self, path: str) -> Any:
        response = self._http.get(path)
        response.raise_for_status()
        return response.json()

    def report(self) -> dict[str, Any]:
        return self.get("/report")

    def start_scenario(self, scenario: Scenario) -> None:
        """Start the scenario in the simulator (it opens the PRs in the background)."""
        body = scenario.model_dump(mode="json", exclude_none=True)
        self._http.post("/scenario", json=body).raise_for_status()

    async def run_scenario(self, scenario: Scenario) -> None:
        """Start the scenario; returns once the simulator has opened all its PRs."""
        self.start_scenario(scenario)
        expected = scenario.total_prs
        while len(self.report().get("prs", [])) < expected:
            await asyncio.sleep(1.0)

    def close(self) -> None:
        self._http.close()


@contextmanager
def simulator_process(
    port: int, webhook_url: str | None, webhook_secret: str, log_path: Path, timeout: float = 60
) -> Iterator[RemoteGitHub]:
    """`python -m simulators.github` on `port` until the block ends; yields once it answers."""
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "simulators.github", "--port", str(port), "--log-level", "warning"]
    command += ["--base-url", url] + (["--webhook-url", webhook_url] if webhook_url else [])
    env = {**os.environ, "MENDER_WEBHOOK_SECRET": webhook_secret}
    root = Path(__file__).resolve().parents[1]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
        remote = RemoteGitHub(url)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the GitHub simulator exited with {process.returncode}")
                try:
                    remote.get("/health")
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the GitHub simulator does not answer on {url}") from None
                    time.sleep(0.2)
            yield remote
        finally:
            remote.close()
            stop_process(process)
