"""residents' reports with their tracking codes; a resident's photos; an intake service's channel; cases by
the time they were reported

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brain.storage.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('follows', sa.Boolean(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('sender', sa.String(length=100), nullable=True),
    sa.Column('topic', sa.String(length=32), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('phone_key', sa.String(length=64), nullable=True),
    sa.Column('address_key', sa.String(length=64), nullable=True),
    sa.Column('media_url', sa.Text(), nullable=True),
    sa.Column('photo_bytes', sa.Integer(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('created_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('spam_at', brain.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('spam_by', sa.String(length=100), nullable=True),
    sa.Column('satisfaction', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('resident_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_phone_key'), ['phone_key'], unique=False)
        batch_op.create_index('ix_resident_reports_address_created', ['address_key', 'created_at'], unique=False)
    with op.batch_alter_table('field_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_id', sa.Integer(), nullable=True))
        batch_op.alter_column('staff_id', existing_type=sa.String(length=20), nullable=True)
        batch_op.create_index(batch_op.f('ix_field_photos_report_id'), ['report_id'], unique=False)
        batch_op.create_foreign_key('fk_field_photos_report_id', 'resident_reports', ['report_id'], ['id'])
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=32), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_reported_at', ['reported_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_reported_at')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('field_photos', schema=None) as batch_op:
        batch_op.drop_constraint('fk_field_photos_report_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_field_photos_report_id'))
        batch_op.alter_column('staff_id', existing_type=sa.String(length=20), nullable=False)
        batch_op.drop_column('report_id')
    op.drop_table('resident_reports')
