"""CLI: `python -m simulators.gitlab --host 127.0.0.1 --port 8092 [--webhook-url URL] [--ci-seconds S]`.

The webhook token comes from env `MENDER_GITLAB_WEBHOOK_TOKEN` (default `dev-gitlab-webhook-token`).
"""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from simulators.gitlab.api import create_app
from simulators.gitlab.config import DEV_WEBHOOK_TOKEN
from simulators.gitlab.simulator import GitLabSimConfig, GitLabSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.gitlab", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument(
        "--webhook-url", default=None, help="where to POST Pipeline Hooks (none: no delivery)"
    )
    parser.add_argument("--base-url", default=None, help="URL clients use to reach this server")
    parser.add_argument("--ci-seconds", type=float, default=3.0, help="how long a retried job runs")
    parser.add_argument("--loss-rate", type=float, default=0.0, help="share of webhook deliveries dropped")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--token", default=None, help="accept only this API token (default: any)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    config = GitLabSimConfig(
        webhook_url=args.webhook_url,
        webhook_token=os.environ.get("MENDER_GITLAB_WEBHOOK_TOKEN", DEV_WEBHOOK_TOKEN),
        ci_seconds=args.ci_seconds,
        loss_rate=args.loss_rate,
        seed=args.seed,
        base_url=args.base_url or f"http://{host}:{args.port}",
        token=args.token,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(create_app(GitLabSimulator(config)), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
