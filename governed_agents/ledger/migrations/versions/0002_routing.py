"""The model gateway's tables: spend counters and caps, the model cache, transcripts, task outcomes.

Adds nullable columns to ``spend_reservations`` (alias, run_id, offline_model,
cache_hit, downgrade) and an index on its ``created_at``, and creates
``spend_counters``, ``spend_caps``, ``model_cache``, ``transcripts`` and
``task_outcomes``, as ``governed_agents/ledger/schema.py`` has them at this
revision (written out, not imported; a test compares the migrated database
with the live metadata). Existing tables keep their meaning.

Revision ID: 0002_routing
Revises: 0001_initial
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_routing"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without defaults: a plain ALTER TABLE ADD COLUMN on SQLite too.
    op.add_column("spend_reservations", sa.Column("alias", sa.String(64), nullable=True))
    op.add_column("spend_reservations", sa.Column("run_id", sa.String(64), nullable=True))
    op.add_column("spend_reservations", sa.Column("offline_model", sa.Boolean(), nullable=True))
    op.add_column("spend_reservations", sa.Column("cache_hit", sa.Boolean(), nullable=True))
    op.add_column("spend_reservations", sa.Column("downgrade", sa.String(128), nullable=True))
    op.create_index("ix_spend_created", "spend_reservations", ["created_at"])

    op.create_table(
        "spend_counters",
        sa.Column("scope_key", sa.String(400), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_key", sa.String(10), nullable=False),
        sa.Column("reserved_usd_e8", sa.BigInteger(), nullable=False),
        sa.Column("settled_usd_e8", sa.BigInteger(), nullable=False),
        sa.Column("reserved_tokens", sa.BigInteger(), nullable=False),
        sa.Column("settled_tokens", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "spend_caps",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("cap_usd_e8", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "model_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(64), nullable=True),
        sa.Column("tenant", sa.String(128), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("offline_model", sa.Boolean(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_model_cache_expires", "model_cache", ["expires_at"])

    op.create_table(
        "transcripts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        sa.Column("offline_model", sa.Boolean(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_transcripts_trace", "transcripts", ["trace_id"])
    op.create_index("ix_transcripts_expires", "transcripts", ["expires_at"])

    op.create_table(
        "task_outcomes",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("principal", sa.String(128), nullable=True),
        sa.Column("tenant", sa.String(128), nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_outcomes_workflow_finished", "task_outcomes", ["workflow", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_task_outcomes_workflow_finished", table_name="task_outcomes")
    op.drop_table("task_outcomes")
    op.drop_index("ix_transcripts_expires", table_name="transcripts")
    op.drop_index("ix_transcripts_trace", table_name="transcripts")
    op.drop_table("transcripts")
    op.drop_index("ix_model_cache_expires", table_name="model_cache")
    op.drop_table("model_cache")
    op.drop_table("spend_caps")
    op.drop_table("spend_counters")
    op.drop_index("ix_spend_created", table_name="spend_reservations")
    with op.batch_alter_table("spend_reservations") as batch:
        for column in ("downgrade", "cache_hit", "offline_model", "run_id", "alias"):
            batch.drop_column(column)
