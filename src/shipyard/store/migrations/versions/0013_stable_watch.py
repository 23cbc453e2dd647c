"""The fleet-wide watch on stable versions: each gateway's published window, and the watch's lease per model.

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_windows",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("gateway", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("window_s", sa.Float, nullable=False),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "stable_watches",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.String(32)),
        sa.Column("baseline", sa.JSON),
        sa.Column("paged_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("stable_watches")
    op.drop_table("gateway_windows")
