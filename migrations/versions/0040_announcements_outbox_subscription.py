"""announcements, and the opt-in behind each outbox message

Revision ID: 0040
Revises: 0030
Create Date: 2026-11-28 13:41:51.717295

"""
from alembic import op
import sqlalchemy as sa

import mobilize.core.models


# revision identifiers, used by Alembic.
revision = '0040'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('near_postal_code', sa.String(length=10), nullable=False),
    sa.Column('radius_miles', sa.Integer(), nullable=True),
    sa.Column('attended_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('signed_petition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('send_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('next_batch_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status = 'draft' OR status = 'cancelled' OR send_at IS NOT NULL", name=op.f('ck_announcements_send_at')),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')", name=op.f('ck_announcements_status')),
    sa.CheckConstraint('event_id IS NULL OR petition_id IS NULL', name=op.f('ck_announcements_about_one')),
    sa.CheckConstraint('radius_miles IS NULL OR radius_miles > 0', name=op.f('ck_announcements_radius')),
    sa.ForeignKeyConstraint(['attended_event_id'], ['events.id'], name=op.f('fk_announcements_attended_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_announcements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_announcements_event_id_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_announcements_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_announcements_petition_id_petitions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signed_petition_id'], ['petitions.id'], name=op.f('fk_announcements_signed_petition_id_petitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements')),
    sa.UniqueConstraint('uuid', name=op.f('uq_announcements_uuid'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_modified_at'), ['modified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_announcements_status_send_at', ['status', 'send_at'], unique=False)

    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbound_mail_subscription_id'), ['subscription_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbound_mail_subscription_id_subscriptions'), 'subscriptions', ['subscription_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_mail_subscription_id_subscriptions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbound_mail_subscription_id'))
        batch_op.drop_column('subscription_id')

    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_status_send_at')
        batch_op.drop_index(batch_op.f('ix_announcements_organization_id'))
        batch_op.drop_index(batch_op.f('ix_announcements_modified_at'))

    op.drop_table('announcements')
