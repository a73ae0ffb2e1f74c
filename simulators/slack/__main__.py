"""CLI: `python -m simulators.slack --host 127.0.0.1 --port 8091 [--channel NAME ...] [--token xoxb-...]
[--interactivity-url URL] [--signing-secret S]`."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.slack.api import create_app
from simulators.slack.model import DEFAULT_CHANNELS, SlackSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--channel", action="append", default=[], help="extra channel to create (repeatable)")
    parser.add_argument("--token", default=None, help="accept only this bot token (default: any xoxb-/xoxp-)")
    parser.add_argument("--interactivity-url", default=None, help="where button clicks are POSTed")
    parser.add_argument("--signing-secret", default=None, help="signs clicks (default: the dev secret)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    sim = SlackSimulator(
        channels=(*DEFAULT_CHANNELS, *args.channel),
        token=args.token,
        interactivity_url=args.interactivity_url,
    )
    if args.signing_secret:
        sim.signing_secret = args.signing_secret
    uvicorn.run(create_app(sim), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
