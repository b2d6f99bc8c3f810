"""the replay's keyframes (the state folded from the log at whole hours); the log by time

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import brain.storage.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('replay_keyframes',
    sa.Column('at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('built_at', brain.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('at')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_at', ['at', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_at')
    op.drop_table('replay_keyframes')
