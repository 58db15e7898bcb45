"""coupons: a state (issued, used, void), who used them and when, voided_at, a minimum order, and an
expiry date on every coupon

Revision ID: 1100
Revises: 1000
Create Date: 2026-12-06 23:00:00
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "1100"
down_revision = "1000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=8), nullable=False, server_default="issued"))
        batch_op.add_column(sa.Column("min_order_minor", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("used_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("voided_at", UTCDateTime(), nullable=True))
    # Coupons issued before this revision: one ever marked used keeps that; those without an expiry
    # (rewards and referrals) get the default validity of 90 days from their issue.
    op.execute("UPDATE coupons SET state = 'used' WHERE used_at IS NOT NULL")
    coupons = sa.table(
        "coupons",
        sa.column("id", sa.Integer()),
        sa.column("created_at", UTCDateTime()),
        sa.column("expires_at", UTCDateTime()),
    )
    bind = op.get_bind()
    undated = bind.execute(sa.select(coupons.c.id, coupons.c.created_at).where(coupons.c.expires_at.is_(None)))
    for coupon_id, created_at in undated.all():  # a shop has few coupons; computed here, in every dialect
        bind.execute(
            coupons.update()
            .where(coupons.c.id == coupon_id)
            .values(expires_at=created_at + timedelta(days=90))
        )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=UTCDateTime(), nullable=True)
        batch_op.drop_column("voided_at")
        batch_op.drop_column("used_by")
        batch_op.drop_column("min_order_minor")
        batch_op.drop_column("state")
