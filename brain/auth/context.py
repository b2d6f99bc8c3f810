"""Who is acting in the current request (set by the web layer, read by views that filter by role)."""

from __future__ import annotations

from contextvars import ContextVar

from brain.auth.service import Principal

CURRENT: ContextVar[Principal | None] = ContextVar("brain_principal", default=None)


def current() -> Principal | None:
    return CURRENT.get()
