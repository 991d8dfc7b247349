"""one-time codes looked up by person (the per-person send limit)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:20:00.000000
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_otp_challenges_identity_id'), 'otp_challenges', ['identity_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_otp_challenges_identity_id'), table_name='otp_challenges')
