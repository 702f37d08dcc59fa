"""site administrators; each organization's time zone; reminder dedupe keys hold the start time

Revision ID: 0085
Revises: 0080
Create Date: 2026-12-04 16:05:00.000000

A reminder is once per place, offset and timeslot start (reminders.services.reminder_key).
Keys written before name no start: they get the start their timeslot has now, so a reminder
already sent is not sent again for the same time.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0085'
down_revision = '0080'
branch_labels = None
depends_on = None

OLD_KEYS = "dedupe_key LIKE 'reminder:%' AND dedupe_key NOT LIKE 'reminder:%:%:%'"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_site_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))

    if op.get_bind().dialect.name == 'postgresql':
        start = "CAST(FLOOR(EXTRACT(EPOCH FROM t.start_at)) AS BIGINT)"
        place_id = "CAST(split_part(outbound_mail.dedupe_key, ':', 2) AS BIGINT)"
        op.execute(f"""
            UPDATE outbound_mail SET dedupe_key = dedupe_key || ':' || {start}
            FROM attendance_timeslots p JOIN timeslots t ON t.id = p.timeslot_id
            WHERE {OLD_KEYS} AND p.id = {place_id}""")
    else:
        op.execute(f"""
            UPDATE outbound_mail SET dedupe_key = dedupe_key || ':' || (
                SELECT CAST(strftime('%s', t.start_at) AS INTEGER) FROM attendance_timeslots p JOIN timeslots t ON t.id = p.timeslot_id
                WHERE p.id = CAST(substr(outbound_mail.dedupe_key, 10, instr(substr(outbound_mail.dedupe_key, 10), ':') - 1) AS INTEGER))
            WHERE {OLD_KEYS} AND EXISTS (
                SELECT 1 FROM attendance_timeslots p
                WHERE p.id = CAST(substr(outbound_mail.dedupe_key, 10, instr(substr(outbound_mail.dedupe_key, 10), ':') - 1) AS INTEGER))""")


def downgrade():
    bind = op.get_bind()
    keys = bind.execute(sa.text("SELECT id, dedupe_key FROM outbound_mail WHERE dedupe_key LIKE 'reminder:%:%:%'"))
    for mail_id, key in keys.all():
        bind.execute(sa.text("UPDATE outbound_mail SET dedupe_key = :key WHERE id = :id"),
                     {"key": key.rpartition(":")[0], "id": mail_id})
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('timezone')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_site_admin')
