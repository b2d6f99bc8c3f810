"""Evaluation indicators computed from the event log."""
