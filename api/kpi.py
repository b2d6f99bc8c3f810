"""The indicators over a window, and the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.common import DENIALS, GATE, PREFIX, error
from api.schemas import AuditOut, ErrorOut, KpiOut
from api.security import requires
from brain.auth.enums import Permission as P
from brain.events import audit
from brain.kpi import service as kpi
from brain.runtime import Brain
from brain.storage.db import utcnow


def build_router(brain: Brain) -> APIRouter:
    r = APIRouter(prefix=PREFIX, responses=GATE)

    @r.get("/kpi", response_model=KpiOut, responses={422: {"model": ErrorOut}, **DENIALS},
           summary="Indicators with numerators and denominators, over the cases reported in a window",
           dependencies=[Depends(requires(P.READ_KPI))])
    def kpi_report(start: Annotated[str | None, Query(alias="from", max_length=40, description=(
                       "A local date (2026-11-10: from its midnight, Asia/Shanghai) or a time with a zone; "
                       "default: today"))] = None,
                   end: Annotated[str | None, Query(alias="to", max_length=40, description=(
                       "A local date (included: to its end) or a time with a zone (excluded); default: from's "
                       "day"))] = None,
                   by: Annotated[kpi.Dimension | None, Query(description="A breakdown")] = None,
                   lang: Annotated[str, Query(pattern="^(zh-CN|en)$")] = "zh-CN"):
        w = kpi.parse_window(start, end, now=utcnow(), tz=brain.settings.display_tz)
        return brain.kpi.report(w, by=by.value if by else None, locale=lang)


    @r.get("/audit", response_model=list[AuditOut], responses=DENIALS,
           summary="The audit log, newest first (admins)", dependencies=[Depends(requires(P.READ_AUDIT))])
    def audit_log(actor: Annotated[str | None, Query(max_length=100)] = None,
                  action: Annotated[str | None, Query(max_length=64)] = None,
                  subject: Annotated[str | None, Query(max_length=100)] = None,
                  since: datetime | None = None, until: datetime | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                  before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None):
        for name, t in (("since", since), ("until", until)):
            if t is not None and t.tzinfo is None:
                return error(422, f"{name}: give a time zone (e.g. 2026-11-22T08:00:00+08:00)")
            if t is not None and not kpi.EARLIEST <= t.date() <= kpi.LATEST:
                return error(422, f"{name} must lie between {kpi.EARLIEST} and {kpi.LATEST}")
        return audit.query(brain.db, actor=actor, action=action, subject=subject, since=since, until=until,
                           limit=limit, before_seq=before_seq)



    return r
