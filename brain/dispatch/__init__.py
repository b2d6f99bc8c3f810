"""Nearest suitable team: spatial index of available staff, recommend(), assign()."""
