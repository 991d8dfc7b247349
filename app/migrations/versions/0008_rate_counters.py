"""rate-limit counters per login transaction, client and source address (issue 14, security #3)

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01 23:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('window_end', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_counters'))
    )
    op.create_index(op.f('ix_rate_counters_window_end'), 'rate_counters', ['window_end'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_counters_window_end'), table_name='rate_counters')
    op.drop_table('rate_counters')
