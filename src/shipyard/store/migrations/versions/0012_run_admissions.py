"""Team quotas: each team's queue (its lock row and next ticket) and the runs queued for or holding its quota.

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_queues",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("next_ticket", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_admissions",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("ticket", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cpu", sa.Float, nullable=False),
        sa.Column("memory", sa.BigInteger, nullable=False),
        sa.Column("gpus", sa.Integer, nullable=False),
        sa.Column("sweep_trials", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_run_admissions_team_ticket", "run_admissions", ["team", "ticket"])


def downgrade() -> None:
    op.drop_index("ix_run_admissions_team_ticket", table_name="run_admissions")
    op.drop_table("run_admissions")
    op.drop_table("team_queues")
