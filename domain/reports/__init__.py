"""Operator reports: baseline, POC, ROI, validation and the success metrics (pure formulas)."""
