"""A Slack Web API simulator speaking real HTTP, for slack-sdk's WebClient.

sim = SlackSimulator()                      # general, mender-escalations, mender-ops, mender-ci, ...
server = ServerThread(create_app(sim)).start()
client = WebClient(token="xoxb-test", base_url=f"{server.url}/api/")
sim.interactivity_url = "http://127.0.0.1:8090/slack/interactivity"
sim.click(channel, ts, "mender_approve", "U123", "alice")   # a user clicks a button: signed POST to the app
"""

from simulators.slack.api import create_app
from simulators.slack.interactivity import Approver, ClickResult, block_actions_payload, signed_form
from simulators.slack.model import (
    DEFAULT_CHANNELS,
    Fault,
    Message,
    SlackError,
    SlackSimulator,
    validate_blocks,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "Approver",
    "ClickResult",
    "Fault",
    "Message",
    "SlackError",
    "SlackSimulator",
    "block_actions_payload",
    "create_app",
    "signed_form",
    "validate_blocks",
]
