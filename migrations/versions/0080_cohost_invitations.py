"""co-hosting by invitation: an organization named as co-host consents first

Revision ID: 0080
Revises: 0070
Create Date: 2026-12-04 16:00:00.000000

Existing event_cohosts rows stay as accepted co-hosts.
"""
from alembic import op
import sqlalchemy as sa

import mobilize.core.models


# revision identifiers, used by Alembic.
revision = '0080'
down_revision = '0070'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cohost_invitations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invited_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('responded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('responded_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'declined')", name=op.f('ck_cohost_invitations_status')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_cohost_invitations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_cohost_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_cohost_invitations_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responded_by_id'], ['users.id'], name=op.f('fk_cohost_invitations_responded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohost_invitations')),
    sa.UniqueConstraint('event_id', 'organization_id', name=op.f('uq_cohost_invitations_event_id_organization_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_cohost_invitations_uuid'))
    )
    with op.batch_alter_table('cohost_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohost_invitations_modified_at'), ['modified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cohost_invitations_organization_id'), ['organization_id'], unique=False)


def downgrade():
    with op.batch_alter_table('cohost_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohost_invitations_organization_id'))
        batch_op.drop_index(batch_op.f('ix_cohost_invitations_modified_at'))

    op.drop_table('cohost_invitations')
