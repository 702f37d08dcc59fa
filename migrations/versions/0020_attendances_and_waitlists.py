"""attendances, waitlist places, personal feeds

Revision ID: 0020
Revises: 0010
Create Date: 2026-11-28 13:35:56.534766

"""
from alembic import op
import sqlalchemy as sa

import mobilize.core.models


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personal_feeds',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_personal_feeds_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_personal_feeds')),
    sa.UniqueConstraint('token', name=op.f('uq_personal_feeds_token'))
    )
    op.create_table('attendances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('guests', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Boolean(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('referrer', sa.String(length=1000), nullable=False),
    sa.Column('utm_source', sa.String(length=200), nullable=False),
    sa.Column('utm_medium', sa.String(length=200), nullable=False),
    sa.Column('utm_campaign', sa.String(length=200), nullable=False),
    sa.Column('utm_term', sa.String(length=200), nullable=False),
    sa.Column('utm_content', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('manage_key', sa.String(length=64), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('created_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('form', 'api', 'organizer')", name=op.f('ck_attendances_source')),
    sa.CheckConstraint('guests >= 0', name=op.f('ck_attendances_guests')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_attendances_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_attendances_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('person_id', 'event_id', name=op.f('uq_attendances_person_id_event_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_attendances_uuid'))
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index('ix_attendances_event_created', ['event_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendances_modified_at'), ['modified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendances_person_id'), ['person_id'], unique=False)

    op.create_table('attendance_timeslots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attendance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('timeslot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('queued_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', mobilize.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('confirmed', 'waitlisted', 'cancelled')", name=op.f('ck_attendance_timeslots_status')),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_attendance_timeslots_attendance_id_attendances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['timeslot_id'], ['timeslots.id'], name=op.f('fk_attendance_timeslots_timeslot_id_timeslots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_timeslots')),
    sa.UniqueConstraint('attendance_id', 'timeslot_id', name=op.f('uq_attendance_timeslots_attendance_id_timeslot_id'))
    )
    with op.batch_alter_table('attendance_timeslots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_timeslots_modified_at'), ['modified_at'], unique=False)
        batch_op.create_index('ix_attendance_timeslots_queue', ['timeslot_id', 'status', 'queued_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('attendance_timeslots', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_timeslots_queue')
        batch_op.drop_index(batch_op.f('ix_attendance_timeslots_modified_at'))

    op.drop_table('attendance_timeslots')
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendances_person_id'))
        batch_op.drop_index(batch_op.f('ix_attendances_modified_at'))
        batch_op.drop_index('ix_attendances_event_created')

    op.drop_table('attendances')
    op.drop_table('personal_feeds')
