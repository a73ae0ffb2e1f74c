"""The one intake path: verify -> parse into a typed payload -> events -> dispatch -> answer.

Each source (`github.py`, `gitlab.py`, `slack.py`) says how its deliveries are verified, named,
bounded, parsed, translated and answered; the pipeline (`pipeline.py`) does the rest the same way for
all (an approval click is delivered by `approvals.py`). To add a webhook source: one module with a
`Source` and one route in `starter/webhooks.py`.
"""
