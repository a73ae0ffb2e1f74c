"""CLI: `python -m simulators.github --host 127.0.0.1 --port 9100 --webhook-url URL --scenario PATH`.

The webhook secret comes from env `MENDER_WEBHOOK_SECRET` (default `dev-webhook-secret`).
"""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from simulators.github.api import create_app
from simulators.github.scenario import load_scenario
from simulators.github.simulator import Simulator, SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.github", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--webhook-url", default=None, help="where to POST webhooks (none: no delivery)")
    parser.add_argument("--scenario", default=None, help="scenario YAML to start once the server is up")
    parser.add_argument("--base-url", default=None, help="URL clients use to reach this server")
    parser.add_argument("--first-pr-number", type=int, default=1, help="number of each repo's first PR")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ValueError as exc:
        parser.error(str(exc))
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    config = SimulatorConfig(
        webhook_url=args.webhook_url,
        webhook_secret=os.environ.get("MENDER_WEBHOOK_SECRET", "dev-webhook-secret"),
        base_url=args.base_url or f"http://{host}:{args.port}",
        first_pr_number=args.first_pr_number,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(Simulator(config), scenario)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
