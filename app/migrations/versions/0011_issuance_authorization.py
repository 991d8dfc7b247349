"""grants tied to credential issuance: authorization_details and issuer_state (OpenID4VCI 1.0 §5.1.1, §5.1.3)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_details', sa.JSON().with_variant(
            postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('issuance_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('issuance_id')
        batch_op.drop_column('authorization_details')
