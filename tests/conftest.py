"""Shared fixtures: the running stack (`tests/support/running_stack.py`) and compiled redaction rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from domain.shared.redaction import redact
from tests.support.running_stack import client, settings, slack_served, temporal_env

__all__ = ["client", "settings", "slack_served", "temporal_env"]  # fixtures every test may ask for

FIXTURES = Path(__file__).parent / "fixtures"

# Hypothesis' per-example deadline is a timing assertion; on a loaded CI machine it fails tests whose
# behaviour is right. Properties here are checked for what they return, never for how fast.
hypothesis_settings.register_profile("mender", deadline=None)
hypothesis_settings.load_profile("mender")


@pytest.fixture(scope="session", autouse=True)
def redaction_rules_compiled() -> None:
    """Compile the redaction rules (~0.3 s, once per process) before any test, outside Hypothesis' deadlines."""
    redact("warm-up")
