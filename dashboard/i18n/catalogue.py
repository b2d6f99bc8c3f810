"""Strings by key and locale. A missing key fails loudly in tests, never silently on screen."""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "社区大脑", "en": "Community Brain"},
    "app.demo": {"zh-CN": "演示数据", "en": "Demo data"},
    "nav.wall": {"zh-CN": "大屏", "en": "Wall"},
    "nav.dispatch": {"zh-CN": "调度", "en": "Dispatch"},
    "nav.kpi": {"zh-CN": "指标", "en": "KPI"},
    "page.wall": {"zh-CN": "联合指挥中心", "en": "Joint command centre"},
    "page.dispatch": {"zh-CN": "案件调度", "en": "Case dispatch"},
    "page.kpi": {"zh-CN": "考核指标", "en": "Performance indicators"},
    "page.audit": {"zh-CN": "审计日志", "en": "Audit log"},
    "nav.audit": {"zh-CN": "审计", "en": "Audit"},
    "audit.at": {"zh-CN": "时间", "en": "Time"},
    "audit.actor": {"zh-CN": "操作人", "en": "Actor"},
    "audit.action": {"zh-CN": "动作", "en": "Action"},
    "audit.action_hint": {"zh-CN": "动作，如 auth.* 或 case.override", "en": "Action, e.g. auth.* or case.override"},
    "audit.subject": {"zh-CN": "对象", "en": "Subject"},
    "audit.source": {"zh-CN": "来源地址", "en": "From"},
    "audit.detail": {"zh-CN": "详情", "en": "Detail"},
    "audit.day": {"zh-CN": "日期", "en": "Day"},
    "page.not_found": {"zh-CN": "页面不存在", "en": "Page not found"},
    "auth.logout": {"zh-CN": "退出", "en": "Sign out"},
    "auth.forbidden": {"zh-CN": "您的角色无权查看此页面", "en": "Your role may not view this page"},
    "role.wall": {"zh-CN": "大屏", "en": "Wall"},
    "role.operator": {"zh-CN": "值班员", "en": "Operator"},
    "role.dispatcher": {"zh-CN": "调度员", "en": "Dispatcher"},
    "role.leader": {"zh-CN": "领导", "en": "Leader"},
    "role.admin": {"zh-CN": "管理员", "en": "Administrator"},
    "role.intake": {"zh-CN": "接入系统", "en": "Intake service"},
    "role.gateway": {"zh-CN": "物联网关", "en": "IoT gateway"},
    "role.field": {"zh-CN": "移动终端", "en": "Field app"},
    "layer.links": {"zh-CN": "推荐路线", "en": "Recommended"},
    "dispatch.queue": {"zh-CN": "案件队列", "en": "Case queue"},
    "dispatch.empty": {"zh-CN": "没有符合条件的在办案件", "en": "No open case matches"},
    "dispatch.filter.status": {"zh-CN": "阶段", "en": "Stage"},
    "dispatch.filter.category": {"zh-CN": "类别", "en": "Category"},
    "dispatch.filter.committee": {"zh-CN": "居委会", "en": "Committee"},
    "dispatch.filter.channel": {"zh-CN": "来源", "en": "Channel"},
    "dispatch.overdue": {"zh-CN": "超时", "en": "Overdue"},
    "dispatch.at_risk": {"zh-CN": "将超时", "en": "At risk"},
    "dispatch.recommend": {"zh-CN": "推荐处置力量", "en": "Recommended responders"},
    "dispatch.metric.road": {"zh-CN": "按道路步行距离", "en": "by walking distance along roads"},
    "dispatch.metric.straight": {"zh-CN": "按直线距离", "en": "by straight-line distance"},
    "dispatch.col.name": {"zh-CN": "姓名", "en": "Name"},
    "dispatch.col.team": {"zh-CN": "队伍", "en": "Team"},
    "dispatch.col.distance": {"zh-CN": "距离", "en": "Distance"},
    "dispatch.col.eta": {"zh-CN": "预计到达", "en": "ETA"},
    "dispatch.col.workload": {"zh-CN": "在办", "en": "Open cases"},
    "dispatch.col.action": {"zh-CN": "操作", "en": "Action"},
    "dispatch.assign": {"zh-CN": "派遣", "en": "Dispatch"},
    "dispatch.nobody": {"zh-CN": "附近没有可派遣的合适人员", "en": "Nobody suitable and available nearby"},
    "dispatch.excluded": {"zh-CN": "附近未推荐人员", "en": "Nearby, not recommended"},
    "dispatch.moves": {"zh-CN": "流转", "en": "Move to"},
    "dispatch.note": {"zh-CN": "说明（处置结果、回复、缓办或作废原因、改派原因）",
                      "en": "Note (result, reply, reason to defer, cancel or re-assign)"},
    "dispatch.timeline": {"zh-CN": "案件记录", "en": "Timeline"},
    "dispatch.assigned_to": {"zh-CN": "派遣给", "en": "Assigned to"},
    "dispatch.override": {"zh-CN": "改派", "en": "override"},
    "dispatch.auto": {"zh-CN": "自动派遣", "en": "auto-dispatch"},
    "dispatch.conflict": {"zh-CN": "案件已被他人修改，已刷新，请重新操作",
                          "en": "Someone else changed this case; reloaded"},
    "dispatch.done": {"zh-CN": "操作成功", "en": "Done"},
    "dispatch.gone": {"zh-CN": "案件不存在", "en": "No such case"},
    "dispatch.new": {"zh-CN": "新建案件（一号定位）", "en": "New case by pole number"},
    "dispatch.pole": {"zh-CN": "杆号，如 0412", "en": "Pole number, e.g. 0412"},
    "dispatch.category": {"zh-CN": "案件类别", "en": "Category"},
    "dispatch.channel": {"zh-CN": "来源渠道", "en": "Channel"},
    "dispatch.description": {"zh-CN": "问题描述", "en": "Description"},
    "dispatch.create": {"zh-CN": "新建", "en": "Create"},
    "dispatch.create_anyway": {"zh-CN": "不是重复，仍然新建", "en": "Not a duplicate: create anyway"},
    "dispatch.duplicates": {"zh-CN": "同类在办案件就在附近，可能重复：", "en": "Likely duplicates nearby:"},
    "dispatch.merge_into": {"zh-CN": "作为重复并入", "en": "Merge into"},
    "dispatch.created": {"zh-CN": "已新建案件", "en": "Case created"},
    "dispatch.missing": {"zh-CN": "请填写杆号、类别和来源", "en": "Give pole number, category and channel"},
    "dispatch.unknown_pole": {"zh-CN": "没有这个杆号。相近的杆号：", "en": "No such pole. Closest:"},
    "reason.off_duty": {"zh-CN": "离岗", "en": "off duty"},
    "reason.busy": {"zh-CN": "正在处置其他案件", "en": "busy"},
    "reason.wrong_duty": {"zh-CN": "职责不符", "en": "wrong duty"},
    "reason.position_stale": {"zh-CN": "位置过期", "en": "position stale"},
    "reason.too_far_by_road": {"zh-CN": "道路距离过远", "en": "too far by road"},
    "counter.open_cases": {"zh-CN": "在办案件", "en": "Open cases"},
    "counter.overdue": {"zh-CN": "超时案件", "en": "Overdue"},
    "counter.unacknowledged_alarms": {"zh-CN": "未确认告警", "en": "Unacknowledged alarms"},
    "counter.staff_on_duty": {"zh-CN": "在岗人员", "en": "Staff on duty"},
    "live.updated": {"zh-CN": "更新于", "en": "Updated"},
    "live.error": {"zh-CN": "数据暂不可用", "en": "Data unavailable"},
    "layer.boundary": {"zh-CN": "街道边界", "en": "District boundary"},
    "layer.committees": {"zh-CN": "居委会", "en": "Committees"},
    "layer.grid": {"zh-CN": "单元网格", "en": "Grid cells"},
    "layer.roads": {"zh-CN": "道路", "en": "Roads"},
    "layer.poles": {"zh-CN": "杆号", "en": "Numbered poles"},
    "layer.cases": {"zh-CN": "在办案件", "en": "Open cases"},
    "layer.alarms": {"zh-CN": "告警", "en": "Alarms"},
    "layer.staff": {"zh-CN": "人员位置", "en": "Staff positions"},
    "hover.pole": {"zh-CN": "杆号", "en": "Pole"},
    "hover.code": {"zh-CN": "部件编码", "en": "Code"},
    "hover.grid": {"zh-CN": "网格", "en": "Grid"},
    "hover.committee": {"zh-CN": "居委会", "en": "Committee"},
    "hover.status": {"zh-CN": "状态", "en": "Status"},
    "hover.channel": {"zh-CN": "来源", "en": "Channel"},
    "hover.age": {"zh-CN": "已历时", "en": "Age"},
    "hover.left": {"zh-CN": "本阶段剩余", "en": "Stage time left"},
    "hover.min": {"zh-CN": "分钟", "en": "min"},
    "hover.device": {"zh-CN": "设备", "en": "Device"},
    "hover.count": {"zh-CN": "次数", "en": "Count"},
    "case.overdue": {"zh-CN": "已超时", "en": "OVERDUE"},
    "staff.stale": {"zh-CN": "位置过期", "en": "position stale"},
    "status.reported": {"zh-CN": "上报", "en": "Reported"},
    "status.registered": {"zh-CN": "立案", "en": "Registered"},
    "status.dispatched": {"zh-CN": "已派遣", "en": "Dispatched"},
    "status.handling": {"zh-CN": "处置中", "en": "Handling"},
    "status.handled": {"zh-CN": "处置完成", "en": "Handled"},
    "status.verified": {"zh-CN": "核查通过", "en": "Verified"},
    "status.closed": {"zh-CN": "结案", "en": "Closed"},
    "status.deferred": {"zh-CN": "缓办", "en": "Deferred"},
    "status.cancelled": {"zh-CN": "作废", "en": "Cancelled"},
    "status.merged": {"zh-CN": "已合并", "en": "Merged"},
    "duty.available": {"zh-CN": "空闲", "en": "Available"},
    "duty.en_route": {"zh-CN": "途中", "en": "En route"},
    "duty.on_scene": {"zh-CN": "在现场", "en": "On scene"},
    "duty.off_duty": {"zh-CN": "离岗", "en": "Off duty"},
    "severity.critical": {"zh-CN": "紧急", "en": "Critical"},
    "severity.major": {"zh-CN": "重要", "en": "Major"},
    "severity.minor": {"zh-CN": "次要", "en": "Minor"},
    "severity.warning": {"zh-CN": "提示", "en": "Warning"},
    "alarm.smoke": {"zh-CN": "烟感报警", "en": "Smoke"},
    "alarm.gas_leak": {"zh-CN": "燃气泄漏", "en": "Gas leak"},
    "alarm.low_battery": {"zh-CN": "电量低", "en": "Low battery"},
    "alarm.no_usage": {"zh-CN": "长时间无用水", "en": "No water use"},
    "alarm.leak": {"zh-CN": "漏水", "en": "Leak"},
    "alarm.no_activity": {"zh-CN": "长时间无活动", "en": "No activity"},
    "alarm.trapped": {"zh-CN": "电梯困人", "en": "Passenger trapped"},
    "alarm.fault": {"zh-CN": "电梯故障", "en": "Elevator fault"},
    "alarm.blocked": {"zh-CN": "消防通道占用", "en": "Fire lane blocked"},
    "alarm.throw_from_height": {"zh-CN": "高空抛物", "en": "Throw from height"},
    "alarm.unacknowledged": {"zh-CN": "未确认", "en": "not acknowledged"},
    "alarms.title": {"zh-CN": "告警", "en": "Alarms"},
    "alarms.none": {"zh-CN": "当前没有告警", "en": "No live alarm"},
    "alarms.acknowledge": {"zh-CN": "确认", "en": "Acknowledge"},
    "alarms.clear": {"zh-CN": "解除", "en": "Clear"},
    "alarms.acknowledged": {"zh-CN": "已确认", "en": "acknowledged"},
    "channel.hotline_12345": {"zh-CN": "12345热线", "en": "12345 hotline"},
    "channel.street_patrol": {"zh-CN": "街面巡查", "en": "Street patrol"},
    "channel.compound_patrol": {"zh-CN": "小区巡查", "en": "Compound patrol"},
    "channel.supervision": {"zh-CN": "督查", "en": "Supervision"},
    "channel.wechat": {"zh-CN": "微信/App", "en": "WeChat/app"},
    "channel.linkage_110": {"zh-CN": "110联动", "en": "110 linkage"},
    "channel.iot": {"zh-CN": "物联感知", "en": "IoT sensor"},
    "channel.video_ai": {"zh-CN": "视频智能", "en": "Video AI"},
    "channel.walk_in": {"zh-CN": "来访", "en": "Walk-in"},
}


def translator(locale: str | None) -> Callable[[str], str]:
    """A function key -> text in `locale` (falling back to zh-CN); an unknown key raises KeyError."""
    loc = locale if locale in LOCALES else DEFAULT_LOCALE

    def tr(key: str) -> str:
        entry = CATALOGUE[key]
        return entry.get(loc) or entry[DEFAULT_LOCALE]

    return tr


def names(tr: Callable[[str], str], prefix: str, keys) -> dict[str, str]:
    """Map each key to its translation under `prefix.`, keeping the key where none exists."""
    out = {}
    for k in keys:
        try:
            out[k] = tr(f"{prefix}.{k}")
        except KeyError:
            out[k] = k
    return out


def category_names(catalogue, locale: str | None) -> dict[str, str]:
    """Category code -> its name in `locale` (the catalogue carries both languages)."""
    return {c.code: (c.name if locale == DEFAULT_LOCALE or locale not in LOCALES else c.name_en) for c in catalogue}
