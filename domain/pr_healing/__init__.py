"""PR healing: lifecycle state machine, events and facts, stale classifier, remediation, commands."""
