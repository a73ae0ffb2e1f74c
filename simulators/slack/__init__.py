"""A Slack Web API simulator speaking real HTTP, for slack-sdk's WebClient.

sim = SlackSimulator()                      # channels general, mender-escalations, mender-ops
server = ServerThread(create_app(sim)).start()
client = WebClient(token="xoxb-test", base_url=f"{server.url}/api/")
"""

from simulators.slack.api import create_app
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
    "Fault",
    "Message",
    "SlackError",
    "SlackSimulator",
    "create_app",
    "validate_blocks",
]
