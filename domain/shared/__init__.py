"""Policy shared by both halves: audit vocabulary, redaction, the circuit breaker, notices, admin settings."""
