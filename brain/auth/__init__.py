"""Accounts, roles and permissions, sessions, API tokens and login throttling."""
