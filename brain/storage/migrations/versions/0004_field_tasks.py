"""field tasks, photos and phone actions; a field account's staff member; the time to read a task

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brain.storage.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('t_read', sa.Float(), nullable=True))
    op.create_table('field_ops',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('staff_id', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('field_photos',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('received_sha256', sa.String(length=64), nullable=False),
    sa.Column('taken_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('uploaded_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('field_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_photos_case_id'), ['case_id'], unique=False)

    op.create_table('field_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assigned_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('declined_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('arrived_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrive_distance_m', sa.Float(), nullable=True),
    sa.Column('arrive_reason', sa.Text(), nullable=True),
    sa.Column('handled_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('ended_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('field_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_field_tasks_staff_state', ['staff_id', 'state'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f('ix_accounts_staff_id'), ['staff_id'], unique=False)
        batch_op.create_foreign_key('fk_accounts_staff_id', 'staff', ['staff_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_column('t_read')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_accounts_staff_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_accounts_staff_id'))
        batch_op.drop_column('staff_id')

    with op.batch_alter_table('field_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_field_tasks_staff_state')
        batch_op.drop_index(batch_op.f('ix_field_tasks_case_id'))

    op.drop_table('field_tasks')
    with op.batch_alter_table('field_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_field_photos_case_id'))

    op.drop_table('field_photos')
    op.drop_table('field_ops')
