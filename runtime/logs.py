"""Logging setup shared by every process: plain timestamped lines, and no secret in any of them.

`install_log_redaction` replaces the log record factory, the one place every record of the process is
made (Mender's, uvicorn's, Temporal's, the HTTP clients'): each record's message is formatted and
redacted (`domain.shared.redaction.redact`) at once, and so is the traceback of an exception it
carries, before any handler or test capture sees it.
"""

import logging
from typing import Any

from domain.shared.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_formatter = logging.Formatter()
_original_factory = logging.getLogRecordFactory()


def _redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what can be shown
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    logging.setLogRecordFactory(_redacted_record)


def configure_logging(level: str = "INFO") -> None:
    """Plain, timestamped, redacted logs on stderr; noisy HTTP client loggers kept at WARNING."""
    install_log_redaction()
    logging.basicConfig(level=level, format=FORMAT)
    for noisy in ("httpx", "urllib3", "temporalio.activity", "temporalio.workflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
