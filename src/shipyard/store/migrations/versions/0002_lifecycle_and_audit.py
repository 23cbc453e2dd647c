"""The version lifecycle and the hash-chained audit log.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_model", "audit_events", ["model"])
    op.create_table(
        "model_heads",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("production_version", sa.String(32), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "model_version_states",
        sa.Column("model", sa.String(200), sa.ForeignKey("model_heads.model"), primary_key=True),
        sa.Column("version", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("approval", sa.String(16), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("was_production", sa.Boolean(), nullable=False),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("model_version_states")
    op.drop_table("model_heads")
    op.drop_index("ix_audit_events_model", "audit_events")
    op.drop_table("audit_events")
