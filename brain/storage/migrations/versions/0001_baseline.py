"""The schema of the releases before Alembic (made by create_all of their models)

Revision ID: 0001
Revises: (none: the first)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brain.storage.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('alarms',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('place_id', sa.String(length=20), nullable=True),
    sa.Column('first_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.Column('cleared_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by', sa.String(length=100), nullable=True),
    sa.Column('closed_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('false_alarm', sa.Boolean(), nullable=True),
    sa.Column('escalated_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('rung', sa.Integer(), nullable=True),
    sa.Column('rung_due_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('live_key', sa.String(length=80), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('live_key')
    )
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarms_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarms_state'), ['state'], unique=False)
        batch_op.create_index('ix_alarms_state_last', ['state', 'last_at'], unique=False)

    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('event_id', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('case_facts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', brain.storage.db.EpochSeconds(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('committee', sa.String(length=12), nullable=True),
    sa.Column('grid', sa.String(length=20), nullable=True),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('team', sa.String(length=40), nullable=True),
    sa.Column('staff', sa.String(length=40), nullable=True),
    sa.Column('pole', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('registered_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('dispatched_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('arrived_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('handled_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('closed_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('ever_deferred', sa.Boolean(), nullable=False),
    sa.Column('deferred_s', sa.Float(), nullable=False),
    sa.Column('rework', sa.Integer(), nullable=False),
    sa.Column('t_register', sa.Float(), nullable=True),
    sa.Column('t_dispatch', sa.Float(), nullable=True),
    sa.Column('t_arrive', sa.Float(), nullable=True),
    sa.Column('t_handle', sa.Float(), nullable=True),
    sa.Column('t_verify', sa.Float(), nullable=True),
    sa.Column('t_close', sa.Float(), nullable=True),
    sa.Column('dispatch_on_time', sa.Boolean(), nullable=True),
    sa.Column('handle_due_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('handle_on_time', sa.Boolean(), nullable=True),
    sa.Column('close_due_at', brain.storage.db.EpochSeconds(), nullable=False),
    sa.Column('close_on_time', sa.Boolean(), nullable=True),
    sa.Column('stage_due_at', brain.storage.db.EpochSeconds(), nullable=True),
    sa.Column('satisfaction', sa.String(length=24), nullable=True),
    sa.Column('response_m', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.create_index('ix_case_facts_reported', ['reported_at'], unique=False)

    op.create_table('committees',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('correlation_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_subject', ['subject_type', 'subject_id', 'seq'], unique=False)
        batch_op.create_index('ix_events_type_at', ['type', 'at'], unique=False)

    op.create_table('ingest_messages',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingest_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_messages_at'), ['at'], unique=False)

    op.create_table('ingest_rejects',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('ingest_rejects', schema=None) as batch_op:
        batch_op.create_index('ix_ingest_rejects_at', ['at'], unique=False)

    op.create_table('places',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.String(length=20), nullable=True),
    sa.Column('committee_code', sa.String(length=12), nullable=True),
    sa.Column('floors', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('occupant', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('age', sa.Integer(), nullable=True),
    sa.Column('living_alone', sa.Boolean(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_places_committee_code'), ['committee_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_places_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_places_parent_id'), ['parent_id'], unique=False)

    op.create_table('poles',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('road', sa.String(length=100), nullable=True),
    sa.Column('grid_code', sa.String(length=20), nullable=True),
    sa.Column('committee_code', sa.String(length=12), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('number'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('poles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poles_committee_code'), ['committee_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_poles_grid_code'), ['grid_code'], unique=False)

    op.create_table('roads',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('road_class', sa.String(length=20), nullable=False),
    sa.Column('from_node', sa.String(length=20), nullable=False),
    sa.Column('to_node', sa.String(length=20), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roads_from_node'), ['from_node'], unique=False)
        batch_op.create_index(batch_op.f('ix_roads_to_node'), ['to_node'], unique=False)

    op.create_table('schema_info',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('migrated_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('staff_track',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('staff_id', sa.String(length=20), nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('speed', sa.Float(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('staff_track', schema=None) as batch_op:
        batch_op.create_index('ix_staff_track_staff_at', ['staff_id', 'at'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('department_name', sa.String(length=100), nullable=False),
    sa.Column('duties', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_department'), ['department'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_account_id'), ['account_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('place_id', sa.String(length=20), nullable=True),
    sa.Column('heartbeat_s', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('maintenance', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_place_id'), ['place_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_type'), ['type'], unique=False)

    op.create_table('grid_cells',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('committee_code', sa.String(length=12), nullable=True),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['committee_code'], ['committees.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('grid_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_cells_committee_code'), ['committee_code'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('team_id', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('report_interval_s', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('position_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_team_id'), ['team_id'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_account_id'), ['account_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('pole_number', sa.String(length=32), nullable=True),
    sa.Column('grid_code', sa.String(length=20), nullable=True),
    sa.Column('committee_code', sa.String(length=12), nullable=True),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('device_id', sa.String(length=40), nullable=True),
    sa.Column('reporter_name', sa.String(length=100), nullable=True),
    sa.Column('reporter_phone', sa.String(length=32), nullable=True),
    sa.Column('assigned_team_id', sa.String(length=20), nullable=True),
    sa.Column('assigned_staff_id', sa.String(length=20), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('deferred_from', sa.String(length=16), nullable=True),
    sa.Column('deferred_seconds', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('photo_ref', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reported_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deferred_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stage_started_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assigned_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['assigned_team_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_committee_code'), ['committee_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_grid_code'), ['grid_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_pole_number'), ['pole_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)
        batch_op.create_index('ix_cases_status_reported', ['status', 'reported_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_reported')
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_pole_number'))
        batch_op.drop_index(batch_op.f('ix_cases_grid_code'))
        batch_op.drop_index(batch_op.f('ix_cases_committee_code'))
        batch_op.drop_index(batch_op.f('ix_cases_channel'))
        batch_op.drop_index(batch_op.f('ix_cases_category'))

    op.drop_table('cases')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_account_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_team_id'))
        batch_op.drop_index(batch_op.f('ix_staff_status'))

    op.drop_table('staff')
    with op.batch_alter_table('grid_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_cells_committee_code'))

    op.drop_table('grid_cells')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_type'))
        batch_op.drop_index(batch_op.f('ix_devices_place_id'))

    op.drop_table('devices')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_account_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_department'))

    op.drop_table('teams')
    with op.batch_alter_table('staff_track', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_track_staff_at')

    op.drop_table('staff_track')
    op.drop_table('schema_info')
    with op.batch_alter_table('roads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roads_to_node'))
        batch_op.drop_index(batch_op.f('ix_roads_from_node'))

    op.drop_table('roads')
    with op.batch_alter_table('poles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poles_grid_code'))
        batch_op.drop_index(batch_op.f('ix_poles_committee_code'))

    op.drop_table('poles')
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_places_parent_id'))
        batch_op.drop_index(batch_op.f('ix_places_kind'))
        batch_op.drop_index(batch_op.f('ix_places_committee_code'))

    op.drop_table('places')
    with op.batch_alter_table('ingest_rejects', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_rejects_at')

    op.drop_table('ingest_rejects')
    with op.batch_alter_table('ingest_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_messages_at'))

    op.drop_table('ingest_messages')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type_at')
        batch_op.drop_index('ix_events_subject')

    op.drop_table('events')
    op.drop_table('committees')
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_facts_reported')

    op.drop_table('case_facts')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor'))

    op.drop_table('audit_log')
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index('ix_alarms_state_last')
        batch_op.drop_index(batch_op.f('ix_alarms_state'))
        batch_op.drop_index(batch_op.f('ix_alarms_device_id'))

    op.drop_table('alarms')
    op.drop_table('accounts')
