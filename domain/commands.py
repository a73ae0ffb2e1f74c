"""PR commands: one grammar and one validity table for every source (comment, Admin API, CLI, reconciler).

(Contract skeleton: the grammar and table are filled in by the commands work.)
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

COMMAND_UPDATE = "command"  # the PR workflow's update name


class CommandSource(StrEnum):
    COMMENT = "comment"
    API = "api"
    CLI = "cli"
    RECONCILER = "reconciler"


class CommandRequest(BaseModel):
    """One command for one PR workflow (the argument of the `command` update)."""

    model_config = ConfigDict(frozen=True)

    command: str  # e.g. "/rebuild"
    requester: str  # GitHub login, API key name, ...
    source: CommandSource
    idempotency_key: str = Field(min_length=1)  # e.g. "comment:<id>:/rebuild"; a repeat runs nothing twice


class CommandAnswer(BaseModel):
    """The PR workflow's answer to a command."""

    model_config = ConfigDict(frozen=True)

    accepted: bool
    command: str
    reason: str  # why it was refused, or what was started
    duplicate: bool = False  # the idempotency key was seen before: this is the earlier answer
