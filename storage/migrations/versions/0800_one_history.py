"""one migration history: merge the loyalty branch (0100) into the feature line (0720)

0700 merged the four feature heads but left 0100 (loyalty) out, so every database created since carries two
rows in alembic_version (0100 and 0720) and `alembic upgrade head` refused to choose. This merge has no
schema change; a database at 0100, at 0720, or at both, upgrades to 0800 and from then on there is one head.

Revision ID: 0800
Revises: 0100, 0720
Create Date: 2026-12-03 12:00:00
"""

revision = "0800"
down_revision = ("0100", "0720")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
