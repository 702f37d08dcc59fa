"""timeslots keep their local calendar day, for date filters; events are indexed by type

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:10:00

"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_type', ['event_type'], unique=False)
    with op.batch_alter_table('timeslots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_date', sa.Date(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE timeslots SET local_date = (timeslots.start_at AT TIME ZONE events.timezone)::date "
                   "FROM events WHERE events.id = timeslots.event_id")
        return
    rows = bind.execute(sa.text("SELECT timeslots.id, timeslots.start_at, events.timezone FROM timeslots "
                                "JOIN events ON events.id = timeslots.event_id")).all()
    for slot_id, start_at, zone in rows:
        start = start_at if isinstance(start_at, datetime) else datetime.fromisoformat(str(start_at))
        day = start.replace(tzinfo=start.tzinfo or UTC).astimezone(ZoneInfo(zone)).date()
        bind.execute(sa.text("UPDATE timeslots SET local_date = :day WHERE id = :id"), {"day": day, "id": slot_id})


def downgrade():
    with op.batch_alter_table('timeslots', schema=None) as batch_op:
        batch_op.drop_column('local_date')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_type')
