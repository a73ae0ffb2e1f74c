"""Every side effect, one module per outside system; idempotent, with typed inputs and outputs."""
