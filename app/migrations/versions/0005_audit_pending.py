"""audit events waiting to be chained (background sealing on PostgreSQL)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:15:00.000000
"""
from alembic import op
import sqlalchemy as sa
import app.models.types
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=128), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text('SELECT count(*) FROM audit_pending')).scalar_one()
    if waiting:  # dropping them would lose audit events: seal them first
        raise RuntimeError(f'audit_pending holds {waiting} unchained event(s); run `idbb audit verify` '
                           '(it chains them) before downgrading')
    op.drop_table('audit_pending')
