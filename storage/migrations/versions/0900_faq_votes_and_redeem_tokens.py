"""faq_votes (one vote per customer and answer message) and redeem_tokens (confirmations the bot issued)

faq_entries.helpful/unhelpful counted taps, so a double tap counted twice; /faq list now counts people from
faq_votes. The old tap counts cannot be turned into people and are dropped.

Revision ID: 0900
Revises: 0800
Create Date: 2026-12-06 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0900"
down_revision = "0800"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("voted_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["faq_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "chat_id", "message_id", name="uq_faq_votes_customer_message"),
    )
    with op.batch_alter_table("faq_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_votes_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "redeem_tokens",
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reward_id", sa.String(length=24), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("redeem_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redeem_tokens_customer_id"), ["customer_id"], unique=False)

    with op.batch_alter_table("faq_entries", schema=None) as batch_op:
        batch_op.drop_column("unhelpful")
        batch_op.drop_column("helpful")


def downgrade() -> None:
    with op.batch_alter_table("faq_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helpful", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("unhelpful", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("redeem_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redeem_tokens_customer_id"))
    op.drop_table("redeem_tokens")
    with op.batch_alter_table("faq_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_votes_entry_id"))
    op.drop_table("faq_votes")
