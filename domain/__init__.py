"""Mender's rules as pure functions and pydantic models: no I/O, no Temporal."""
