"""States and vocabularies of a case, as string enums."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    REPORTED = "reported"  # 上报
    REGISTERED = "registered"  # 立案
    DISPATCHED = "dispatched"  # 派遣
    HANDLING = "handling"  # 处置 (team on scene)
    HANDLED = "handled"  # 处置完成
    VERIFIED = "verified"  # 核查通过
    CLOSED = "closed"  # 结案
    DEFERRED = "deferred"  # 缓办
    CANCELLED = "cancelled"  # 作废
    MERGED = "merged"  # 合并 (duplicate of a parent case)

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset({CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.MERGED})


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Channel(StrEnum):
    """The nine problem-discovery channels, the residents' own page, and other systems by Open311."""

    HOTLINE = "hotline_12345"
    STREET_PATROL = "street_patrol"
    COMPOUND_PATROL = "compound_patrol"
    SUPERVISION = "supervision"
    WECHAT = "wechat"
    LINKAGE_110 = "linkage_110"
    IOT = "iot"
    VIDEO_AI = "video_ai"
    WALK_IN = "walk_in"
    WEB = "web"  # a resident's own report on the public page (the QR code on a pole)
    OPEN311 = "open311"  # another system's, by Open311, when its account names no channel of its own
