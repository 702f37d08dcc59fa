"""outbound mail composed by the worker when it is sent

Revision ID: 0070
Revises: 0060
Create Date: 2026-11-28 22:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0070'
down_revision = '0060'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.drop_column('context')
        batch_op.drop_column('template')
