"""CLI: `python -m simulators.llm --host 127.0.0.1 --port 8093 [--api-key sk-...]`."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.llm.api import create_app
from simulators.llm.model import LLMSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any bearer token)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(LLMSimulator(api_key=args.api_key)),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
