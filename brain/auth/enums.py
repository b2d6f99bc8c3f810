"""Roles, permissions and the one table that joins them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WALL = "wall"  # the video-wall PC: read-only, personal data masked
    OPERATOR = "operator"  # watches the wall, acknowledges alarms
    DISPATCHER = "dispatcher"  # assigns and moves cases
    LEADER = "leader"  # reads indicators and exports
    ADMIN = "admin"  # accounts, tokens, audit log
    INTAKE = "intake"  # service: hotline/app systems that open cases
    GATEWAY = "gateway"  # service: IoT gateway posting alarms and heartbeats
    FIELD = "field"  # a field person tied to one staff member (the phone app), or a service posting positions
    SUPERVISOR = "supervisor"  # a field supervisor tied to one staff member: verifies (核查) others' work


class Permission(StrEnum):
    VIEW_MAP = "view_map"  # live map: poles, cases, alarms, staff positions (masked)
    READ_STAFF = "read_staff"  # staff list with duties
    READ_CASES = "read_cases"
    OPEN_CASE = "open_case"
    MOVE_CASE = "move_case"  # transitions and assignment
    HANDLE_ALARM = "handle_alarm"  # acknowledge, clear
    INGEST_ALARM = "ingest_alarm"
    INGEST_POSITION = "ingest_position"
    READ_KPI = "read_kpi"
    EXPORT = "export"
    READ_PERSONAL = "read_personal"  # may ask to unmask personal data (each unmasking is logged)
    READ_AUDIT = "read_audit"
    MANAGE_ACCOUNTS = "manage_accounts"
    FIELD_WORK = "field_work"  # receive, accept, handle one's own tasks (a person tied to a staff member)
    VERIFY = "verify"  # verify handled cases in the field, never one's own
    REPLAY = "replay"  # play the district's past back (each window looked at is audited)


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.WALL: frozenset({P.VIEW_MAP}),
    Role.OPERATOR: frozenset({P.VIEW_MAP, P.READ_STAFF, P.READ_CASES, P.HANDLE_ALARM}),
    Role.DISPATCHER: frozenset({P.VIEW_MAP, P.READ_STAFF, P.READ_CASES, P.OPEN_CASE, P.MOVE_CASE, P.HANDLE_ALARM,
                                P.READ_PERSONAL, P.REPLAY}),
    Role.LEADER: frozenset({P.VIEW_MAP, P.READ_STAFF, P.READ_CASES, P.READ_KPI, P.EXPORT, P.REPLAY}),
    Role.ADMIN: frozenset(Permission),
    Role.INTAKE: frozenset({P.OPEN_CASE, P.READ_CASES, P.VIEW_MAP}),
    Role.GATEWAY: frozenset({P.INGEST_ALARM}),
    Role.FIELD: frozenset({P.INGEST_POSITION, P.FIELD_WORK}),
    Role.SUPERVISOR: frozenset({P.INGEST_POSITION, P.FIELD_WORK, P.VERIFY}),
}

HUMAN_ROLES = frozenset({Role.WALL, Role.OPERATOR, Role.DISPATCHER, Role.LEADER, Role.ADMIN, Role.FIELD,
                         Role.SUPERVISOR})
STAFF_ROLES = frozenset({Role.FIELD, Role.SUPERVISOR})  # a person of these roles is one staff member
