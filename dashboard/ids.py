"""Every component id of the UI, in one place."""

URL = "url"
LOCALE_ZH = "locale-zh"
LOCALE_EN = "locale-en"
PAGE = "page"
NAV = "nav"
TITLE = "title"
CLOCK = "clock"
CLOCK_TICK = "clock-tick"
LIVE_TICK = "live-tick"
LIVE_PUSH = "live-push"  # the versions of cases and alarms, pushed with a change: the dispatcher's lists follow it
LIVE_CONTEXT = "live-context"  # the page's locale and path, as the page's live loop reads them
MAP = "district-map"
LEGEND = "map-legend"
LEGEND_GROUP = "legend-group"  # pattern: {"type": LEGEND_GROUP, "group": layer group}
POLE_CARD = "pole-card"  # a clicked pole: number, code, grid, committee, road, open cases there
COUNTERS = "counters"
COUNTER = "counter"  # prefix: counter-<name>
LIVE_STATUS = "live-status"
DEMO_BADGE = "demo-badge"
WHO = "who"
FEED = "feed"

# /dispatch
QUEUE = "dispatch-queue"
QUEUE_SIG = "dispatch-queue-signature"
QUEUE_ITEM = "queue-item"  # pattern: {"type": QUEUE_ITEM, "case": id}
FILTER_STATUS = "filter-status"
FILTER_CATEGORY = "filter-category"
FILTER_COMMITTEE = "filter-committee"
FILTER_CHANNEL = "filter-channel"
SELECTED = "selected-case"
REFRESH = "dispatch-refresh"
CARD_DRAWN = "card-drawn"  # the case and version the card shows: a move is made on that version
CARD = "case-card"
FIELD_PROGRESS = "case-field-progress"  # the selected case's task: delivered, read, ... verified, with times, photos
FIELD_SIG = "case-field-signature"  # what the progress shows now: redrawn only when that changes
ASSIGN = "assign"  # pattern: {"type": ASSIGN, "staff": id}
ASSIGN_ANY = "assign-any"  # pattern: {"type": ASSIGN_ANY, "staff": id}: picked when nobody was recommended
MOVE = "move"  # pattern: {"type": MOVE, "to": status}
MERGE = "merge"  # pattern: {"type": MERGE, "into": case id}
SPAM = "spam"  # pattern: {"type": SPAM, "case": case id}: mark the residents' reports of the case as spam
NOTE = "move-note"
MESSAGE = "dispatch-message"
NEW_POLE = "new-pole"
NEW_CATEGORY = "new-category"
NEW_CHANNEL = "new-channel"
NEW_DESCRIPTION = "new-description"
NEW_SUBMIT = "new-submit"
NEW_CONFIRM = "new-confirm"
NEW_RESULT = "new-result"

# /audit
AUDIT_ACTOR = "audit-actor"
AUDIT_ACTION = "audit-action"
AUDIT_DAY = "audit-day"
AUDIT_TABLE = "audit-table"
BANNER = "takeover-banner"
ALARM_PANEL = "alarm-panel"
FRESHNESS = "freshness"
ALARM_SIG = "alarm-panel-signature"
ALARM_ACK = "alarm-ack"  # pattern: {"type": ALARM_ACK, "alarm": id}
ALARM_WELFARE = "alarm-welfare"  # pattern: {"type": ALARM_WELFARE, "alarm": id, "outcome": ...}
ALARM_CLEAR = "alarm-clear"  # pattern: {"type": ALARM_CLEAR, "alarm": id}
ALARM_MESSAGE = "alarm-message"

# /kpi
KPI_WINDOW = "kpi-window"
KPI_DATES = "kpi-dates"
KPI_BY = "kpi-by"
KPI_TILES = "kpi-tiles"
KPI_TILE = "kpi-tile"  # pattern: {"type": KPI_TILE, "key": indicator}
KPI_CELL = "kpi-cell"  # pattern: {"type": KPI_CELL, "key": indicator, "group": value}
KPI_TREND = "kpi-trend"
KPI_TOP = "kpi-top"
KPI_HOTSPOTS = "kpi-hotspots"
KPI_OTHER = "kpi-other"
KPI_TABLE = "kpi-table"
KPI_PICK = "kpi-pick"
KPI_DRILL = "kpi-drill"
KPI_DRILL_ROW = "kpi-drill-row"  # pattern: {"type": KPI_DRILL_ROW, "case": id}
KPI_TIMELINE = "kpi-timeline"
KPI_EXPORT_CSV = "kpi-export-csv"
KPI_EXPORT_XLSX = "kpi-export-xlsx"
KPI_DOWNLOAD = "kpi-download"
KPI_TICK = "kpi-tick"
KPI_ROTATE = "kpi-rotate"
