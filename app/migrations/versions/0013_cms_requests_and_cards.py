"""OSIA CMS credential requests, printed ID cards, GovStack service events (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import app.models.types
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('credential_requests',
    sa.Column('credential_request_id', sa.String(length=128), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('profile_id', sa.String(length=100), nullable=False),
    sa.Column('document', JSON, nullable=False),
    sa.Column('credential_ids', JSON, nullable=False),
    sa.Column('issuance_id', sa.String(length=36), nullable=True),
    sa.Column('failure', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('credential_request_id', name=op.f('pk_credential_requests'))
    )
    with op.batch_alter_table('credential_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_requests_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_requests_person_id'), ['person_id'], unique=False)
    op.create_table('printed_cards',
    sa.Column('card_id', sa.String(length=36), nullable=False),
    sa.Column('uin', sa.String(length=32), nullable=False),
    sa.Column('credential_request_id', sa.String(length=128), nullable=True),
    sa.Column('blob_id', sa.String(length=32), nullable=False),
    sa.Column('issued_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_printed_cards'))
    )
    with op.batch_alter_table('printed_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_printed_cards_uin'), ['uin'], unique=False)
    op.create_table('service_events',
    sa.Column('event_id', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('uin', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('service_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('info', JSON, nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_service_events'))
    )
    with op.batch_alter_table('service_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_events_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_events_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_service_events_client_id'))
    op.drop_table('service_events')
    with op.batch_alter_table('printed_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_printed_cards_uin'))
    op.drop_table('printed_cards')
    with op.batch_alter_table('credential_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_requests_person_id'))
        batch_op.drop_index(batch_op.f('ix_credential_requests_client_id'))
    op.drop_table('credential_requests')
