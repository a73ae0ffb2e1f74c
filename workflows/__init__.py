"""Temporal workflow classes: deterministic and thin; every decision is a call into `domain/`."""
