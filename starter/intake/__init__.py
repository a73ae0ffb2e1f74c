"""The one webhook intake path: verify -> parse into a typed payload -> events -> dispatch -> answer.

Each source (`github.py`, `gitlab.py`) says how its deliveries are verified, named and translated; the
pipeline (`pipeline.py`) does the rest the same way for all. To add a webhook source: one module with a
`Source` and one route in `starter/webhooks.py`.
"""
