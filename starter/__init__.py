"""Entry points that start or signal workflows: webhooks, Admin API, CLI, the local stack."""
