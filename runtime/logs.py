"""Logging setup shared by every process: plain timestamped lines, and no secret in any of them.

`install_log_redaction` replaces the log record factory, the one place every record of the process is
made (Mender's, uvicorn's, Temporal's, the HTTP clients'): each record's message is formatted and
redacted (`domain.shared.redaction.redact`) at once, and so is the traceback of an exception it
carries, before any handler or test capture sees it. The message is also made one line: control
characters (newlines, NUL, escape sequences ...) are escaped, so user text in it (comment bodies, branch
names, delivery ids) cannot forge a log line or drive a terminal.
"""

import logging
from typing import Any

from domain.shared.redaction import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Every C0 control but tab, DEL, C1 controls and Unicode line/paragraph separators -> a visible escape.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0)) if code != 0x09} | {
    0x0A: "\\n",
    0x0D: "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(text: str) -> str:
    """`text` with its control characters escaped (`\\n`, `\\x00`, ...): one printable line."""
    return text.translate(_ESCAPES)


_formatter = logging.Formatter()
_original_factory = logging.getLogRecordFactory()


def _redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _original_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what can be shown
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = one_line(redact(message)), ()
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
