"""How long a test waits for an observable condition before it calls the wait failed.

A wait's timeout is a guard against hangs, not a timing assertion: on a loaded machine (CI on 2 cores,
`pytest -n`, other jobs) processes start and workflows run several times slower than on a quiet one.
Every polling helper stretches its timeout by `PATIENCE` (env `MENDER_TEST_PATIENCE`, default 3), so a
passing test costs nothing extra and only a genuinely stuck one waits longer before it fails.
"""

from __future__ import annotations

import os

PATIENCE = max(1.0, float(os.environ.get("MENDER_TEST_PATIENCE", "3")))


def patient(seconds: float) -> float:
    """The timeout to use for a wait written as `seconds` on a quiet machine."""
    return seconds * PATIENCE
