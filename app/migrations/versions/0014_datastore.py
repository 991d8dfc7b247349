"""the authentic sources' datastore: identity mappings, documents (sealed data), their identities and issuances

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.models.types import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'identity_mappings',
        sa.Column('mapping_pk', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('authentic_source', sa.String(length=200), nullable=False),
        sa.Column('person_id', sa.String(length=200), nullable=False),
        sa.Column('attributes', JSON, nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('mapping_pk'),
        sa.UniqueConstraint('authentic_source', 'person_id', name='uq_identity_mappings_person'),
    )
    op.create_index('ix_identity_mappings_authentic_source', 'identity_mappings', ['authentic_source'])
    op.create_table(
        'datastore_documents',
        sa.Column('document_pk', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('authentic_source', sa.String(length=200), nullable=False),
        sa.Column('scope', sa.String(length=100), nullable=False),
        sa.Column('document_id', sa.String(length=200), nullable=False),
        sa.Column('data_sealed', sa.LargeBinary(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('document_pk'),
        sa.UniqueConstraint('authentic_source', 'scope', 'document_id', name='uq_datastore_documents_key'),
    )
    op.create_table(
        'datastore_document_identities',
        sa.Column('document_pk', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['document_pk'], ['datastore_documents.document_pk'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('document_pk', 'person_id'),
    )
    op.create_index('ix_datastore_document_identities_person_id', 'datastore_document_identities', ['person_id'])
    op.create_table(
        'datastore_document_issuances',
        sa.Column('issuance_id', sa.String(length=36), nullable=False),
        sa.Column('document_pk', sa.Integer(), nullable=False),
        sa.Column('document_version', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['document_pk'], ['datastore_documents.document_pk'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('issuance_id'),
    )
    op.create_index('ix_datastore_document_issuances_document_pk', 'datastore_document_issuances', ['document_pk'])


def downgrade() -> None:
    op.drop_index('ix_datastore_document_issuances_document_pk', table_name='datastore_document_issuances')
    op.drop_table('datastore_document_issuances')
    op.drop_index('ix_datastore_document_identities_person_id', table_name='datastore_document_identities')
    op.drop_table('datastore_document_identities')
    op.drop_table('datastore_documents')
    op.drop_index('ix_identity_mappings_authentic_source', table_name='identity_mappings')
    op.drop_table('identity_mappings')
