"""A GitHub simulator speaking real HTTP: REST subset for PyGithub, simulated CI and bots, signed webhooks.

Scenarios (scenario.py) open bot PRs that may carry faults (faults.py: flaky or genuinely failing
checks, a base that moves or conflicts, a bot that misses its cue) and add world faults
(world_faults.py: GitHub outages, webhook loss); scenarios may also start failing GitHub Actions
pipelines (pipelines.py: runs with real logs, re-runs, `mender/ci-fix/` branches, incident issues).
`sim.report()` tells what became of each PR and each pipeline.

sim = Simulator(SimulatorConfig(webhook_url="http://127.0.0.1:8000/webhooks/github", webhook_secret="s"))
server = ServerThread(create_app(sim)).start()
sim.set_base_url(server.url)
await sim.run_scenario(load_scenario("scenarios/demo.yaml"))
"""

from simulators.github.api import create_app
from simulators.github.delivery import signature_256
from simulators.github.faults import KNOWN_FAULTS
from simulators.github.scenario import Scenario, Timing, load_scenario
from simulators.github.simulator import Simulator, SimulatorConfig

__all__ = [
    "KNOWN_FAULTS",
    "Scenario",
    "Simulator",
    "SimulatorConfig",
    "Timing",
    "create_app",
    "load_scenario",
    "signature_256",
]
