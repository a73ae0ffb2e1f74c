"""Logging setup shared by every process."""

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Plain, timestamped logs on stderr; noisy HTTP client loggers kept at WARNING."""
    logging.basicConfig(level=level, format=FORMAT)
    for noisy in ("httpx", "urllib3", "temporalio.activity", "temporalio.workflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
