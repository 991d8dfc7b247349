"""credential lifecycle: identity blocks, renewals, renewal marks, bulk jobs (issue 17)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import app.models.types
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_blocks',
    sa.Column('uin', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('blocked_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uin')
    )
    op.create_table('identity_block_credentials',
    sa.Column('credential_id', sa.String(length=36), nullable=False),
    sa.Column('uin', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('credential_id')
    )
    op.create_index(op.f('ix_identity_block_credentials_uin'), 'identity_block_credentials', ['uin'], unique=False)
    op.create_table('credential_renewals',
    sa.Column('issuance_id', sa.String(length=36), nullable=False),
    sa.Column('old_credential_id', sa.String(length=36), nullable=False),
    sa.Column('policy', sa.String(length=32), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('issuance_id')
    )
    op.create_index(op.f('ix_credential_renewals_old_credential_id'), 'credential_renewals', ['old_credential_id'],
                    unique=False)
    op.create_table('credential_renewal_marks',
    sa.Column('credential_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('marked_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('credential_id')
    )
    op.create_table('lifecycle_jobs',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('selection', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('job_id')
    )
    op.create_index(op.f('ix_lifecycle_jobs_client_id'), 'lifecycle_jobs', ['client_id'], unique=False)
    op.create_index(op.f('ix_lifecycle_jobs_state'), 'lifecycle_jobs', ['state'], unique=False)
    # the lifecycle selects a person's credentials through their issuances, and a list's changed entries
    op.create_index('ix_issuances_subject_uin', 'issuances', ['subject_uin'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_issuances_subject_uin', table_name='issuances')
    op.drop_index(op.f('ix_lifecycle_jobs_state'), table_name='lifecycle_jobs')
    op.drop_index(op.f('ix_lifecycle_jobs_client_id'), table_name='lifecycle_jobs')
    op.drop_table('lifecycle_jobs')
    op.drop_table('credential_renewal_marks')
    op.drop_index(op.f('ix_credential_renewals_old_credential_id'), table_name='credential_renewals')
    op.drop_table('credential_renewals')
    op.drop_index(op.f('ix_identity_block_credentials_uin'), table_name='identity_block_credentials')
    op.drop_table('identity_block_credentials')
