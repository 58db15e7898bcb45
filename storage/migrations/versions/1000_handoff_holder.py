"""handoffs.held_by and held_by_name: who of several staff took a conversation, shown to the others

Revision ID: 1000
Revises: 0900
Create Date: 2026-12-06 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "1000"
down_revision = "0900"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Conversations open before this revision are held by nobody until staff next answer them.
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("held_by_name", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("held_by_name")
        batch_op.drop_column("held_by")
