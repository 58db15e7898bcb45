"""merge the feature heads (referrals, FAQ, outreach, analytics) into one

Revision ID: 0700
Revises: 0300, 0400, 0500, 0600
Create Date: 2026-11-23 13:00:00
"""

revision = "0700"
down_revision = ("0300", "0400", "0500", "0600")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
