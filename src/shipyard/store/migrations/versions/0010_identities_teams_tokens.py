"""Identities, teams and their roles, API tokens (hashes only), model owners, who started runs,
and whether each audit event's actor was authenticated.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("platform_admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "teams",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("separation_of_duties", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "team_members",
        sa.Column("team", sa.String(200), sa.ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True),
        sa.Column("identity", sa.String(200), sa.ForeignKey("identities.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_index("ix_team_members_identity", "team_members", ["identity"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("identity", sa.String(200), sa.ForeignKey("identities.name", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_api_tokens_identity", "api_tokens", ["identity"])
    op.create_table(
        "model_owners",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_model_owners_team", "model_owners", ["team"])
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.add_column(sa.Column("started_by", sa.String(200)))
    with op.batch_alter_table("model_version_states") as batch:
        batch.add_column(sa.Column("produced_by", sa.String(200)))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("authenticated", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("authenticated")
    with op.batch_alter_table("model_version_states") as batch:
        batch.drop_column("produced_by")
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.drop_column("started_by")
    op.drop_index("ix_model_owners_team", "model_owners")
    op.drop_table("model_owners")
    op.drop_index("ix_api_tokens_identity", "api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_team_members_identity", "team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("identities")
