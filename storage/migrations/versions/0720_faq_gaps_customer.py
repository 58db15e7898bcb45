"""faq_gaps.customer_id, so /forgetme can erase a customer's unanswered questions

Revision ID: 0720
Revises: 0700
Create Date: 2026-11-23 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0720"
down_revision = "0700"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Gaps recorded before this revision stay without a customer: nobody can tell whose they were.
    with op.batch_alter_table("faq_gaps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_faq_gaps_customer_id"), ["customer_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_faq_gaps_customer_id_customers", "customers", ["customer_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("faq_gaps", schema=None) as batch_op:
        batch_op.drop_constraint("fk_faq_gaps_customer_id_customers", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_faq_gaps_customer_id"))
        batch_op.drop_column("customer_id")
