"""Versions a gateway could not load, per gateway, so operators see them next to the traffic split.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_load_failures",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("gateway", sa.String(200), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("version_load_failures")
